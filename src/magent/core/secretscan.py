"""Find hard-coded API keys in text: pure rules, no I/O (walking a repository is `magent.services.repo`).

Two rules:

    mistral-api-key   the word "mistral" (any case) within 40 characters, across line breaks, of a token
                      `\\b[A-Za-z0-9]{32}\\b` with an upper-case letter, a lower-case letter and a digit (so a
                      hex digest is not a key) and Shannon entropy >= 3.5 bits per character
    generic-api-key   `…api_key / token / secret / password… = "value"` (quotes optional), value of 16-200
                      characters with a digit and entropy >= 3.5, not a placeholder; lower confidence

A finding never holds the secret: `fingerprint` is `sha256:` + 16 hex digits of the secret's SHA-256 (the
same secret gives the same fingerprint in every run and every file, so baselines work and copies can be
told apart), and the message shows `magent.core.redact.fingerprint` (last 4 characters + short hash).
A line containing `magent:allow`, or a comment line containing it just above, suppresses its findings.

Speed: one lower-cased copy of the text; the Mistral rule runs only where "mistral" occurs (token search
limited to windows around each occurrence); the generic rule is one compiled regex over the whole text.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from magent.core.errors import ConfigError
from magent.core.preflight import Finding
from magent.core.redact import fingerprint as display_fingerprint

MISTRAL_RULE = "mistral-api-key"
GENERIC_RULE = "generic-api-key"
GENERIC_SEVERITY = "warning"  # lower confidence than the item's own severity
MIN_ENTROPY = 3.5
MAX_DISTANCE = 40  # characters between "mistral" and the key
KEY_LENGTH = 32
ALLOW_MARKER = "magent:allow"
BASELINE_VERSION = 1

_WORD = "mistral"
_TOKEN = re.compile(r"\b[A-Za-z0-9]{32}\b")
# Runs on the lower-cased text (case-sensitive matching is much faster than re.IGNORECASE); the value is
# then read from the original text by its span.
_GENERIC = re.compile(
    r"(?:api[_.-]?key|secret|token|passw(?:or)?d|access[_.-]?key|auth[_.-]?key|credential)"
    r"[a-z0-9_.-]{0,20}"  # the rest of the name: `_value`, `s`, `_id`
    r"['\"]?[ \t]{0,3}(?::=|=>|=|:)[ \t]{0,3}"  # `= `, `: `, `:=`, `=>`, a JSON key's closing quote
    r"(['\"`]?)([a-z0-9_+/.=-]{16,200})\1"  # the value, quoted or not
    r"(?=['\"`\s,;)}\]]|$)"  # ends there: a call like `token = get_token()` is not a value
)
_PLACEHOLDERS = ("xxxx", "example", "your", "changeme", "placeholder", "dummy", "redacted", "sample", "fake")
_COMMENT_STARTS = ("#", "//", "--", ";", "/*", "*", "<!--", "%", "rem ")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


@dataclass(frozen=True)
class Hit:
    """A finding and the secret behind it, for the caller that must verify or mask it (never printed)."""

    finding: Finding
    secret: str = field(repr=False)


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def secret_fingerprint(secret: str) -> str:
    """A stable id for a secret that does not reveal it (baselines, SARIF, de-duplication)."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def looks_like_mistral_key(token: str) -> bool:
    return (len(token) == KEY_LENGTH and token.isascii() and token.isalnum()
            and any(c.isupper() for c in token) and any(c.islower() for c in token)
            and any(c.isdigit() for c in token) and entropy(token) >= MIN_ENTROPY)


def scan_text(text: str, path: str, *, generic: bool = True) -> list[Finding]:
    """Every finding in `text` (`path` is recorded as the finding's file), in order of position."""
    return [hit.finding for hit in scan_text_hits(text, path, generic=generic)]


def scan_text_hits(text: str, path: str, *, generic: bool = True) -> list[Hit]:
    lower = text.lower()
    spans = _mistral_spans(text, lower)
    found = [(start, end, MISTRAL_RULE) for start, end in spans]
    if generic:
        found += _generic_spans(text, lower, set(spans))
    hits = []
    for start, end, rule in sorted(found):
        if _allowed(text, start):
            continue
        hits.append(_hit(text, path, start, end, rule))
    return hits


def _mistral_spans(text: str, lower: str) -> list[tuple[int, int]]:
    """Spans of tokens near a "mistral": tokens are searched only in windows around each occurrence."""
    words = [m.start() for m in re.finditer(_WORD, lower)] if _WORD in lower else []
    if not words:
        return []
    reach = MAX_DISTANCE + KEY_LENGTH
    spans: list[tuple[int, int]] = []
    for pos, endpos in _merge((max(0, w - reach), min(len(text), w + len(_WORD) + reach + 1)) for w in words):
        for m in _TOKEN.finditer(text, pos, endpos):
            if _near(words, m.start(), m.end()) and looks_like_mistral_key(m.group()):
                spans.append(m.span())
    return sorted(set(spans))


