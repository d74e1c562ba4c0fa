"""Secrets never leak: fingerprints for keys, masking for URLs, and a logging filter.

A `SecretRegistry` remembers every secret this process has seen (API keys, webhook URLs, passwords in
database URLs, tokens); `mask()` replaces each with a fingerprint before any text is printed or logged.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

_MIN_SECRET_LEN = 6


def fingerprint(secret: str) -> str:
    """`…abcd (sha256:1a2b3c4d)`: enough to tell keys apart, never enough to use one."""
    if not secret:
        return "<empty>"
    import hashlib  # here: OpenSSL's loading would cost every command's start-up, --help included

    digest = hashlib.sha256(secret.encode()).hexdigest()[:8]
    return f"…{secret[-4:]} (sha256:{digest})"


# Query (or fragment) parameters whose name says they carry a credential: ?token=, &api_key=, X-Amz-Signature=,
# #access_token=, ?password=, ?auth=… A false positive only hides a harmless value.
_CREDENTIAL_PARAM = re.compile(
    r"(?i)(?P<lead>[?&;#])(?P<name>[^=&;#\s]*(?:pass|pwd|token|key|secret|sig|auth|credential)[^=&;#\s]*)="
    r"(?P<value>[^&;#\s]*)"
)
# libpq key=value conninfo: password=secret or password='with spaces'.
_CONNINFO_PASSWORD = re.compile(r"(?i)(?P<lead>\bpassword\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'|[^\s']\S*)")
# A URL without a scheme, as people paste them into MAGENT_DATABASE_URL: user:password@host/db.
_SCHEMELESS_USERINFO = re.compile(r"^(?P<user>[^:/@\s]+):(?P<password>[^@\s]*)@(?P<rest>[^@\s]+)$")
# What `mask_url` still hides in a URL nothing else parses (a mistyped scheme, `postgres//u:pw@h`, or an `@` in a
# schemeless password): from the first colon to the last `@`. Display only: registering it as a secret would
# also hide the tags of image references (`registry/app:v2@sha256:…`) in every output.
_MISTYPED_USERINFO = re.compile(r"^(?P<user>[^:@\s]+):(?P<password>\S*)@(?P<rest>[^@\s]+)$")
# URLs inside free text (log lines, error messages, JSON): stop at whitespace and quotes.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")
# Schemes where a user name alone (postgresql://app@db) is an account, not a token (https://TOKEN@host).
_ACCOUNT_SCHEMES = ("postgres", "postgresql")
# Placeholders in hints and docs (postgresql://USER:PASSWORD@HOST/DB) and already-masked values stay readable.
# (An empty password is still shown as *** so the output does not tell whether there is one.)
_PLACEHOLDERS = ("***", "PASSWORD")


def _userinfo(url: str) -> tuple[str, str | None, str] | None:
    """(user, password or None, scheme) of a URL with userinfo (scheme "" when it has none), else None.

    Parsed by hand rather than with urlsplit, which refuses some netlocs (a port "PORT", a bad IPv6 literal)
    that still carry a password worth hiding."""
    match = _SCHEMELESS_USERINFO.match(url) if "://" not in url else None
    if match:
        return match["user"], match["password"], ""
    scheme, sep, rest = url.partition("://")
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if not sep or "@" not in netloc:
        return None
    user, colon, password = netloc.rsplit("@", 1)[0].partition(":")
    return user, (password if colon else None), scheme.lower()


def url_secrets(value: str) -> list[str]:
    """The secret parts of a URL or conninfo string: its password (or token-like lone user name), the values of
    credential-looking query parameters, a conninfo password. Empty for anything else."""
    found: list[str] = []
    info = _userinfo(value) if ("://" in value or "@" in value) else None
    if info:
        user, password, scheme = info
        found.append(password if password is not None else ("" if scheme in _ACCOUNT_SCHEMES else user))
    found += [m["value"] for m in _CREDENTIAL_PARAM.finditer(value)]
    found += [m["value"].strip("'") for m in _CONNINFO_PASSWORD.finditer(value)]
    return [secret for secret in found if secret and secret not in _PLACEHOLDERS]


def mask_url(url: str) -> str:
    """Hide the userinfo password (or a token-like lone user name), credential-looking query parameters and a
    conninfo password; keep scheme, user, host, path and the rest for diagnosis. Works without a scheme too
    (`user:pass@host/db`, `host=db password=x`); anything with nothing to hide comes back unchanged."""
    masked = _CREDENTIAL_PARAM.sub(lambda m: f"{m['lead']}{m['name']}=***", _mask_userinfo(url))
    return _CONNINFO_PASSWORD.sub(lambda m: f"{m['lead']}***", masked)


def _mask_userinfo(url: str) -> str:
    info = _userinfo(url) if "@" in url else None
    if info is None:
        mistyped = _MISTYPED_USERINFO.match(url) if "://" not in url else None
        if mistyped and ("/" not in mistyped["user"] or "//" in mistyped["user"]):  # not registry/app:v2@sha256:…
            return f"{mistyped['user']}:***@{mistyped['rest']}"
        return url
    user, password, scheme = info
    if password is not None:
        if password in _PLACEHOLDERS:
            return url
        old, shown = f"{user}:{password}@", f"{user}:***@"
    elif scheme in _ACCOUNT_SCHEMES or scheme == "":
        return url
    else:
        old, shown = f"{user}@", "***@"
    return url.replace(old, shown, 1)


def mask_urls_in_text(text: str) -> str:
    """Every URL inside `text` masked with `mask_url` (the one place output and logs share)."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)


