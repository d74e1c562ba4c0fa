"""Remember that Ctrl-C was pressed, even when a library turned the KeyboardInterrupt into another exception.

Pydantic builds schemas in Rust; a SIGINT arriving during a lazy import of SDK models comes back out as a
`SchemaError` whose text merely mentions KeyboardInterrupt. Without this, the user who pressed Ctrl-C would
see a traceback and exit 1 instead of "interrupted" and 130. The flag itself is core/ctrl_c.py's.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from magent.core import ctrl_c
from magent.core.ctrl_c import is_user_interrupt
from magent.core.ctrl_c import seen as sigint_seen

__all__ = ["is_user_interrupt", "quiet_control_echo", "sigint_seen", "sigterm_as_interrupt", "tracking_sigint"]


def _on_sigint(signum: int, frame: object) -> None:
    ctrl_c.mark_seen()
    signal.default_int_handler(signum, frame)


@contextmanager
def tracking_sigint() -> Iterator[None]:
    """Install the tracker for the outermost run only (``magent demo`` runs commands inside a run)."""
    outermost = (threading.current_thread() is threading.main_thread()
                 and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    if not outermost:
        yield
        return
    ctrl_c.reset()
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        ctrl_c.reset()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM as Ctrl-C: CI runners cancel jobs with it (a deploy must take its canary down before exiting), and
    Kubernetes stops pods with it (an export worker gives its rows back at once, not after its lease)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        ctrl_c.mark_seen()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def quiet_control_echo(stream: Any = None) -> Iterator[None]:
    """While a live view is on screen, the terminal does not echo `^C` (termios ECHOCTL off; Ctrl-C still interrupts).

    The echo lands after the view's last line; when that line is as wide as the terminal, `^C` wraps onto a new
    line, and Rich, redrawing the view from one line too low, left the view's first line on screen for good.
    """
    import sys

    try:
        import termios
    except ImportError:  # not a POSIX terminal
        yield
        return
    try:
        fd = (stream or sys.stdin).fileno()
        saved = termios.tcgetattr(fd)
    except (termios.error, OSError, ValueError, AttributeError):  # stdin is no terminal (CI, pipes)
        yield
        return
    quiet = list(saved)
    quiet[3] &= ~termios.ECHOCTL
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)
