"""Secrets never leak: fingerprints for keys, masking for URLs, and a logging filter.

A `SecretRegistry` remembers every secret this process has seen (API keys, webhook URLs, passwords in
database URLs, tokens); `mask()` replaces each with a fingerprint before any text is printed or logged.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from urllib.parse import urlsplit, urlunsplit

_MIN_SECRET_LEN = 6


def fingerprint(secret: str) -> str:
    """`…abcd (sha256:1a2b3c4d)`: enough to tell keys apart, never enough to use one."""
    if not secret:
        return "<empty>"
    digest = hashlib.sha256(secret.encode()).hexdigest()[:8]
    return f"…{secret[-4:]} (sha256:{digest})"


def mask_url(url: str) -> str:
    """Hide the password (and any token-like query) of a URL, keep host and path for diagnosis."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    netloc = parts.netloc
    if parts.password is not None:
        user = parts.username or ""
        host = netloc.rsplit("@", 1)[1]
        netloc = f"{user}:***@{host}"
    query = re.sub(r"(?i)(password|token|key|secret|sig)=[^&]*", r"\1=***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


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
    database_url = env.get("MAGENT_DATABASE_URL")
    if database_url:
        try:
            SECRETS.add(urlsplit(database_url).password)
        except ValueError:
            SECRETS.add(database_url)


class RedactingFilter(logging.Filter):
    """Masks every registered secret in a record's final message (args included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = SECRETS.mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True
