"""The rules of the `k8s.*` preflight checks, over a `WorkloadSet` (manifests or live objects). Pure, no I/O.

Each rule returns findings (empty = the rule holds). Where magent differs from Polaris on purpose, the
rule says so; docs/preflight-kubernetes.md has the table.

Which containers: probes and resources look at `containers` (every one of them: a container without
`ports` may still serve, and Polaris checks them all), not `initContainers`; images and secrets look at
both (an init container pulls an image and sees env too). Jobs and CronJobs need no probes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from magent.core.k8s_manifests import BATCH_KINDS, K8sObject, Obj, Workload, WorkloadSet, as_dict, as_list, get_path
from magent.core.preflight import Finding
from magent.core.redact import fingerprint

# Polaris' sensitiveContainerEnvVar names, plus API keys (MISTRAL_API_KEY first of all) and private keys
SENSITIVE_NAME_PATTERNS: tuple[str, ...] = (
    r"^AWS_SECRET_ACCESS_KEY$", r"^GOOGLE_APPLICATION_CREDENTIALS$", r"^AZURE_.+KEY$", r"^OCI_CLI_KEY_CONTENT$",
    r"password", r"token", r"bearer", r"secret", r"api_?key", r"private_?key",
)
_SENSITIVE = [re.compile(p, re.IGNORECASE) for p in SENSITIVE_NAME_PATTERNS]
_PRIVATE_KEY = re.compile(r"-BEGIN\s+.*PRIVATE KEY-", re.IGNORECASE)
PROBES = {"liveness": "livenessProbe", "readiness": "readinessProbe", "startup": "startupProbe"}
RESOURCE_FIELDS = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")


def is_sensitive_name(name: str, extra: tuple[re.Pattern[str], ...] = ()) -> bool:
    return any(p.search(name) for p in (*_SENSITIVE, *extra))


def _finding(obj: K8sObject, message: str, part: Any = None, rule: str | None = None, **extra: Any) -> Finding:
    return Finding(f"{obj.ref}: {message}", file=obj.file, line=obj.line_at(part), rule=rule, **extra)


def _all_containers(workload: Workload) -> Iterator[tuple[str, Obj]]:
    for container in workload.init_containers:
        yield f"init container {container.get('name', '?')}", container
    for container in workload.containers:
        yield f"container {container.get('name', '?')}", container


# --- k8s.key-from-secret -------------------------------------------------------------------------------
def key_from_secret(ws: WorkloadSet, extra_patterns: tuple[re.Pattern[str], ...] = ()) -> list[Finding]:
    """Sensitive env vars come from `valueFrom.secretKeyRef`; no literal value holds a private key."""
    findings: list[Finding] = []
    for workload in ws.workloads:
        for label, container in _all_containers(workload):
            for entry in as_list(container.get("env")):
                if isinstance(entry, dict):
                    findings.extend(_env_entry_findings(workload, label, entry, extra_patterns))
    return findings


def _env_entry_findings(workload: Workload, label: str, entry: Obj,
                        extra: tuple[re.Pattern[str], ...]) -> Iterator[Finding]:
    name = str(entry.get("name") or "")
    value = entry.get("value")
    where = f"{label}, env {name}"
    if isinstance(value, str) and _PRIVATE_KEY.search(value):
        yield _finding(workload, f"{where} holds a private key as a literal value; move it to a Secret "
                       "(valueFrom.secretKeyRef)", entry, "private-key-value", fingerprint=fingerprint(value))
    elif is_sensitive_name(name, extra):
        source = as_dict(entry.get("valueFrom"))
        if "value" in entry or not source:
            yield _finding(workload, f"{where} is a literal value; take it from a Secret (valueFrom.secretKeyRef)",
                           entry, "literal-value", fingerprint=fingerprint(str(value)) if value else None)
        elif "configMapKeyRef" in source:
            # stricter than Polaris (any valueFrom passes there): a ConfigMap is not access-controlled as a Secret
            yield _finding(workload, f"{where} comes from a ConfigMap; take it from a Secret "
                           "(valueFrom.secretKeyRef)", entry, "configmap-value")


# --- k8s.required-env ---------------------------------------------------------------------------------
def required_env(ws: WorkloadSet, names: list[str], sensitive: list[str] | None,
                 container: str | None = None) -> list[Finding]:
    """Each name is set on every long-running workload; sensitive ones from a Secret.

    A name that only envFrom could provide, from a Secret or ConfigMap whose keys are unknown, is an
    `unverified` finding (the check warns); sensitive defaults to the names that look sensitive.
    """
    findings: list[Finding] = []
    for workload in ws.workloads:
        if workload.kind in BATCH_KINDS:
            continue
        containers = [c for c in workload.containers if container is None or c.get("name") == container]
        if container is not None and not containers:
            findings.append(_finding(workload, f"has no container named {container}", rule="no-container"))
            continue
        for name in names:
            secret_only = name in sensitive if sensitive is not None else is_sensitive_name(name)
            problem = _env_problem(ws, workload, containers, name, secret_only)
            if problem:
                findings.append(problem)
    return findings


def _env_problem(ws: WorkloadSet, workload: Workload, containers: list[Obj], name: str,
                 secret_only: bool) -> Finding | None:
    for entry in (e for c in containers for e in as_list(c.get("env")) if isinstance(e, dict)):
        if entry.get("name") != name:
            continue
        source = as_dict(entry.get("valueFrom"))
        if secret_only and "secretKeyRef" not in source:
            return _finding(workload, f"{name} is set but not from a Secret; use valueFrom.secretKeyRef",
                            entry, "not-from-secret")
        if not source and not entry.get("value"):
            return _finding(workload, f"{name} is set to an empty value", entry, "empty")
        return None
    return _env_from_problem(ws, workload, containers, name, secret_only)


def _env_from_problem(ws: WorkloadSet, workload: Workload, containers: list[Obj], name: str,
                      secret_only: bool) -> Finding | None:
    unknown: list[str] = []
    for entry in (e for c in containers for e in as_list(c.get("envFrom")) if isinstance(e, dict)):
        prefix = str(entry.get("prefix") or "")
        for kind, field in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
            ref = as_dict(entry.get(field))
            if not ref or not name.startswith(prefix):
                continue
            keys = ws.env_sources.get((workload.namespace, kind, str(ref.get("name") or "")))
            if keys is None:
                unknown.append(f"{kind} {ref.get('name')}")
            elif name[len(prefix):] in keys:
                if secret_only and kind != "Secret":
                    return _finding(workload, f"{name} comes from ConfigMap {ref.get('name')} (envFrom); "
                                    "take it from a Secret", entry, "not-from-secret")
                return None
    if unknown:
        return _finding(workload, f"{name} is not in env; it may come from envFrom {', '.join(unknown)} "
                        "(keys unknown here)", rule="unverified")
    return _finding(workload, f"{name} is not set" + (" (take it from a Secret)" if secret_only else ""),
                    rule="missing")


# --- k8s.probes, k8s.resources ------------------------------------------------------------------------
def probes(ws: WorkloadSet, require: list[str]) -> list[Finding]:
    findings = []
    for workload in ws.workloads:
        if workload.kind in BATCH_KINDS:
            continue
        for container in workload.containers:
            missing = [kind for kind in require if not container.get(PROBES[kind])]
            if missing:
                findings.append(_finding(workload, f"container {container.get('name', '?')} has no "
                                         f"{' and no '.join(missing)} probe", container, "probe-missing"))
    return findings


def resources(ws: WorkloadSet, require: list[str]) -> list[Finding]:
    findings = []
    for workload in ws.workloads:
        for container in workload.containers:
            spec = as_dict(container.get("resources"))
            missing = [f for f in require if get_path(spec, *f.split(".")) in (None, "")]
            if missing:
                findings.append(_finding(workload, f"container {container.get('name', '?')} sets no "
                                         f"{', '.join(missing)}", container, "resources-missing"))
    return findings


# --- k8s.image-pinned ---------------------------------------------------------------------------------
def parse_image(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest): `registry:5000/app` has no tag (the colon is a port), `app@sha256:…` a digest."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:] or None, digest or None
    return name, None, digest or None


def image_pinned(ws: WorkloadSet) -> list[Finding]:
    """Findings `unpinned` (no tag, :latest, no image) and `no-digest` (a tag, no digest: a tag can move)."""
    findings = []
    for workload in ws.workloads:
        for label, container in _all_containers(workload):
            image = container.get("image")
            if not isinstance(image, str) or not image.strip():
                findings.append(_finding(workload, f"{label} has no image", container, "unpinned"))
                continue
            _, tag, digest = parse_image(image.strip())
            if digest:
                continue
            if tag is None or tag == "latest":
                why = "no tag (pulls :latest)" if tag is None else "the :latest tag"
                findings.append(_finding(workload, f"{label} image {image} uses {why}; pin a version or a digest",
                                         container, "unpinned"))
            else:
                findings.append(_finding(workload, f"{label} image {image} is pinned by tag only; a digest "
                                         "(@sha256:…) cannot move", container, "no-digest"))
    return findings
