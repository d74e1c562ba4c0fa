"""The background sandbox process and its state file.

`magent sandbox up` starts `python -m magent sandbox serve --dir DIR` in a session of its own; `serve` runs the
whole `SandboxStack` (simulators, moto, Prometheus, embedded Postgres), writes DIR/sandbox.json once every
component answers, and stays until SIGTERM or SIGINT, when it stops everything (Postgres and Prometheus too)
and removes the file. The file is the only contract between the two processes:

    {"pid": 4242, "started_at": "…Z", "dir": "…", "log": "…/sandbox.log",
     "env": {"KUBECONFIG": "…", "MAGENT_MISTRAL_URL": "…", "MISTRAL_API_KEY": "<the simulator's own key>", …},
     "components": [{"name": "mistral", "url": "http://127.0.0.1:…", "note": "…"}, …], "child_pids": [4250]}
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from magent.core.errors import ConfigError

STATE_FILE = "sandbox.json"
LOG_FILE = "sandbox.log"
LOCK_FILE = "sandbox.lock"
DATA_DIR = "data"
# What a sandbox process's command line contains: a reused pid that does not is not ours.
PROCESS_MARKER = "sandbox"


class Stop(BaseException):
    """Raised in the main thread by SIGTERM/SIGINT, so that the stack unwinds (BaseException: nothing swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.at = time.monotonic()


def default_dir(env: dict[str, str] | None = None) -> Path:
    """`$XDG_STATE_HOME/magent/sandbox`, else `~/.local/state/magent/sandbox`."""
    env = dict(os.environ) if env is None else env
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base).expanduser() / "magent" / "sandbox"


def prepare_dir(root: Path) -> Path:
    """The sandbox directory, created private (it holds the simulator's key and a kubeconfig token)."""
    root = root.expanduser().resolve()
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        tighten(root)
    except OSError as exc:
        raise ConfigError(f"cannot use {root} for the sandbox: {exc.strerror}",
                          hint="pass --dir (or set MAGENT_SANDBOX_DIR) to a writable directory") from None
    return root


def tighten(root: Path) -> None:
    """0700; as root 0711, since Postgres then runs as a system user that must traverse it (pgserver opens it up)."""
    root.chmod(0o711 if os.geteuid() == 0 else 0o700)


def serve(root: Path, on_ready: Callable[[dict[str, Any]], None] | None = None) -> int:
    """Run the stack in `root` until SIGTERM/SIGINT; returns the signal that stopped it."""
    from magent.sandbox.stack import SandboxStack

    stopping = threading.Event()
    _stop_on_signals(stopping)
    try:
        with SandboxStack(root, aws=True, prometheus=True, postgres=True, ecs=True) as stack:
            tighten(root)
            state = _state(root, stack)
            write_state(root, state)
            try:
                if on_ready:
                    on_ready(state)
                while True:
                    stopping.wait(3600)
            finally:
                _remove_own_state(root)
    except Stop as stop:
        # `down` waits --timeout (20 s) for this: the log says how long stopping took, to see what nears it
        print(f"stopped everything in {time.monotonic() - stop.at:.1f} s", file=sys.stderr, flush=True)
        return stop.signum


def _stop_on_signals(stopping: threading.Event) -> None:
    def handler(signum: int, frame: object) -> None:
        # Once: a second signal must not interrupt the cleanup (SIGKILL still works).
        for other in (signal.SIGTERM, signal.SIGINT):
            signal.signal(other, signal.SIG_IGN)
        stopping.set()
        raise Stop(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)


def _state(root: Path, stack: Any) -> dict[str, Any]:
    from magent.core.timeutil import isoformat, utcnow

    return {"pid": os.getpid(), "started_at": isoformat(utcnow()), "dir": str(root), "log": str(root / LOG_FILE),
            "env": {**stack.env, "MAGENT_SANDBOX_DIR": str(root)},  # so that `status` / `down` find it there
            "components": list(stack.components), "child_pids": list(stack.child_pids)}


def write_state(root: Path, state: dict[str, Any]) -> None:
    """Atomically (a reader never sees half a file), readable by the user alone."""
    temporary = root / f".{STATE_FILE}.{os.getpid()}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(state, handle, indent=2)
    os.replace(temporary, root / STATE_FILE)


def read_state(root: Path) -> dict[str, Any] | None:
    """The state file, or None when there is none; an unreadable or foreign file reads as a dead sandbox (pid 0)."""
    try:
        state = json.loads((root / STATE_FILE).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):  # ValueError: not JSON, or not UTF-8
        state = {}
    if not isinstance(state, dict):
        state = {}
    shapes = {"pid": (int, 0), "env": (dict, {}), "components": (list, []), "child_pids": (list, [])}
    for name, (kind, empty) in shapes.items():
        if not isinstance(state.get(name), kind) or isinstance(state.get(name), bool):
            state[name] = empty
    state["pid"] = max(state["pid"], 0)
    return state


def remove_state(root: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (root / STATE_FILE).unlink()


def _remove_own_state(root: Path) -> None:
    state = read_state(root)
    if state is not None and state.get("pid") == os.getpid():
        remove_state(root)


def pid_alive(pid: int, marker: str = PROCESS_MARKER) -> bool:
    """Is `pid` a live process (not a zombie) whose command line contains `marker`?"""
    if pid <= 0:
        return False
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child that exited: reap it
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    proc = Path(f"/proc/{pid}")
    if not proc.is_dir():  # no /proc (macOS): trust the pid
        return True
    try:
        zombie = proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        command = proc.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError):
        return False
    return not zombie and marker in command


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """Serialise `up` and `down` on one directory (two `up` at once must not start two sandboxes)."""
    import fcntl

    with open(root / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
