"""Durations and instants: UTC and ISO 8601 everywhere."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Instants magent accepts end before year 9999: a window [since, until) is widened to whole UTC days, and a day
# after 9999-12-31 does not exist for Python (`--until 9999-12-31T23:59:59Z` was an OverflowError).
LATEST_INSTANT = datetime(9999, 1, 1, tzinfo=UTC)
MAX_DURATION_S = 100 * 365 * 86400


class DurationTooLong(ValueError):
    """A well-formed duration past MAX_DURATION_S: `parse_instant` reads it as an age that is too old."""


def parse_duration(text: str | int | float) -> float:
    """'90s', '5m', '1h30m', '250ms' or a bare number of seconds → seconds (float), at most MAX_DURATION_S."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ValueError(f"invalid duration {_shown(text)} (use e.g. 30s, 5m, 1h30m)")
    if isinstance(text, (int, float)):
        if isinstance(text, int) and text > MAX_DURATION_S:
            raise DurationTooLong(f"duration {_shown(text)} is too long (at most 100 years)")
        if not math.isfinite(text) or text < 0:
            raise ValueError(f"invalid duration {_shown(text)} (use a number of seconds ≥ 0, or e.g. 30s, 5m)")
        return _bounded(float(text), text)
    stripped = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", stripped):
        return _bounded(float(stripped), text)
    pos, total = 0, 0.0
    for match in _DURATION.finditer(stripped):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(stripped) or not stripped:
        raise ValueError(f"invalid duration {_shown(text)} (use e.g. 30s, 5m, 1h30m)")
    return _bounded(total, text)


def _bounded(seconds: float, text: object) -> float:
    # a duration becomes a deadline (monotonic() + seconds) or a timedelta: 1e31 s overflows both
    if not math.isfinite(seconds) or seconds > MAX_DURATION_S:
        raise DurationTooLong(f"duration {_shown(text)} is too long (at most 100 years)")
    return seconds


def _shown(value: object) -> str:
    """repr() for an error message; an int past 4,300 digits cannot even be printed."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return "(a number too large to show)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def human_duration(seconds: float) -> str:
    """90 → '1m30s', 7776000 → '90d', 0.25 → '250ms': the shape parse_duration reads back."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    parts, rest = [], round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z suffix."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_instant(text: str, *, now: datetime | None = None) -> datetime:
    """An ISO 8601 date/time (naive means UTC) or a relative age such as '7d' or '12h' (= now minus it)."""
    now = now or utcnow()
    stripped = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", stripped):  # `--since 7`: seven what? never guess seconds
        raise ValueError(f"invalid time {text!r}: a number needs a unit (7d, 12h, 30m) or write a date (2026-11-01)")
    try:
        seconds = parse_duration(stripped)
    except DurationTooLong:
        raise ValueError(f"invalid time {_shown(text)}: an age of more than 100 years") from None
    except ValueError:
        pass  # not an age: an ISO 8601 instant, read below
    else:
        try:
            return now - timedelta(seconds=seconds)
        except OverflowError:
            raise ValueError(f"invalid time {text!r}: that is before the year 1") from None
    try:
        moment = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"invalid time {text!r} (use ISO 8601 like 2026-11-01 or an age like 7d)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 is in the year 0 in UTC, 9999-12-31T23:00-05:00 in 10000
        if moment.year == 1:
            raise ValueError(f"invalid time {text!r}: that is before the year 1 in UTC") from None
        moment = LATEST_INSTANT
    if moment >= LATEST_INSTANT:
        raise ValueError(f"invalid time {text!r}: magent takes instants before the year 9999")
    return moment


def isoformat_seconds(moment: datetime | str) -> str:
    """An instant as isoformat() gives it, cut to whole seconds: for tables, where microseconds only fold lines."""
    text = isoformat(moment) if isinstance(moment, datetime) else moment
    return re.sub(r"(T\d\d:\d\d:\d\d)\.\d+", r"\1", text)