def mask_webhook(url: str) -> str:
    """Webhook URLs are secrets in their path (Slack's /services/T…/B…/XXXX): show the host only."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    return f"{parts.scheme}://{parts.hostname or '?'}/***"


class SecretRegistry:
    """Process-wide set of secrets to scrub from any text that leaves the process."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= _MIN_SECRET_LEN:
            with self._lock:
                self._secrets.add(secret)

    def clear(self) -> None:
        with self._lock:
            self._secrets.clear()

    def mask(self, text: str) -> str:
        """Credentials inside any URL first (even ones never registered), then every registered secret."""
        text = mask_urls_in_text(text)
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, fingerprint(secret))
        return text


SECRETS = SecretRegistry()

# Environment variables whose whole value is a secret; URLs are handled by `register_environment_secrets`.
SECRET_ENV_VARS = ("MISTRAL_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "MAGENT_WEBHOOK_URL")


def register_environment_secrets(env: dict[str, str] | os._Environ) -> None:
    """Mask the secrets the environment hands us before anything (a --debug log of an SDK) can print them."""
    for name in SECRET_ENV_VARS:
        SECRETS.add(env.get(name))
    for name in ("MAGENT_DATABASE_URL", "MAGENT_MISTRAL_URL", "AWS_ENDPOINT_URL"):
        register_url_secrets(env.get(name) or "")


def register_url_secrets(value: str) -> None:
    """Register the secret parts of one URL or conninfo string (see `url_secrets`)."""
    for secret in url_secrets(value):
        SECRETS.add(secret)
        SECRETS.add(unquote(secret))  # a percent-encoded password is used (and may be echoed) decoded


def register_secrets_in(value: Any) -> None:
    """Walk settings (dicts, lists, strings) and register the secret parts of every URL-like string in them, so
    that every output and every log line masks them, whichever code path prints the URL."""
    if isinstance(value, str):
        register_url_secrets(value)
    elif isinstance(value, dict):
        for item in value.values():
            register_secrets_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            register_secrets_in(item)


def one_line(text: str, limit: int = 200) -> str:
    """`text` fit for one line of a message or a table cell: secrets masked, whitespace folded, cut at `limit`."""
    line = " ".join(SECRETS.mask(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class RedactingFilter(logging.Filter):
    """Masks every registered secret in a record's final message (args included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = SECRETS.mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True
