"""Release rules for an ECS service and its task definition (the `ecs.*` preflight checks), over what
DescribeServices and DescribeTaskDefinition answer. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from magent.core.preflight import Finding
from magent.core.text import counted

_SENSITIVE = re.compile(r"(API_?KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)


def _containers(task_definition: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(task_definition.get("containerDefinitions") or [])


def key_from_secrets(task_definition: Mapping[str, Any], key_variable: str = "MISTRAL_API_KEY") -> list[Finding]:
    """The key (and every sensitive-looking variable) comes from `secrets` (Secrets Manager), never `environment`."""
    family, findings = task_definition.get("family", "?"), []
    receives_key = False
    for container in _containers(task_definition):
        name = container.get("name", "?")
        for variable in container.get("environment") or []:
            if variable.get("name") == key_variable or _SENSITIVE.search(variable.get("name", "")):
                findings.append(Finding(
                    f"{family}/{name}: {variable.get('name')} is a plain `environment` value (visible to anyone who "
                    "can describe the task definition)", rule="secret-in-environment"))
        for secret in container.get("secrets") or []:
            if secret.get("name") != key_variable:
                continue
            receives_key = True
            if ":secretsmanager:" not in str(secret.get("valueFrom", "")):
                findings.append(Finding(
                    f"{family}/{name}: {key_variable} comes from {secret.get('valueFrom')}, not Secrets Manager "
                    "(no rotation)", rule="key-not-in-secrets-manager", severity="warning"))
    if not receives_key and not any(f.rule == "secret-in-environment" for f in findings):
        findings.append(Finding(f"{family}: no container receives {key_variable} through `secrets`",
                                rule="key-missing"))
    return findings


def health_checks(task_definition: Mapping[str, Any]) -> list[Finding]:
    """Every essential container has a health check (else ECS replaces a hung task only when it exits)."""
    family = task_definition.get("family", "?")
    return [Finding(f"{family}/{c.get('name', '?')}: no healthCheck", rule="health-check-missing")
            for c in _containers(task_definition)
            if c.get("essential", True) and not (c.get("healthCheck") or {}).get("command")]


def desired_count(service: Mapping[str, Any], minimum: int) -> list[Finding]:
    count = int(service.get("desiredCount") or 0)
    if count >= minimum:
        return []
    return [Finding(f"service {service.get('serviceName', '?')} runs {counted(count, 'task')}, fewer than "
                    f"{minimum}: one task lost is an outage", rule="desired-count")]


def circuit_breaker(service: Mapping[str, Any]) -> list[Finding]:
    """The deployment circuit breaker is on and rolls back (a failing deployment stops by itself)."""
    breaker = ((service.get("deploymentConfiguration") or {}).get("deploymentCircuitBreaker") or {})
    name = service.get("serviceName", "?")
    if not breaker.get("enable"):
        return [Finding(f"service {name}: the deployment circuit breaker is off", rule="circuit-breaker-off")]
    if not breaker.get("rollback"):
        return [Finding(f"service {name}: the circuit breaker stops a failing deployment but does not roll it back",
                        rule="circuit-breaker-no-rollback", severity="warning")]
    return []
