"""Where an API key comes from: `--key-from` specs, parsed and resolved.

    env:VAR                      an environment variable (default: env:MISTRAL_API_KEY)
    file:PATH[#field]            a file holding the key (or a JSON object, with #field)
    aws:SECRET_ID[#field]        an AWS Secrets Manager secret (a JSON secret needs #field)
    k8s:NAMESPACE/SECRET[#KEY]   a Kubernetes Secret (magent.services.kube.secrets)

`resolve_mistral_keys(settings, specs)` is the one way commands get the application's Mistral key: it builds the
context from the settings (AWS region/endpoint, kubeconfig and context), so every command reads keys alike.

Each scheme is a `Scheme` in a registry (`register_scheme()`): a new source is one registration, and
the resolvers that need an SDK import their service module only when they run. Every key read is added to `SECRETS` at once.
Bad specs and unusable keys raise `UsageError` (exit 2) with a hint; nothing is resolved half-way.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from magent.core.errors import UsageError
from magent.core.paths import expand_user
from magent.core.redact import SECRETS, fingerprint

DEFAULT_KEY_SOURCE = "env:MISTRAL_API_KEY"
_MISTRAL_KEY_SHAPE = re.compile(r"[A-Za-z0-9]{32}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A key file holds a key, or a small JSON object: read no more than this (file:/dev/zero must not hang).
_MAX_KEY_FILE_BYTES = 8 * 1024

if TYPE_CHECKING:
    from magent.core.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeySource:
    """A parsed `--key-from` spec; `spec` is safe to print (it names where the key is, never the key)."""

    scheme: str
    target: str
    field: str | None = None

    @property
    def spec(self) -> str:
        return f"{self.scheme}:{self.target}" + (f"#{self.field}" if self.field else "")

    def __str__(self) -> str:
        return self.spec


@dataclass(frozen=True)
class ResolvedKey:
    """A key and where it came from. `repr` never shows the key."""

    source: KeySource
    key: str = field(repr=False)
    warnings: tuple[str, ...] = ()


@dataclass
class ResolveContext:
    """What resolvers may read: the environment, the AWS settings, and how to fetch a secret."""

    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    aws_region: str | None = None
    aws_endpoint_url: str | None = None
    # (secret_id, region, endpoint_url) -> SecretString; defaults to magent.services.aws.get_secret_string
    fetch_aws_secret: Callable[[str, str | None, str | None], str] | None = None
    kube_context: str | None = None  # kubeconfig context for k8s: sources
    kubeconfig: str | None = None  # kubernetes.kubeconfig; KUBECONFIG from env when unset


def context_for(settings: Settings, env: Mapping[str, str] | None = None) -> ResolveContext:
    """The context every command resolves keys in: AWS and Kubernetes settings from magent.yaml/env/flags."""
    return ResolveContext(env=os.environ if env is None else env, aws_region=settings.aws.region,
                          aws_endpoint_url=settings.aws.endpoint_url, kube_context=settings.kubernetes.context,
                          kubeconfig=settings.kubernetes.kubeconfig)


def resolve_mistral_keys(settings: Settings, specs: list[str] | None = None, *, first_only: bool = False,
                         env: Mapping[str, str] | None = None) -> list[ResolvedKey]:
    """The Mistral key(s) named by `specs` (else `mistral.key_from`); UsageError when there is no source."""
    chosen = list(specs) if specs else list(settings.mistral.key_from)
    if not chosen:
        raise UsageError("no key source", hint="pass --key-from env:MISTRAL_API_KEY (or set mistral.key_from)")
    return resolve_all(chosen[:1] if first_only else chosen, context_for(settings, env))


@dataclass(frozen=True)
class Scheme:
    """One kind of key source: its syntax (for messages), how to check a target, and how to read the key."""

    name: str
    syntax: str
    resolve: Callable[[KeySource, ResolveContext], str]
    field_allowed: bool = False
    check_target: Callable[[str], str | None] = lambda target: None  # returns an error message, or None


SCHEMES: dict[str, Scheme] = {}


def register_scheme(scheme: Scheme) -> None:
    """Add (or replace) a key source scheme, e.g. `k8s`."""
    SCHEMES[scheme.name] = scheme


def syntax_help() -> str:
    return ", ".join(scheme.syntax for scheme in SCHEMES.values())


def parse_key_source(spec: str) -> KeySource:
    """`aws:prod/mistral#api_key` → KeySource('aws', 'prod/mistral', 'api_key'); UsageError when malformed."""
    text = spec.strip()
    scheme_name, sep, rest = text.partition(":")
    scheme = SCHEMES.get(scheme_name.lower())
    if not sep:
        raise _not_a_spec(text)
    if scheme is None:
        raise UsageError(f"--key-from {spec!r}: unknown source {scheme_name!r}", hint=f"use one of: {syntax_help()}")
    target, hash_sign, field_name = rest.partition("#")
    if not target:
        raise UsageError(f"--key-from {spec!r}: nothing after '{scheme.name}:'", hint=f"use {scheme.syntax}")
    if hash_sign and not scheme.field_allowed:
        raise UsageError(f"--key-from {spec!r}: {scheme.name} sources take no #field", hint=f"use {scheme.syntax}")
    if hash_sign and not field_name:
        raise UsageError(f"--key-from {spec!r}: empty field after '#'", hint=f"use {scheme.syntax}")
    problem = scheme.check_target(target)
    if problem:
        raise UsageError(f"--key-from {spec!r}: {problem}", hint=f"use {scheme.syntax}")
    return KeySource(scheme.name, target, field_name or None)


def _not_a_spec(text: str) -> UsageError:
    """A spec without a scheme; if it looks like a key itself, never echo it (it would land in logs)."""
    if _MISTRAL_KEY_SHAPE.fullmatch(text) or len(text) >= 20:
        SECRETS.add(text)
        return UsageError("--key-from expects SCHEME:TARGET and got what looks like a key itself",
                          hint="never put a key on the command line (shell history): use env:VAR or file:PATH")
    return UsageError(f"--key-from {text!r}: expected SCHEME:TARGET", hint=f"use one of: {syntax_help()}")


def resolve_key(source: KeySource, ctx: ResolveContext | None = None) -> ResolvedKey:
    """Read the key a source names, register it in SECRETS, and check it is usable."""
    ctx = ctx or ResolveContext()
    raw = SCHEMES[source.scheme].resolve(source, ctx)
    SECRETS.add(raw)
    key = raw.strip()
    if not key:
        raise UsageError(f"the key from {source} is empty", hint="store the API key itself in that source")
    SECRETS.add(key)
    log.debug("key %s read from %s", fingerprint(key), source)
    return ResolvedKey(source, key, _shape_warnings(key))


def resolve_all(specs: list[str], ctx: ResolveContext | None = None) -> list[ResolvedKey]:
    """Parse every spec first (so a typo fails before any secret is read), then resolve each."""
    sources = [parse_key_source(spec) for spec in specs]
    return [resolve_key(source, ctx) for source in sources]


def _shape_warnings(key: str) -> tuple[str, ...]:
    if _MISTRAL_KEY_SHAPE.fullmatch(key):
        return ()
    if key.lower().startswith("bearer "):
        return ("the key starts with 'Bearer ': store the key alone",)
    return ("the key does not look like a Mistral API key (32 letters and digits)",)


def _pick_field(document_text: str, source: KeySource, what: str) -> str:
    """The string at `#field` of a JSON object; every string value is registered as a secret."""
    try:
        document = json.loads(document_text)
    except ValueError:
        raise UsageError(f"{what} is not a JSON object, so it has no field {source.field!r}",
                         hint=f"drop '#{source.field}' to use the whole value as the key") from None
    if not isinstance(document, dict):
        raise UsageError(f"{what} is not a JSON object, so it has no field {source.field!r}",
                         hint=f"drop '#{source.field}' to use the whole value as the key")
    for value in document.values():
        if isinstance(value, str):
            SECRETS.add(value)
    if source.field not in document:
        fields = ", ".join(sorted(map(str, document))) or "none"
        raise UsageError(f"{what} has no field {source.field!r}", hint=f"fields present: {fields}")
    value = document[source.field]
    if not isinstance(value, str):
        raise UsageError(f"field {source.field!r} of {what} is not a string", hint="store the key as a JSON string")
    return value


def _refuse_json_without_field(text: str, source: KeySource, what: str) -> None:
    """A JSON object used as a key is a forgotten #field: say which fields there are."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return
    try:
        document = json.loads(stripped)
    except ValueError:
        return
    if isinstance(document, dict):
        for value in document.values():
            if isinstance(value, str):
                SECRETS.add(value)
        fields = ", ".join(sorted(map(str, document))) or "none"
        raise UsageError(f"{what} holds a JSON object, not a bare key",
                         hint=f"name the field: {source.spec}#FIELD (fields present: {fields})")


