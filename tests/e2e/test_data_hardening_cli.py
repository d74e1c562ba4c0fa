"""Issue 9 §4 data paths through the real entry point: `db status` on a new data dir."""

from __future__ import annotations

import shutil

from fixtures.postgres import private_tmp_dir

from magent.services.store.embedded import stop_embedded


def test_db_status_on_a_new_data_dir_creates_nothing(cli):
    parent = private_tmp_dir("magent-test-status-")
    data_dir = parent / "new"
    try:
        result = cli("db", "status", "--data-dir", str(data_dir), "-o", "json")
        assert result.exit_code == 1
        assert f"no database at {data_dir}" in result.stderr and "Traceback" not in result.output
        assert not data_dir.exists()
    finally:
        if data_dir.exists():  # before the fix: a server was started there
            stop_embedded(data_dir)
        shutil.rmtree(parent, ignore_errors=True)
