"""AWS Secrets Manager versions and staging labels: what `magent key rotate` reads and writes.

Reads always name a stage (`VersionStage="AWSCURRENT"`): an unqualified read may return a stale version (moto
does). Writes: PutSecretValue with a ClientRequestToken (it becomes the version id, and makes a retried put
idempotent) staged AWSPENDING, and UpdateSecretVersionStage to move or remove a label (AWS moves AWSPREVIOUS to
the version that loses AWSCURRENT by itself). Errors are translated by `magent.services.aws`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from magent.core.redact import SECRETS
from magent.services.aws import secrets_client, translate_aws_error


@dataclass(frozen=True)
class Staging:
    """Which version carries which label (DescribeSecret's VersionIdsToStages), and rotation settings."""

    name: str
    stages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rotation_enabled: bool = False
    deleted: bool = False

    def holder(self, stage: str) -> str | None:
        return next((version for version, labels in self.stages.items() if stage in labels), None)


class SecretVersions:
    """One secret's versions through a boto3 Secrets Manager client (built from region/endpoint by default)."""

    def __init__(self, secret_id: str, *, region: str | None = None, endpoint_url: str | None = None,
                 client: Any = None) -> None:
        self.secret_id = secret_id
        self.endpoint_url = endpoint_url
        self.region = region
        self._client = client or secrets_client(region=region, endpoint_url=endpoint_url)

    def _call(self, method: str, permission: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self._client, method)(SecretId=self.secret_id, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise translate_aws_error(exc, f"secret {self.secret_id}", self.endpoint_url,
                                      permission=f"secretsmanager:{permission}") from exc

    def staging(self) -> Staging:
        answer = self._call("describe_secret", "DescribeSecret")
        stages = {version: tuple(labels) for version, labels in (answer.get("VersionIdsToStages") or {}).items()}
        return Staging(name=answer.get("Name", self.secret_id), stages=stages,
                       rotation_enabled=bool(answer.get("RotationEnabled")), deleted=bool(answer.get("DeletedDate")))

    def read(self, stage: str) -> tuple[str, str | None]:
        """(version id, SecretString) of the version staged `stage`; the string is registered as a secret."""
        answer = self._call("get_secret_value", "GetSecretValue", VersionStage=stage)
        value = answer.get("SecretString")
        SECRETS.add(value)
        if value is not None:
            SECRETS.add(value.strip())
        return answer["VersionId"], value

    def put_pending(self, value: str, token: str) -> str:
        """PutSecretValue staged AWSPENDING only (AWSCURRENT does not move); the new version id (= token)."""
        SECRETS.add(value)
        answer = self._call("put_secret_value", "PutSecretValue", SecretString=value, ClientRequestToken=token,
                            VersionStages=["AWSPENDING"])
        return answer.get("VersionId", token)

    def move(self, stage: str, to_version: str, from_version: str | None) -> None:
        """Put label `stage` on `to_version`, taking it off `from_version` (AWS requires naming the holder)."""
        remove = {"RemoveFromVersionId": from_version} if from_version else {}
        self._call("update_secret_version_stage", "UpdateSecretVersionStage", VersionStage=stage,
                   MoveToVersionId=to_version, **remove)

    def remove(self, stage: str, from_version: str) -> None:
        """Take label `stage` off `from_version` (the version itself stays)."""
        self._call("update_secret_version_stage", "UpdateSecretVersionStage", VersionStage=stage,
                   RemoveFromVersionId=from_version)