# --- the built-in schemes -------------------------------------------------------------------------------------


def _check_env_name(target: str) -> str | None:
    return None if _ENV_NAME.fullmatch(target) else f"{target!r} is not an environment variable name"


def _resolve_env(source: KeySource, ctx: ResolveContext) -> str:
    value = ctx.env.get(source.target)
    if value is None:
        raise UsageError(f"environment variable {source.target} is not set",
                         hint=f"export {source.target}=… or pass --key-from file:PATH / aws:SECRET_ID")
    if not value.strip():
        raise UsageError(f"environment variable {source.target} is empty", hint=f"export {source.target}=<the key>")
    return value


def _resolve_file(source: KeySource, ctx: ResolveContext) -> str:
    path = expand_user(source.target)
    try:
        if path.is_dir():
            raise UsageError(f"{path} is a directory, not a key file", hint="pass file:PATH to the file itself")
        # st_size is 0 for /dev/zero and pipes: bound the read itself, not the size the file claims
        with path.open("rb") as handle:
            data = handle.read(_MAX_KEY_FILE_BYTES + 1)
        if len(data) > _MAX_KEY_FILE_BYTES:
            raise UsageError(f"{path} is too large to be a key file (over {_MAX_KEY_FILE_BYTES // 1024} KiB)",
                             hint="pass file:PATH to a file holding the key")
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise UsageError(f"key file {path} not found", hint="check the path given to --key-from file:PATH") from None
    except PermissionError:
        raise UsageError(f"cannot read key file {path}: permission denied", hint="check the file's permissions") from None
    except UnicodeDecodeError:
        raise UsageError(f"key file {path} is not UTF-8 text", hint="store the key as plain text") from None
    except OSError as exc:
        raise UsageError(f"cannot read key file {path}: {exc.strerror}") from None
    SECRETS.add(text.strip())
    if source.field:
        return _pick_field(text, source, f"key file {path}")
    _refuse_json_without_field(text, source, f"key file {path}")
    return text


