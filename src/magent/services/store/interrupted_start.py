"""What a killed start of the embedded Postgres leaves behind, cleared before the next start.

A kill -9 during the first start leaves initdb running as an orphan (it goes on writing the cluster while the
next run finds the directory "not empty"), or, when the whole process group died, a half-made cluster that no
server can start. A server killed while it started leaves a postmaster.pid without its status line, which
pgserver cannot parse. Callers hold the data directory's lock, so no live magent is starting this server:
whatever is found here was left by a process that died.

A first start is recorded by a marker next to the cluster, written before initdb and removed once a server
answers; a cluster with the marker and no server never held data, so removing it loses nothing.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

MARKER_SUFFIX = ".first-start"  # `<data dir>/postgres.first-start`
_STOP_GRACE_S = 3.0  # initdb leaves on SIGTERM at its next step; then SIGKILL
_SERVER_READY_WAIT_S = 15.0  # a server whose start was interrupted finishes starting on its own

logger = logging.getLogger(__name__)


def marker_path(pgdata: Path) -> Path:
    return pgdata.with_name(pgdata.name + MARKER_SUFFIX)


def begin_first_start(pgdata: Path) -> None:
    """Record that the cluster is about to be made (call with the data directory's lock held)."""
    if not (pgdata / "PG_VERSION").exists():
        marker_path(pgdata).touch(mode=0o600)


def first_start_done(pgdata: Path) -> None:
    marker_path(pgdata).unlink(missing_ok=True)


def clear_interrupted_start(pgdata: Path) -> None:
    """Stop an orphaned initdb and remove the cluster of an unfinished first start (saying so in one line), and
    drop a postmaster.pid whose server is dead."""
    unfinished = _first_start_unfinished(pgdata)
    # the process table is read only when something is amiss (a start that reuses a server stays cheap)
    suspicious = unfinished or not (pgdata / "PG_VERSION").exists() or _standalone_backend(pgdata) is not None
    orphans = initdb_processes(pgdata) if suspicious else []
    if not orphans and not unfinished:
        _settle_pid_file(pgdata)
        return
    if not orphans and _server_pid(pgdata) is not None:  # the first start got as far as a running server
        first_start_done(pgdata)
        _settle_pid_file(pgdata)
        return
    backend = _standalone_backend(pgdata)  # initdb's own `postgres --boot/--single`, pid negated in the pid file
    _stop([*orphans, *([backend] if backend else [])])
    shutil.rmtree(pgdata, ignore_errors=True)
    first_start_done(pgdata)
    stopped = f"its initdb (pid {', '.join(map(str, orphans))}) was still running and is stopped; " if orphans else ""
    logger.warning("the first start of the embedded Postgres in %s was interrupted: %sthe unfinished cluster held no "
                   "data and is removed; initialising it again", pgdata, stopped)


def initdb_processes(pgdata: Path) -> list[int]:
    """Pids of initdb processes writing `pgdata`."""
    target = str(pgdata)
    found = []
    for pid, argv in _processes():
        if argv and Path(argv[0]).name == "initdb" and (
                any(flag in ("-D", "--pgdata") and value == target for flag, value in zip(argv, argv[1:]))
                or f"--pgdata={target}" in argv):
            found.append(pid)
    return found


def _first_start_unfinished(pgdata: Path) -> bool:
    """The marker of a first start that never answered, or files with no PG_VERSION (initdb of a magent that wrote
    no marker; initdb itself refuses a non-empty directory)."""
    if marker_path(pgdata).exists():
        return True
    return pgdata.is_dir() and not (pgdata / "PG_VERSION").exists() and any(pgdata.iterdir())


def _settle_pid_file(pgdata: Path) -> None:
    """Remove a postmaster.pid of a dead server; wait (bounded) for a live one that is still starting."""
    pid_file = pgdata / "postmaster.pid"
    deadline = time.monotonic() + _SERVER_READY_WAIT_S
    while True:
        lines = _pid_file_lines(pgdata)
        if lines is None:
            return
        pid = _pid(lines)
        if pid is None or not _alive(abs(pid)):
            pid_file.unlink(missing_ok=True)  # what Postgres itself does with a lock file of a dead process
            return
        if pid < 0 or (len(lines) >= 8 and lines[7].strip() == "ready") or time.monotonic() > deadline:
            return  # a standalone backend or a ready server: not ours to touch
        time.sleep(0.1)


def _server_pid(pgdata: Path) -> int | None:
    lines = _pid_file_lines(pgdata)
    pid = _pid(lines) if lines else None
    return pid if pid is not None and pid > 0 and _alive(pid) else None


def _standalone_backend(pgdata: Path) -> int | None:
    lines = _pid_file_lines(pgdata)
    pid = _pid(lines) if lines else None
    return -pid if pid is not None and pid < 0 and _alive(-pid) else None


def _pid_file_lines(pgdata: Path) -> list[str] | None:
    try:
        return (pgdata / "postmaster.pid").read_text(errors="replace").splitlines()
    except OSError:
        return None


def _pid(lines: list[str]) -> int | None:
    first = lines[0].strip() if lines else ""
    return int(first) if first.lstrip("-").isdigit() and first.lstrip("-") != "0" else None


def _stop(pids: list[int]) -> None:
    for sig, grace in ((signal.SIGTERM, _STOP_GRACE_S), (signal.SIGKILL, _STOP_GRACE_S)):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.02)
        if not any(_alive(pid) for pid in pids):
            return


def _alive(pid: int) -> bool:
    """Running (a zombie is not: its parent is gone and nobody may reap it soon)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): os.kill said it exists
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _processes() -> Iterator[tuple[int, list[str]]]:
    """(pid, argv) of every process visible: /proc on Linux, else psutil (installed with pgserver)."""
    proc = Path("/proc")
    if (proc / "self" / "cmdline").exists():
        for entry in proc.iterdir():
            if entry.name.isdigit():
                try:
                    argv = (entry / "cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                yield int(entry.name), [arg.decode(errors="replace") for arg in argv if arg]
        return
    try:
        import psutil
    except ImportError:
        return
    for process in psutil.process_iter(attrs=["pid", "cmdline"]):
        yield process.info["pid"], list(process.info["cmdline"] or [])