def _merge(windows: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in windows:  # already in order of start
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _near(words: list[int], start: int, end: int) -> bool:
    """Is a "mistral" at most MAX_DISTANCE characters before `start` or after `end` (or overlapping)?"""
    i = bisect_left(words, start - MAX_DISTANCE - len(_WORD))
    return i < len(words) and words[i] <= end + MAX_DISTANCE


def _generic_spans(text: str, lower: str, taken: set[tuple[int, int]]) -> list[tuple[int, int, str]]:
    spans = []
    for m in _GENERIC.finditer(lower):
        start, end = m.span(2)
        value = text[start:end]
        if any(s < end and start < e for s, e in taken):
            continue  # the Mistral rule already has it
        if _plausible_secret(value, m.group(2)):
            spans.append((start, end, GENERIC_RULE))
    return spans


def _plausible_secret(value: str, lowered: str) -> bool:
    return (any(c.isdigit() for c in value) and entropy(value) >= MIN_ENTROPY
            and not any(word in lowered for word in _PLACEHOLDERS))


def _allowed(text: str, pos: int) -> bool:
    """`magent:allow` on the finding's line, or in a comment line just above it."""
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    if ALLOW_MARKER in text[line_start:line_end if line_end >= 0 else len(text)]:
        return True
    if line_start == 0:
        return False
    previous = text[text.rfind("\n", 0, line_start - 1) + 1:line_start - 1].strip().lower()
    return ALLOW_MARKER in previous and previous.startswith(_COMMENT_STARTS)


def _hit(text: str, path: str, start: int, end: int, rule: str) -> Hit:
    secret = text[start:end]
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    shown = display_fingerprint(secret)
    if rule == MISTRAL_RULE:
        message, severity = f"Mistral API key {shown}", None
    else:
        name = _assigned_name(text, start)
        message, severity = f"possible secret assigned to {name} {shown}", GENERIC_SEVERITY
    finding = Finding(message, file=path, line=line, column=column, fingerprint=secret_fingerprint(secret),
                      rule=rule, severity=severity)
    return Hit(finding, secret)


def _assigned_name(text: str, value_start: int) -> str:
    """The identifier a generic secret is assigned to (`MISTRAL_API_KEY`), read backwards from the value."""
    i = value_start - 1
    while i >= 0 and text[i] not in _NAME_CHARS:  # `= "`, `: `, `":`
        if text[i] == "\n" or value_start - i > 12:
            return "a secret-like name"
        i -= 1
    end = i + 1
    while i >= 0 and text[i] in _NAME_CHARS and end - i <= 60:
        i -= 1
    return text[i + 1:end] or "a secret-like name"


# --- baselines ---------------------------------------------------------------------------------------------

BaselineKey = tuple[str, str, str]  # (file, rule, fingerprint)


def baseline_document(findings: Iterable[Finding], generated_at: str) -> dict[str, Any]:
    """The JSON document of a baseline: where each accepted finding is, never the secret."""
    rows = sorted({(f.file or "", f.rule or "", f.fingerprint or "", f.line or 0) for f in findings})
    return {"version": BASELINE_VERSION, "tool": "magent", "generated_at": generated_at,
            "findings": [{"file": file, "rule": rule, "fingerprint": fp, "line": line}
                         for file, rule, fp, line in rows]}


def parse_baseline(text: str, source: str) -> set[BaselineKey]:
    """The (file, rule, fingerprint) keys of a baseline file's text; ConfigError naming `source` when bad."""
    hint = "regenerate it with `magent preflight --repo DIR --write-baseline FILE`"
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"baseline {source} is not JSON: {exc}", hint=hint) from None
    if not isinstance(document, dict) or document.get("version") != BASELINE_VERSION:
        raise ConfigError(f"baseline {source} is not a version {BASELINE_VERSION} magent baseline", hint=hint)
    rows = document.get("findings")
    if not isinstance(rows, list):
        raise ConfigError(f"baseline {source}: 'findings' must be a list", hint=hint)
    keys: set[BaselineKey] = set()
    for index, row in enumerate(rows):
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("file", "rule", "fingerprint")):
            raise ConfigError(f"baseline {source}: findings[{index}] needs string file, rule and fingerprint",
                              hint=hint)
        keys.add((row["file"], row["rule"], row["fingerprint"]))
    return keys


def in_baseline(finding: Finding, baseline: set[BaselineKey]) -> bool:
    return (finding.file or "", finding.rule or "", finding.fingerprint or "") in baseline
