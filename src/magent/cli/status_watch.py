"""`magent status --watch`: poll the Deployment's status until its deploy ends (see core/status_watch)."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from magent.cli.state import AppState, OutputFormat
from magent.core.errors import CheckFailed, InconsistentState, Interrupted
from magent.core.redact import SECRETS
from magent.core.status_watch import WatchEnd, holder_gone, watch_end, watch_line
from magent.core.timeutil import human_duration, isoformat, utcnow

POLL_INTERVAL_S = 1.0


def follow(state: AppState, fmt: OutputFormat, poll: Callable[[], dict[str, Any]], *,
           table: Callable[[dict[str, Any]], Any], timeout_s: float | None) -> None:
    """Refresh until the deploy ends; the outcome's exit code (0 promoted, 1 aborted, 4 unfinished or timed out)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    live = fmt is OutputFormat.table and _is_terminal(sys.stdout)
    shown, gone = None, False
    try:
        with _live_view(state, live) as view:
            while True:
                data = poll()
                line = watch_line(data)
                if view is not None:
                    view.update(table(data))
                elif line != shown:
                    _print_change(fmt, data, line)
                shown = line
                end = watch_end(data, holder_gone_before=gone)
                if end is not None:
                    break
                gone = bool(data.get("deploy")) and holder_gone(data)
                if deadline is not None and time.monotonic() >= deadline:
                    raise InconsistentState(f"still in progress after {human_duration(timeout_s)}: {line}",
                                            hint="the deploy goes on; watch again, or `magent rollback` to stop it")
                time.sleep(POLL_INTERVAL_S if deadline is None else
                           max(0.0, min(POLL_INTERVAL_S, deadline - time.monotonic())))
    except KeyboardInterrupt:
        # only the watching stops: say so, and what the deploy is doing, rather than a bare "interrupted"
        raise Interrupted("stopped watching" + (f"; last seen: {shown}" if shown else ""),
                          hint="the deploy goes on by itself: `magent status --watch` follows it again, "
                               "`magent rollback` stops it") from None
    _finish(state, end)


def _finish(state: AppState, end: WatchEnd) -> None:
    if end.exit_code == 0:
        state.err.print(SECRETS.mask(end.message), markup=False, highlight=False)
        return
    error = CheckFailed if end.exit_code == CheckFailed.exit_code else InconsistentState
    raise error(end.message, hint=None if error is CheckFailed else
                "`magent deploy --resume` continues it, `magent rollback` aborts it")


def _print_change(fmt: OutputFormat, data: dict[str, Any], line: str) -> None:
    if fmt is OutputFormat.json:
        text = json.dumps({"at": isoformat(utcnow()), **data}, default=str, ensure_ascii=False)
    elif fmt is OutputFormat.yaml:
        import yaml

        text = "---\n" + yaml.safe_dump({"at": isoformat(utcnow()), **json.loads(json.dumps(data, default=str))},
                                        sort_keys=False, allow_unicode=True).rstrip()
    else:
        text = f"{isoformat(utcnow())} {line}"
    print(SECRETS.mask(text), flush=True)  # a pipe sees each change as it happens


@contextlib.contextmanager
def _live_view(state: AppState, live: bool):
    if not live:
        yield None
        return
    from rich.live import Live

    from magent.cli.interrupts import quiet_control_echo

    with quiet_control_echo(), Live(console=state.out, auto_refresh=False, transient=False) as view:
        yield _Refreshing(view)


class _Refreshing:
    def __init__(self, view: Any) -> None:
        self._view = view

    def update(self, renderable: Any) -> None:
        self._view.update(renderable, refresh=True)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
