"""Pure logic of `magent key rotate`: the secret id, where the key sits in the secret's value, the new value,
and the commands a human runs when a rollback could not finish.

The secret holds the key either as its whole string or as one field of a JSON object: `--secret-id
prod/mistral#api_key` names the field (as `--key-from aws:prod/mistral#api_key` does). The new value keeps every
other field of the object.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass

from magent.core.errors import UsageError
from magent.core.redact import SECRETS

CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"
PREVIOUS = "AWSPREVIOUS"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"

# Secret names: letters, digits and /_+=.@- (AWS); ARNs add ':'. '#' is never part of one, so it can name a field.
_SECRET_ID = re.compile(r"[A-Za-z0-9/_+=.@:-]{1,2048}")
_FIELD = re.compile(r"[^\s#]{1,256}")
_SYNTAX = "--secret-id NAME_OR_ARN[#field], e.g. prod/mistral#api_key"


@dataclass(frozen=True)
class SecretRef:
    """A Secrets Manager secret and, for a JSON secret, the field holding the key."""

    secret_id: str
    field: str | None = None

    @property
    def spec(self) -> str:
        return self.secret_id + (f"#{self.field}" if self.field else "")

    def __str__(self) -> str:
        return self.spec


def parse_secret_ref(text: str) -> SecretRef:
    """`prod/mistral#api_key` → SecretRef('prod/mistral', 'api_key'); UsageError when malformed."""
    stripped = text.strip()
    secret_id, hash_sign, field = stripped.partition("#")
    if not secret_id:
        raise UsageError("--secret-id is empty" if not stripped else f"--secret-id {stripped!r}: no secret before '#'",
                         hint=f"use {_SYNTAX}")
    if not _SECRET_ID.fullmatch(secret_id):
        raise UsageError(f"--secret-id {secret_id!r} is not a secret name or ARN",
                         hint="secret names use letters, digits and /_+=.@- only")
    if hash_sign and not _FIELD.fullmatch(field):
        raise UsageError(f"--secret-id {stripped!r}: {'empty' if not field else 'invalid'} field after '#'",
                         hint=f"use {_SYNTAX}")
    return SecretRef(secret_id, field or None)


def _json_object(text: str) -> dict | None:
    stripped = text.strip()
    if not stripped.startswith("{"):
        return None
    try:
        document = json.loads(stripped)
    except ValueError:
        return None
    if isinstance(document, dict):
        for value in document.values():
            if isinstance(value, str):
                SECRETS.add(value)
    return document if isinstance(document, dict) else None


def key_in_value(value: str, ref: SecretRef) -> str:
    """The key the secret's value holds (the whole string, or `ref.field` of a JSON object), stripped."""
    document = _json_object(value)
    if ref.field is None:
        if document is not None:
            fields = ", ".join(sorted(map(str, document))) or "none"
            raise UsageError(f"secret {ref.secret_id} holds a JSON object, not a bare key",
                             hint=f"name the field: --secret-id {ref.secret_id}#FIELD (fields present: {fields})")
        key = value.strip()
    else:
        if document is None:
            raise UsageError(f"secret {ref.secret_id} is not a JSON object, so it has no field {ref.field!r}",
                             hint=f"drop '#{ref.field}' to rotate the whole value")
        if ref.field not in document:
            fields = ", ".join(sorted(map(str, document))) or "none"
            raise UsageError(f"secret {ref.secret_id} has no field {ref.field!r}", hint=f"fields present: {fields}")
        found = document[ref.field]
        if not isinstance(found, str):
            raise UsageError(f"field {ref.field!r} of secret {ref.secret_id} is not a string",
                             hint="the key must be stored as a JSON string")
        key = found.strip()
    if not key:
        raise UsageError(f"the key in secret {ref.spec} is empty", hint="store the current key there first")
    SECRETS.add(key)
    return key


def value_with_key(value: str, ref: SecretRef, new_key: str) -> str:
    """The secret's new value: the new key alone, or the JSON object with `ref.field` replaced (other fields kept,
    in their order)."""
    if ref.field is None:
        return new_key
    document = _json_object(value)
    if document is None:  # key_in_value() refused it before; a guard for direct callers
        raise UsageError(f"secret {ref.secret_id} is not a JSON object")
    return json.dumps({**document, ref.field: new_key})


def restart_stamp(now_iso: str, previous: str | None) -> str:
    """The restartedAt value `kubectl rollout restart` writes (RFC 3339, seconds); with the fraction when the
    seconds equal the previous stamp, so that a restart right after another still changes the template."""
    seconds = now_iso.split(".")[0].removesuffix("Z") + "Z"
    return seconds if seconds != previous else now_iso


def fix_commands(ref: SecretRef, old_version: str, new_version: str | None, *, current_on_new: bool,
                 pending_on_new: bool, deployment: str | None, namespace: str | None, context: str | None) -> list[str]:
    """What a human runs to put back what a failed rollback left: AWSCURRENT on the old version, no AWSPENDING
    on the new one, and (when a Deployment was named) its pods restarted on the old key."""
    q = shlex.quote
    stage = f"aws secretsmanager update-secret-version-stage --secret-id {q(ref.secret_id)} --version-stage"
    commands = []
    if new_version and current_on_new:
        commands.append(f"{stage} {CURRENT} --move-to-version-id {q(old_version)} --remove-from-version-id "
                        f"{q(new_version)}")
    if new_version and pending_on_new:
        commands.append(f"{stage} {PENDING} --remove-from-version-id {q(new_version)}")
    commands.append(f"aws secretsmanager describe-secret --secret-id {q(ref.secret_id)}  # AWSCURRENT on "
                    f"{q(old_version)}?")
    if deployment:
        where = f" -n {q(namespace)}" if namespace else ""
        where += f" --context {q(context)}" if context else ""
        commands += [f"kubectl rollout restart deployment/{q(deployment)}{where}",
                     f"kubectl rollout status deployment/{q(deployment)}{where}"]
    return commands


def short_version(version_id: str | None) -> str:
    """The first 8 characters of a version id (a UUID), enough to tell versions apart in a line of text."""
    return (version_id or "-")[:8]
