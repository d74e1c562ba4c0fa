"""`usage report --by conversation` streams: its memory does not grow with the number of conversations."""

from __future__ import annotations

import csv
import io
import sys
import tracemalloc

import pytest

CONVERSATIONS = 10_000

# One model output per conversation, in the last day, half of them with a name; 3 models, one unpriced.
LOAD_SQL = """
INSERT INTO conversations (id, agent_id, model, name, created_at, updated_at)
SELECT 'conv_' || lpad(c::text, 6, '0'), NULL, 'codestral-2508', CASE WHEN c %% 2 = 0 THEN 'Name ' || c END,
       now() - interval '2 hours', now() - interval '2 hours'
  FROM generate_series(1, %(n)s) AS c;
INSERT INTO conversation_entries (id, conversation_id, position, type, role, content, token_count,
                                  token_count_method, prompt_tokens, created_at, agent_id, model)
SELECT 'e' || c, 'conv_' || lpad(c::text, 6, '0'), 1, 'message.output', 'assistant', 'x', 100 + c %% 50, 'counted',
       1000 + c, now() - interval '2 hours', NULL, (ARRAY['codestral-2508', 'mistral-large-2512', 'my-finetune'])[1 + c %% 3]
  FROM generate_series(1, %(n)s) AS c;
"""


@pytest.fixture(scope="module")
def many_conversations_url(pg_server):
    from magent.core.config import StoreSettings
    from magent.services.store import open_store
    from magent.services.store.rollup import rebuild_usage_daily

    name = pg_server.create_database()
    store = open_store(StoreSettings(database_url=pg_server.url(name)))
    with store.connection() as conn:
        for statement in LOAD_SQL.split(";")[:2]:
            conn.execute(statement, {"n": CONVERSATIONS})
        rebuild_usage_daily(conn)  # the rollups as the export leaves them (the report reads them)
    store.close()
    yield pg_server.url(name)
    pg_server.drop_database(name)


def run_traced(args: list[str], url: str, out_path, monkeypatch) -> tuple[int, str, int]:
    """(exit code, stdout, peak bytes Python allocated): stdout goes to a file, so it is not in the count."""
    from magent.cli.app import main

    monkeypatch.setenv("MAGENT_DATABASE_URL", url)
    monkeypatch.setattr(sys, "argv", ["magent", *args])
    code = 0
    with open(out_path, "w", encoding="utf-8") as out:
        monkeypatch.setattr(sys, "stdout", out)
        tracemalloc.start()
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        finally:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            monkeypatch.setattr(sys, "stdout", sys.__stdout__)
    return code, out_path.read_text(encoding="utf-8"), peak


@pytest.mark.parametrize("output", ["csv", "table"])
def test_report_by_conversation_streams_in_bounded_memory(many_conversations_url, output, tmp_path, monkeypatch):
    code, stdout, peak = run_traced(["usage", "report", "--since", "1d", "--by", "conversation", "-o", output],
                                    many_conversations_url, tmp_path / "out", monkeypatch)
    assert code == 0
    if output == "csv":
        rows = list(csv.DictReader(io.StringIO(stdout)))
        assert len(rows) == CONVERSATIONS and rows[0]["conversation_id"] == "conv_000001"
        assert {row["pricing"] for row in rows} == {"priced", "unpriced"}
    else:  # piped: every conversation, none cut, the totals last
        lines = stdout.splitlines()
        assert sum(line.startswith("│ conv_") or line.startswith("│ Name") for line in lines) == CONVERSATIONS
        assert any("Name 10000 (conv_010000)" in line for line in lines)
        assert "…" not in stdout and f"{CONVERSATIONS:,}" in stdout
    # Before streaming: 20.5 MB (csv) and 55.9 MB (table) here, growing with the conversations; now ~10 MB, most
    # of it the modules the command imports.
    assert peak < 15 * 2**20, f"peak {peak / 2**20:.1f} MB"
