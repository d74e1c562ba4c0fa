"""aws.key-in-vault: the application's key lives in AWS Secrets Manager, with rotation configured.

The secret is `--secret-id` (preflight.secret_id), else the `aws:` source among --key-from /
mistral.key_from. It must exist and not be scheduled for deletion, hold an AWSCURRENT value (with the
`#field` the key source names, if any), and have rotation enabled — or the item gives the reason it has
not (`params.rotation_waiver`). A key read from env:, file: or k8s: is not in a vault: `fail` (with
`require: false`, `skip`). The value is read to prove it is there, and never shown.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from magent.checks import CheckContext, CheckType, register_check
from magent.core.errors import UsageError
from magent.core.preflight import CheckResult, Finding
from magent.core.redact import SECRETS
from magent.services.aws import SecretDescription, describe_secret, get_secret_string, secrets_client


class KeyInVaultParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    require: bool = Field(default=True, description="fail (not skip) when the key is read from outside a vault")
    rotation_waiver: str | None = Field(default=None, min_length=1,
                                        description="why rotation is not configured (then it passes)")


def _secret(ctx: CheckContext) -> tuple[str | None, str | None, list[str]]:
    """(secret id, its #field, the key sources given)."""
    from magent.services.keys import parse_key_source

    specs = ctx.options.key_from or ctx.settings.mistral.key_from
    sources = [parse_key_source(spec) for spec in specs]
    aws = next((source for source in sources if source.scheme == "aws"), None)
    if ctx.options.secret_id:
        same = aws is not None and aws.target == ctx.options.secret_id
        return ctx.options.secret_id, aws.field if same and aws else None, specs
    return (aws.target, aws.field, specs) if aws else (None, None, specs)


def run(ctx: CheckContext) -> CheckResult:
    params = ctx.params or KeyInVaultParams()
    secret_id, field, specs = _secret(ctx)
    if secret_id is None:
        if specs and params.require:
            return CheckResult.failed(f"the key is not in a vault: it is read from {', '.join(specs)}",
                                      [Finding("read the key from AWS Secrets Manager: --key-from aws:SECRET_ID",
                                               rule="key-not-in-vault")])
        return CheckResult.skipped("the key is not read from AWS Secrets Manager: pass --secret-id or use "
                                   "--key-from aws:SECRET_ID")
    aws = ctx.settings.aws
    client = secrets_client(region=aws.region, endpoint_url=aws.endpoint_url,
                            timeout_s=min(10.0, ctx.options.timeout_s))
    try:
        described = describe_secret(secret_id, client=client, endpoint_url=aws.endpoint_url)
    except UsageError as exc:  # not found is the item not met, not a usage error of preflight
        return CheckResult.failed(f"secret {secret_id}: {exc.message}", [Finding(exc.message, rule="secret-missing")])
    if described.deleted is not None:
        return CheckResult.failed(f"secret {secret_id} is scheduled for deletion on {described.deleted:%Y-%m-%d}",
                                  [Finding("restore it (RestoreSecret) or point the app at the new secret",
                                           rule="secret-deleted")])
    problem = _current_value_problem(secret_id, field, client, aws.endpoint_url)
    if problem:
        return CheckResult.failed(f"secret {secret_id}: {problem}", [Finding(problem, rule="secret-no-value")])
    return _rotation(secret_id, described, params)


def _current_value_problem(secret_id: str, field: str | None, client: Any, endpoint_url: str | None) -> str | None:
    try:
        value = get_secret_string(secret_id, client=client, endpoint_url=endpoint_url, version_stage="AWSCURRENT")
    except UsageError as exc:
        return f"no usable AWSCURRENT value ({exc.message})"
    SECRETS.add(value.strip())
    if not value.strip():
        return "the AWSCURRENT value is empty"
    if field is None:
        return None
    try:
        document = json.loads(value)
    except ValueError:
        return f"the AWSCURRENT value is not JSON, but the key source asks for field #{field}"
    if not isinstance(document, dict) or not str(document.get(field) or "").strip():
        return f"the AWSCURRENT value has no field #{field}"
    SECRETS.add(str(document[field]).strip())
    return None


def _rotation(secret_id: str, described: SecretDescription, params: KeyInVaultParams) -> CheckResult:
    if described.rotation_enabled:
        every = f" every {described.rotation_days} days" if described.rotation_days else ""
        last = f", last rotated {described.last_rotated:%Y-%m-%d}" if described.last_rotated else ""
        return CheckResult.passed(f"secret {secret_id} holds the key (AWSCURRENT), rotation enabled{every}{last}")
    if params.rotation_waiver:
        return CheckResult.passed(f"secret {secret_id} holds the key (AWSCURRENT); rotation not configured: "
                                  f"{params.rotation_waiver}")
    return CheckResult.failed(
        f"secret {secret_id} holds the key, but rotation is not configured",
        [Finding("configure rotation (aws secretsmanager rotate-secret --rotation-lambda-arn … --rotation-rules "
                 "AutomaticallyAfterDays=90), or give the reason in the item's params.rotation_waiver",
                 rule="rotation-disabled")])


register_check(CheckType("aws.key-in-vault", run, summary="The Mistral key lives in AWS Secrets Manager, with rotation",
                         params=KeyInVaultParams, security=True))
