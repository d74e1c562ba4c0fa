"""`magent conversations export` and `magent db …` through the real entry point."""

from __future__ import annotations

import json
import socket

import pytest
from fixtures.mistral import SIM_API_KEY

PASSWORD = "Sup3rS3cretPassw0rd"  # magent:allow (planted to prove masking)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def table_cells(text: str) -> dict[str, str]:
    """{first cell: second cell} of the rows of a Rich table."""
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in text.splitlines() if line.startswith("│")]
    return {row[0]: row[1] for row in rows if len(row) >= 2}


@pytest.fixture
def env(mistral_sim, pg_url):
    return {"MISTRAL_API_KEY": SIM_API_KEY, "MAGENT_MISTRAL_URL": mistral_sim.url, "MAGENT_DATABASE_URL": pg_url}


def test_export_to_postgres_then_again_incrementally(cli, env, mistral_sim):
    first = cli("conversations", "export", "-o", "json", env=env)
    assert first.exit_code == 0, first.stderr
    data = json.loads(first.stdout)
    total = len(mistral_sim.data.conversations)
    assert (data["status"], data["agents"], data["conversations"], data["failed"]) == ("succeeded", 3, total, 0)
    assert data["entries"] == sum(len(mistral_sim.data.history(c["id"])) for c in mistral_sim.data.conversations)
    assert data["target"].startswith("postgresql://postgres:***@/t_")  # an empty password is masked too
    assert f"exporting from {mistral_sim.url} to" in first.stderr
    second = cli("conversations", "export", env=env)
    assert second.exit_code == 0, second.stderr
    assert second.stdout.startswith(f"Export to {data['target']}")
    cells = table_cells(second.stdout)
    assert cells["conversations written"] == "0" and cells["skipped (unchanged or before --since)"] == str(total)
    assert cells["agents"] == "3" and cells["status"] == "succeeded"


def test_export_to_files(cli, env, tmp_path):
    jsonl = cli("conversations", "export", "--to", f"jsonl:{tmp_path / 'x.jsonl'}", "--redact-content", "-o", "json",
                env=env)
    assert jsonl.exit_code == 0, jsonl.stderr
    assert json.loads(jsonl.stdout)["target"] == f"JSON lines file {tmp_path / 'x.jsonl'}"
    assert (tmp_path / "x.jsonl").stat().st_size > 0
    csv_run = cli("conversations", "export", "--to", f"csv:{tmp_path / 'csv'}", env=env)
    assert csv_run.exit_code == 0, csv_run.stderr
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["agents.csv", "conversation_entries.csv",
                                                                   "conversations.csv"]


@pytest.mark.parametrize("args, message", [
    (["--to", "parquet:x"], "invalid --to 'parquet:x'"),
    (["--since", "2999-01-01"], "--since '2999-01-01' is in the future"),
    (["--since", "last tuesday"], "--since: invalid time 'last tuesday'"),
    (["--base-url", "ftp://example"], "is not an http(s) URL"),
    (["--key-from", "vault:x"], "unknown source 'vault'"),
])
def test_bad_input_is_exit_2(cli, env, args, message):
    result = cli("conversations", "export", *args, env=env)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    assert "\nHint: " in result.stderr  # every bad input says how to fix it


def test_missing_key_is_exit_2(cli, env, monkeypatch):
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    result = cli("conversations", "export", env={k: v for k, v in env.items() if k != "MISTRAL_API_KEY"})
    assert result.exit_code == 2 and "MISTRAL_API_KEY" in result.stderr


def test_refused_key_and_unreachable_api_are_exit_3(cli, env):
    refused = cli("conversations", "export", env={**env, "MISTRAL_API_KEY": "WrongKey0000000000000000000000000"})
    assert refused.exit_code == 3 and "refused the key" in refused.stderr
    down = cli("conversations", "export", "--base-url", f"http://127.0.0.1:{closed_port()}", env=env)
    assert down.exit_code == 3 and "cannot connect" in down.stderr


def test_unreachable_database_is_exit_3_with_host_and_no_password(cli, env):
    port = closed_port()
    url = f"postgresql://magent:{PASSWORD}@127.0.0.1:{port}/magent"
    for args in (["conversations", "export"], ["db", "status"], ["db", "migrate", "-o", "json"]):
        result = cli(*args, env={**env, "MAGENT_DATABASE_URL": url})
        assert result.exit_code == 3, result.output
        assert f"cannot connect to Postgres at 127.0.0.1:{port}" in result.stderr
        assert PASSWORD not in result.output
    flag = cli("--debug", "db", "status", "--database-url", url, env=env)
    assert flag.exit_code == 3 and PASSWORD not in flag.output and "Traceback" in flag.stderr


def test_db_status_and_migrate(cli, pg_url):
    pending = cli("db", "status", "-o", "json", env={"MAGENT_DATABASE_URL": pg_url})
    assert pending.exit_code == 1
    data = json.loads(pending.stdout)
    assert data["embedded"] is False and data["applied"] == 0 and data["pending"][0] == "0001_initial"
    migrated = cli("db", "migrate", env={"MAGENT_DATABASE_URL": pg_url})
    assert migrated.exit_code == 0
    assert "0005_deployments" in migrated.stdout and "up to date" in migrated.stdout
    assert "applied now: 0001_initial" in migrated.stdout
    status = cli("db", "status", "-o", "yaml", env={"MAGENT_DATABASE_URL": pg_url})
    assert status.exit_code == 0 and "pending: []" in status.stdout


def test_db_status_names_a_masked_url(cli, pg_url):
    with_password = pg_url.replace("postgres:@", f"postgres:{PASSWORD}@")
    result = cli("db", "status", "-o", "json", env={"MAGENT_DATABASE_URL": with_password})
    assert result.exit_code == 1  # reachable (trust auth ignores the password), nothing applied yet
    assert json.loads(result.stdout)["database"].startswith("postgresql://postgres:***@/t_")
    assert PASSWORD not in result.output


def test_embedded_database_in_the_data_dir(cli, monkeypatch):
    from fixtures.postgres import private_tmp_dir

    from magent.services.store.embedded import stop_embedded

    data_dir = private_tmp_dir("magent-test-cli-") / "data"
    try:
        result = cli("db", "migrate", "--data-dir", str(data_dir), "-o", "json")
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["database"] == f"embedded Postgres at {data_dir}" and data["embedded"] is True
        stopped = cli("db", "stop", "--data-dir", str(data_dir))
        assert stopped.stdout.strip() == f"stopped the embedded Postgres at {data_dir}"
    finally:
        stop_embedded(data_dir)