def _resolve_aws(source: KeySource, ctx: ResolveContext) -> str:
    fetch = ctx.fetch_aws_secret
    if fetch is None:
        from magent.services.aws import get_secret_string

        def fetch(secret_id: str, region: str | None, endpoint_url: str | None) -> str:
            # by stage: an unqualified read may return a stale version (moto does, right after a rotation)
            return get_secret_string(secret_id, region=region, endpoint_url=endpoint_url, version_stage="AWSCURRENT")

    text = fetch(source.target, ctx.aws_region, ctx.aws_endpoint_url)
    SECRETS.add(text.strip())
    if source.field:
        return _pick_field(text, source, f"secret {source.target}")
    _refuse_json_without_field(text, source, f"secret {source.target}")
    return text


def _check_k8s_target(target: str) -> str | None:
    from magent.services.kube.secrets import check_target

    return check_target(target)


def _resolve_k8s(source: KeySource, ctx: ResolveContext) -> str:
    from magent.services.kube.secrets import resolve

    return resolve(source, kubeconfig=ctx.kubeconfig or ctx.env.get("KUBECONFIG") or None, context=ctx.kube_context)


register_scheme(Scheme("env", "env:VAR", _resolve_env, check_target=_check_env_name))
register_scheme(Scheme("file", "file:PATH[#field]", _resolve_file, field_allowed=True))
register_scheme(Scheme("aws", "aws:SECRET_ID[#field]", _resolve_aws, field_allowed=True))
register_scheme(Scheme("k8s", "k8s:NAMESPACE/SECRET[#KEY]", _resolve_k8s, field_allowed=True,
                       check_target=_check_k8s_target))
