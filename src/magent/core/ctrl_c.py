"""Whether this run was interrupted (Ctrl-C, or SIGTERM taken as one), whatever the exception that carried it.

A KeyboardInterrupt raised inside a library does not always come back out as one: pydantic builds schemas in Rust
and returns a `SchemaError`, a lazy import can fail with another error. The handlers in cli/interrupts.py set this
flag; the workflows read it to take the interrupted path (abort the canary, release the rows, keep no half file)
instead of the failed one. Only the flag lives here, so that core stays free of signal handling.
"""

from __future__ import annotations

_seen = False


def mark_seen() -> None:
    global _seen
    _seen = True


def reset() -> None:
    global _seen
    _seen = False


def seen() -> bool:
    return _seen


def is_user_interrupt(exc: BaseException) -> bool:
    """Ctrl-C, whether it arrived as a KeyboardInterrupt or as whatever a library made of it."""
    return isinstance(exc, KeyboardInterrupt) or (_seen and isinstance(exc, Exception))
