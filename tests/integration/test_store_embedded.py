"""The embedded Postgres: started on demand in the data dir, Unix socket only, private, reused, never twice."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest
from fixtures.postgres import private_tmp_dir

from magent.core.config import StoreSettings
from magent.services.store import open_store
from magent.services.store.embedded import PGDATA_NAME, default_data_dir, running_uri, stop_embedded

START_IN_SUBPROCESS = textwrap.dedent("""
    import sys
    if sys.argv[2] == "no-pgserver":
        sys.modules["pgserver"] = None  # as if pgserver were not installed: initdb/pg_ctl from PATH
    from pathlib import Path
    from magent.services.store.embedded import ensure_running
    print(ensure_running(Path(sys.argv[1])))
""")


def start_in_subprocess(data_dir: Path, mode: str = "pgserver") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", START_IN_SUBPROCESS, str(data_dir), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def data_dir():
    parent = private_tmp_dir("magent-test-store-")
    directory = parent / "data"
    yield directory
    stop_embedded(directory)
    shutil.rmtree(parent, ignore_errors=True)


def postmaster_pid(directory: Path) -> int:
    return int((directory / PGDATA_NAME / "postmaster.pid").read_text().splitlines()[0])


def test_started_on_demand_private_and_socket_only(data_dir):
    store = open_store(StoreSettings(data_dir=str(data_dir)))
    assert store.description == f"embedded Postgres at {data_dir}"
    mode = stat.S_IMODE(data_dir.stat().st_mode)
    assert mode == (0o711 if os.geteuid() == 0 else 0o700)
    assert stat.S_IMODE((data_dir / PGDATA_NAME).stat().st_mode) == 0o700
    with store.connection() as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] >= 5
    assert "host=/" in store.conninfo  # a Unix socket directory, no TCP host


def test_reused_by_later_commands_and_stopped_cleanly(data_dir):
    first = open_store(StoreSettings(data_dir=str(data_dir)))
    pid = postmaster_pid(data_dir)
    again = start_in_subprocess(data_dir)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert out.strip() == first.conninfo and postmaster_pid(data_dir) == pid  # the same server
    assert stop_embedded(data_dir) is True
    assert running_uri(data_dir) is None and stop_embedded(data_dir) is False
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(first.conninfo, connect_timeout=2)


def test_two_processes_starting_at_once_share_one_server(data_dir):
    starters = [start_in_subprocess(data_dir) for _ in range(3)]
    results = [p.communicate(timeout=90) for p in starters]
    assert [p.returncode for p in starters] == [0, 0, 0], [r[1] for r in results]
    assert len({out.strip() for out, _ in results}) == 1
    postgres = subprocess.run(["pgrep", "-f", f"postgres.*-D {data_dir / PGDATA_NAME}"], capture_output=True,
                              text=True).stdout.split()
    assert len(postgres) == 1 and int(postgres[0]) == postmaster_pid(data_dir)


def test_falls_back_to_initdb_and_pg_ctl_on_path(data_dir):
    from conftest import require_tool

    require_tool("pg_ctl", "Postgres server binaries (apt install postgresql)")
    require_tool("initdb")
    starter = start_in_subprocess(data_dir, "no-pgserver")
    out, err = starter.communicate(timeout=90)
    assert starter.returncode == 0, err
    with psycopg.connect(out.strip()) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""
        version = conn.execute("SHOW server_version").fetchone()[0]
    pg_version = (data_dir / PGDATA_NAME / "PG_VERSION").read_text().strip()
    assert version.startswith(pg_version)


def test_default_data_dir_respects_xdg(monkeypatch, tmp_path):
    assert default_data_dir({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "magent"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_data_dir({}) == tmp_path / ".local" / "share" / "magent"
