"""Start, inspect and stop the background sandbox of a directory (`magent sandbox up / status / down`).

Never prints: returns plain data for the CLI to render, raises MagentError when something goes wrong.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from magent.core.errors import Unreachable
from magent.sandbox import daemon

START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0
_POLL_S = 0.1


@dataclass(frozen=True)
class Started:
    state: dict[str, Any]
    already_running: bool
    replaced_stale: bool = False


def up(root: Path, *, timeout: float = START_TIMEOUT_S, debug: bool = False) -> Started:
    """Start the sandbox in `root`, or return the one already running there."""
    root = daemon.prepare_dir(root)
    with daemon.locked(root):
        state = daemon.read_state(root)
        if state is not None and daemon.pid_alive(state["pid"]):
            return Started(state, already_running=True)
        stale = state is not None
        if stale:
            _clean_up(root, state)
        process = _spawn(root, debug)
        try:
            state = _wait_until_ready(root, process, timeout)
        except BaseException:
            _kill_group(process.pid)
            _clean_up(root, daemon.read_state(root) or {})
            raise
    return Started(state, already_running=False, replaced_stale=stale)


def _spawn(root: Path, debug: bool) -> subprocess.Popen:
    """`magent sandbox serve` in a session of its own: the shell's Ctrl-C and hang-up do not reach it."""
    log = root / daemon.LOG_FILE
    with open(log, "wb") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "magent", *(["--debug"] if debug else []), "sandbox", "serve", "--dir", str(root)],
            stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT, cwd=root,
            start_new_session=True, env={**os.environ, "NO_COLOR": "1"},
        )


def _wait_until_ready(root: Path, process: subprocess.Popen, timeout: float) -> dict[str, Any]:
    log = root / daemon.LOG_FILE
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = daemon.read_state(root)
        if state is not None and state.get("pid") == process.pid:
            return state
        if process.poll() is not None:
            raise Unreachable(f"the sandbox stopped while starting (exit {process.returncode}): {_last_line(log)}",
                              hint=f"see {log}")
        time.sleep(_POLL_S)
    raise Unreachable(f"the sandbox did not start within {timeout:.0f} s", hint=f"see {log}")


def _last_line(log: Path) -> str:
    """The reason in the log: its (last) `Error:` line, else its last line."""
    with contextlib.suppress(OSError):
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
        errors = [line.removeprefix("Error:").strip() for line in lines if line.startswith("Error:")]
        if errors or lines:
            return (errors or lines)[-1]
    return "no output"


@dataclass(frozen=True)
class Stopped:
    was: str  # "running", "stale" or "absent"
    pid: int | None = None
    killed: bool = False  # it did not stop on SIGTERM in time


def down(root: Path, *, timeout: float = STOP_TIMEOUT_S) -> Stopped:
    """Stop the sandbox of `root` (SIGTERM, then SIGKILL after `timeout`) and everything it started."""
    root = daemon.prepare_dir(root)
    with daemon.locked(root):
        state = daemon.read_state(root)
        if state is None:
            return Stopped("absent")
        pid = state["pid"]
        if not daemon.pid_alive(pid):
            _clean_up(root, state)
            return Stopped("stale", pid or None)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        killed = not _wait_gone(pid, timeout)
        if killed:
            _kill_group(pid)
        _clean_up(root, state)
        return Stopped("running", pid, killed)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while daemon.pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(_POLL_S)
    return True


def _kill_group(pid: int) -> None:
    """SIGKILL the sandbox's whole session (its Prometheus included); Postgres is stopped by `_clean_up`."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    _wait_gone(pid, 5.0)


def _clean_up(root: Path, state: dict[str, Any]) -> None:
    """What a sandbox that died without cleaning up leaves: children, a running Postgres, the state file."""
    from magent.services.store.embedded import stop_embedded

    for child in state.get("child_pids") or []:
        if isinstance(child, int) and daemon.pid_alive(child, marker="prometheus"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
    if (root / daemon.DATA_DIR).is_dir():
        stop_embedded(root / daemon.DATA_DIR)
    daemon.remove_state(root)


def status(root: Path) -> dict[str, Any]:
    """`running` (every component answers), `degraded`, `stale` (its process is gone) or `not running`."""
    root = root.expanduser().resolve()
    state = daemon.read_state(root) if root.is_dir() else None
    if state is None:
        return {"state": "not running", "dir": str(root), "pid": None, "components": []}
    report = {"dir": str(root), "pid": state["pid"] or None, "started_at": state.get("started_at"),
              "uptime_s": _uptime(state.get("started_at")), "log": state.get("log")}
    if not daemon.pid_alive(state["pid"]):
        return {"state": "stale", **report, "components": []}
    from magent.sandbox.probes import probe_all

    components = probe_all(state)
    healthy = all(c["healthy"] for c in components if c["url"])
    return {"state": "running" if healthy else "degraded", **report, "components": components}


def _uptime(started_at: Any) -> float | None:
    from datetime import datetime

    from magent.core.timeutil import utcnow

    try:
        return round((utcnow() - datetime.fromisoformat(str(started_at).replace("Z", "+00:00"))).total_seconds(), 1)
    except ValueError:
        return None
