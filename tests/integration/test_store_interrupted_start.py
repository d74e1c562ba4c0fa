"""A first start of the embedded Postgres killed half-way (kill -9 while initdb runs) does not block later runs:
the next start stops the orphaned initdb, removes the half-made data directory (it never held data), says so in
one line, and starts a server."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from fixtures.postgres import private_tmp_dir

from magent.services.store.embedded import PGDATA_NAME, ensure_running, stop_embedded

FIRST_START = "import sys; from pathlib import Path; from magent.services.store.embedded import ensure_running; " \
              "ensure_running(Path(sys.argv[1]))"


@pytest.fixture
def data_dir():
    parent = private_tmp_dir("magent-test-interrupted-")
    directory = parent / "data"
    yield directory
    server = running_pid(directory / PGDATA_NAME)
    if server:  # immediate shutdown: the cluster is thrown away, no checkpoint needed
        os.kill(server, signal.SIGQUIT)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{server}").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    shutil.rmtree(parent, ignore_errors=True)


def running_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def initdb_pids(pgdata: Path) -> list[int]:
    found = subprocess.run(["pgrep", "-f", f"initdb -D {pgdata}( |$)"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def kill_first_start_mid_initdb(data_dir: Path, *, whole_group: bool) -> None:
    """Start a first start in a subprocess and SIGKILL it once initdb has begun writing the cluster.
    `whole_group`: initdb dies too (a killed terminal, a CI runner's cgroup) instead of living on as an orphan."""
    starter = subprocess.Popen([sys.executable, "-c", FIRST_START, str(data_dir)], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    begun = data_dir / PGDATA_NAME / "global"  # one of the first directories initdb makes
    deadline = time.monotonic() + 30
    while not begun.exists():
        assert starter.poll() is None and time.monotonic() < deadline, "initdb never began"
        time.sleep(0.005)
    if whole_group:
        os.killpg(starter.pid, signal.SIGKILL)
    else:
        starter.kill()
    starter.wait()


def assert_started_after_cleaning(data_dir: Path, caplog) -> str:
    with caplog.at_level(logging.WARNING, logger="magent.services.store"):
        uri = ensure_running(data_dir)
    with psycopg.connect(uri, connect_timeout=5) as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = 'postgres'").fetchone()[0] == 1
    notes = [r.getMessage() for r in caplog.records if r.name.startswith("magent.services.store")]
    assert len(notes) == 1 and "\n" not in notes[0], notes
    assert "interrupted" in notes[0] and str(data_dir / PGDATA_NAME) in notes[0], notes
    assert initdb_pids(data_dir / PGDATA_NAME) == []
    return notes[0]


def test_orphaned_initdb_is_stopped_and_its_half_made_cluster_removed(data_dir, caplog):
    kill_first_start_mid_initdb(data_dir, whole_group=False)
    assert initdb_pids(data_dir / PGDATA_NAME), "the orphaned initdb should still be running"
    assert "initdb (pid" in assert_started_after_cleaning(data_dir, caplog)


def test_half_made_cluster_of_a_killed_initdb_is_removed_then_a_dead_servers_pid_file_ignored(data_dir, caplog):
    kill_first_start_mid_initdb(data_dir, whole_group=True)
    deadline = time.monotonic() + 5
    while initdb_pids(data_dir / PGDATA_NAME) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert_started_after_cleaning(data_dir, caplog)

    # A server killed while it started leaves a postmaster.pid without its status line (pgserver's parser
    # asserted on it, and the message showed pgserver's internals).
    pgdata = data_dir / PGDATA_NAME
    stop_embedded(data_dir)
    dead = subprocess.Popen(["true"])
    dead.wait()
    lines = [str(dead.pid), str(pgdata), str(int(time.time())), "5432", str(pgdata), "", "  1234  5678"]
    (pgdata / "postmaster.pid").write_text("\n".join(lines) + "\n")
    with psycopg.connect(ensure_running(data_dir), connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
