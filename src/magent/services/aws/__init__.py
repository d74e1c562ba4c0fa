"""AWS: Secrets Manager here, and botocore's errors translated to magent's for every AWS module of the package.

    ResourceNotFoundException, InvalidRequest…, no region       → UsageError (2)
    AccessDenied, bad/expired/missing credentials, KMS refusal  → CredentialsRefused (3)
    endpoint unreachable, timeouts, throttling, AWS 5xx         → Unreachable (3)

boto3 is imported inside the functions. The rest of AWS: `versions` (a secret's versions and stages, for
rotation), `cloudwatch` (alarms, metrics), `ecs` (ECS services and the ALB in front of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from magent.core.errors import CredentialsRefused, MagentError, Unreachable, UsageError
from magent.core.redact import SECRETS, mask_url

_CREDENTIAL_CODES = frozenset({
    "AccessDeniedException", "AccessDenied", "UnrecognizedClientException", "InvalidSignatureException",
    "ExpiredTokenException", "ExpiredToken", "InvalidClientTokenId", "SignatureDoesNotMatch",
    "DecryptionFailure", "KMSAccessDeniedException", "IncompleteSignature", "MissingAuthenticationToken",
})
_UNAVAILABLE_CODES = frozenset({
    "ThrottlingException", "Throttling", "RequestLimitExceeded", "InternalServiceError", "InternalFailure",
    "ServiceUnavailable", "ServiceUnavailableException",
})
_USAGE_CODES = frozenset({"InvalidRequestException", "InvalidParameterException", "ValidationException"})
_CREDENTIALS_HINT = "check AWS_PROFILE / AWS_ACCESS_KEY_ID and the IAM policy (secretsmanager:GetSecretValue)"


def secrets_client(*, region: str | None = None, endpoint_url: str | None = None, timeout_s: float = 10.0) -> Any:
    """A boto3 Secrets Manager client with short timeouts and few retries (a CLI must not hang)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    config = Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 2, "mode": "standard"})
    try:
        return boto3.session.Session().client(
            "secretsmanager", region_name=region, endpoint_url=endpoint_url, config=config
        )
    except BotoCoreError as exc:
        raise translate_aws_error(exc, "Secrets Manager", endpoint_url) from exc


@dataclass(frozen=True)
class SecretDescription:
    """What DescribeSecret says about a secret (never its value)."""

    name: str
    arn: str
    rotation_enabled: bool
    rotation_days: int | None = None
    last_rotated: datetime | None = None
    last_changed: datetime | None = None
    deleted: datetime | None = None  # scheduled for deletion at this date
    current_version: str | None = None  # the version id staged AWSCURRENT


def describe_secret(
    secret_id: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    client: Any = None,
) -> SecretDescription:
    """DescribeSecret: existence, rotation and versions of `secret_id` (name or ARN)."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = client or secrets_client(region=region, endpoint_url=endpoint_url)
    try:
        answer = client.describe_secret(SecretId=secret_id)
    except (ClientError, BotoCoreError) as exc:
        raise translate_aws_error(exc, f"secret {secret_id}", endpoint_url) from exc
    stages = answer.get("VersionIdsToStages") or {}
    current = next((version for version, names in stages.items() if "AWSCURRENT" in names), None)
    rules = answer.get("RotationRules") or {}
    return SecretDescription(
        name=answer.get("Name", secret_id), arn=answer.get("ARN", ""),
        rotation_enabled=bool(answer.get("RotationEnabled")),
        rotation_days=rules.get("AutomaticallyAfterDays"), last_rotated=answer.get("LastRotatedDate"),
        last_changed=answer.get("LastChangedDate"), deleted=answer.get("DeletedDate"), current_version=current,
    )


def get_secret_string(
    secret_id: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    client: Any = None,
    version_stage: str | None = None,
) -> str:
    """The SecretString of `secret_id` (name or ARN), registered in SECRETS before it is returned.
    `version_stage` (e.g. AWSCURRENT, AWSPENDING) picks a staged version; AWS defaults to AWSCURRENT."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = client or secrets_client(region=region, endpoint_url=endpoint_url)
    stage = {"VersionStage": version_stage} if version_stage else {}
    try:
        response = client.get_secret_value(SecretId=secret_id, **stage)
    except (ClientError, BotoCoreError) as exc:
        raise translate_aws_error(exc, f"secret {secret_id}", endpoint_url) from exc
    value = response.get("SecretString")
    SECRETS.add(value)
    if value is None:
        raise UsageError(
            f"secret {secret_id} has no SecretString (binary secrets are not supported)",
            hint="store the key as a string secret",
        )
    return value


def translate_aws_error(exc: Exception, what: str, endpoint_url: str | None = None, *, service: str = "Secrets Manager",
                        permission: str = "secretsmanager:GetSecretValue") -> MagentError:
    """The MagentError for a botocore exception about `what` (e.g. "secret prod/mistral") from `service`."""
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError, PartialCredentialsError

    hint = _credentials_hint(permission)
    if isinstance(exc, ClientError):
        return _client_error(exc, what, service, hint)
    if isinstance(exc, NoRegionError):
        return UsageError("no AWS region configured", hint="set AWS_REGION, or aws.region in magent.yaml")
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return CredentialsRefused(f"AWS credentials missing or incomplete: {exc}", hint=hint)
    where = f" at {mask_url(endpoint_url)}" if endpoint_url else ""
    return Unreachable(
        f"AWS {service}{where} unreachable while reading {what}: {SECRETS.mask(str(exc))}",
        hint="check the network, AWS_REGION and AWS_ENDPOINT_URL",
    )


def _credentials_hint(permission: str) -> str:
    return f"check AWS_PROFILE / AWS_ACCESS_KEY_ID and the IAM policy ({permission})"


def _client_error(exc: Any, what: str, service: str = "Secrets Manager", hint: str = _CREDENTIALS_HINT) -> MagentError:
    error = exc.response.get("Error", {})
    code = error.get("Code", "Unknown")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    message = SECRETS.mask(" ".join(str(error.get("Message") or "").split()))
    detail = f"{code} ({status}): {message}" if status else f"{code}: {message}"
    if code == "ResourceNotFoundException":
        return UsageError(f"{what} not found ({message})" if message else f"{what} not found",
                          hint="check the secret name/ARN and AWS_REGION")
    if code in _CREDENTIAL_CODES:
        return CredentialsRefused(f"AWS refused access to {what}: {detail}", hint=hint)
    if code in _USAGE_CODES:
        return UsageError(f"AWS rejected the request for {what}: {detail}", hint="check the secret's state and name")
    if code in _UNAVAILABLE_CODES or (status or 0) >= 500:
        return Unreachable(f"AWS {service} unavailable for {what}: {detail}", hint="retry later")
    return MagentError(f"AWS error for {what}: {detail}", hint="run with --debug for details")
