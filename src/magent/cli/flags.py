"""Flag values that several commands parse the same way."""

from __future__ import annotations

from magent.core.errors import UsageError


def duration_flag(flag: str, text: str, *, allow_zero: bool = False) -> float:
    """Seconds from a flag such as `--timeout 30s`; a UsageError (exit 2) naming the flag when it is not a
    duration or not above zero (`allow_zero`: kubectl's `--request-timeout 0`, no timeout)."""
    from magent.core.timeutil import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{flag} {text!r}: {exc}", hint="durations look like 30s, 5m, 1h30m, 90d") from None
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise UsageError(f"{flag} {text!r}: must be more than zero", hint="durations look like 30s, 5m, 1h30m, 90d")
    return seconds
