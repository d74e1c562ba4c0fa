"""store.ready against the embedded Postgres: a migrated database, a blank one, a dead server, no store."""

from __future__ import annotations

import socket

from fixtures.preflight import run_check

from magent.core.config import StoreSettings
from magent.services.store import open_store
from magent.services.store.migrations import MIGRATIONS


def test_migrated_store_passes(pg_url):
    open_store(StoreSettings(database_url=pg_url)).close()
    result = run_check("store.ready", settings={"store": {"database_url": pg_url}})
    assert result.status == "pass", result.message
    assert f"{len(MIGRATIONS)} migrations applied" in result.message


def test_blank_database_fails_with_the_command(pg_url):
    result = run_check("store.ready", settings={"store": {"database_url": pg_url}})
    assert result.status == "fail"
    assert f"{len(MIGRATIONS)} migrations pending" in result.message and "magent db migrate" in result.message
    assert len(result.findings) == len(MIGRATIONS)


def test_password_never_shown(pg_url):
    url = pg_url.replace("postgres:@", "postgres:Sup3rSecretPw@")
    assert url != pg_url
    result = run_check("store.ready", settings={"store": {"database_url": url}})
    assert "Sup3rSecretPw" not in result.message


def test_unreachable_database_is_an_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://u:pw1234567@127.0.0.1:{port}/db"
    result = run_check("store.ready", settings={"store": {"database_url": url}})
    assert result.status == "error"
    assert "cannot connect to Postgres" in result.message
    assert "pw1234567" not in result.message


def test_no_store_skips_without_starting_one(tmp_path):
    data_dir = tmp_path / "data"
    result = run_check("store.ready", settings={"store": {"data_dir": str(data_dir)}})
    assert result.status == "skip"
    assert "MAGENT_DATABASE_URL" in result.message
    assert not (data_dir / "postgres").exists()


def test_existing_embedded_store_is_checked(pg_server):
    result = run_check("store.ready", settings={"store": {"data_dir": str(pg_server.data_dir)}})
    assert result.status in ("pass", "fail"), result.message
    assert f"embedded Postgres at {pg_server.data_dir}" in result.message
