"""Exports against the real simulator and the real embedded Postgres: exact copies, faults, re-runs, files."""

from __future__ import annotations

import csv
import json
import time
from typing import Any

import pytest
from fixtures.mistral import SIM_API_KEY

from magent.core.export_plan import CONTENT_FIELD, entry_from_row, parse_time
from magent.sandbox.mistral import FaultConfig
from magent.services.mistral.conversations import open_source
from magent.services.store.rollup import rollup_drift
from magent.workflows.export.runner import ExportOptions, run_export
from magent.workflows.export.sinks import CsvSink, JsonlSink, PostgresSink

TIME_KEYS = ("created_at", "updated_at", "completed_at")


def export(sim, sink, **options: Any):
    source, client = open_source(sim.url, SIM_API_KEY, rate_per_minute=options.pop("rate", None), max_retry_s=60)
    with client:
        return run_export(source, sink, ExportOptions(**options))


def api_shape(obj: dict[str, Any]) -> dict[str, Any]:
    """An API object as the database can hold it: no `object`, no nulls, timestamps as datetimes."""
    shaped = {k: v for k, v in obj.items() if k != "object" and v is not None}
    for key in TIME_KEYS:
        if key in shaped:
            shaped[key] = parse_time(shaped[key])
    return shaped


def from_columns(row: dict[str, Any]) -> dict[str, Any]:
    """An agent or conversation row back in API shape (columns + `extra`)."""
    merged = {**{k: v for k, v in row.items() if k != "extra"}, **(row["extra"] or {})}
    return {k: v for k, v in merged.items() if v is not None}


def fetch_dicts(conn, sql: str) -> list[dict[str, Any]]:
    cursor = conn.execute(sql)
    names = [column.name for column in cursor.description]
    return [dict(zip(names, values)) for values in cursor.fetchall()]


def assert_store_equals_simulator(store, sim) -> None:
    with store.connection() as conn:
        agents = {row["id"]: from_columns(row) for row in fetch_dicts(conn, "SELECT * FROM agents")}
        conversations = {row["id"]: from_columns(row) for row in fetch_dicts(conn, "SELECT * FROM conversations")}
        entries = fetch_dicts(conn, "SELECT * FROM conversation_entries ORDER BY conversation_id, position")
        assert rollup_drift(conn) == []
    assert agents == {a["id"]: api_shape(a) for a in sim.data.agents}
    assert conversations == {c["id"]: api_shape(c) for c in sim.data.conversations}
    by_conversation: dict[str, list[dict[str, Any]]] = {}
    for row in entries:
        by_conversation.setdefault(row["conversation_id"], []).append(row)
    assert set(by_conversation) == {c["id"] for c in sim.data.conversations if sim.data.history(c["id"])}
    for conversation in sim.data.conversations:
        history = sim.data.history(conversation["id"])
        rows = by_conversation.get(conversation["id"], [])
        assert [row["position"] for row in rows] == list(range(len(history)))
        for entry, row in zip(history, rows):
            expected = api_shape(entry)
            rebuilt = entry_from_row(row)
            for filled in ("agent_id", "model"):  # filled from the conversation when the entry has none
                assert rebuilt.pop(filled, None) == expected.pop(filled, rebuilt.get(filled, row[filled]))
            assert rebuilt == expected
            assert row["token_count_method"] == "counted" and row["token_count"] >= 0


def test_export_equals_the_simulator_and_rerunning_changes_nothing(make_mistral_sim, store):
    sim = make_mistral_sim(agents=4, conversations=40, seed=11)
    first = export(sim, PostgresSink(store))
    assert (first.status, first.agents, first.conversations, first.failed) == ("succeeded", 4, 40, 0)
    assert first.entries == sum(len(sim.data.history(c["id"])) for c in sim.data.conversations)
    types = {e["type"] for c in sim.data.conversations for e in sim.data.history(c["id"])}
    assert types == set(CONTENT_FIELD) | {"agent.handoff"}  # all six entry types were exported
    assert_store_equals_simulator(store, sim)
    with store.connection() as conn:
        snapshot = conn.execute("SELECT xmin::text, id FROM conversation_entries ORDER BY id").fetchall()
    again = export(sim, PostgresSink(store))
    assert (again.conversations, again.skipped, again.rows_changed) == (0, 40, 0)
    full = export(sim, PostgresSink(store), full=True)
    assert (full.conversations, full.rows_changed) == (40, 0)
    with store.connection() as conn:
        assert conn.execute("SELECT xmin::text, id FROM conversation_entries ORDER BY id").fetchall() == snapshot
        runs = conn.execute("SELECT status, conversations, skipped FROM export_runs ORDER BY id").fetchall()
    assert runs == [("succeeded", 40, 0), ("succeeded", 0, 40), ("succeeded", 40, 0)]


def test_export_is_exact_despite_5xx_429_and_connection_resets(make_mistral_sim, store):
    faults = FaultConfig(error_rate=0.10, rate_limit_rate=0.05, reset_rate=0.03, retry_after_s=1)
    sim = make_mistral_sim(agents=3, conversations=40, seed=12, faults=faults)
    summary = export(sim, PostgresSink(store), concurrency=8)
    assert (summary.status, summary.failed) == ("succeeded", 0)
    # faults were injected and retried; every request is counted, retries included
    assert summary.retries >= summary.refused > 0 and summary.requests == sim.request_count
    assert_store_equals_simulator(store, sim)


def test_incremental_export_picks_up_new_and_updated_conversations(make_mistral_sim, store):
    from mistralai.client import Mistral

    sim = make_mistral_sim(agents=2, conversations=15, seed=13)
    export(sim, PostgresSink(store))
    client = Mistral(api_key=SIM_API_KEY, server_url=sim.url)
    existing = sim.data.conversations[-1]["id"]
    client.beta.conversations.append(conversation_id=existing, inputs="one more question")
    client.beta.conversations.start(model="mistral-small-2506", inputs="a brand new conversation")
    summary = export(sim, PostgresSink(store))
    assert (summary.conversations, summary.skipped) == (2, 14)  # 16 listed: one updated, one new
    assert_store_equals_simulator(store, sim)


def test_since_limits_by_update_time(make_mistral_sim, store):
    sim = make_mistral_sim(agents=2, conversations=20, seed=14)
    stamps = sorted(parse_time(c["updated_at"]) for c in sim.data.conversations)
    summary = export(sim, PostgresSink(store), since=stamps[12])
    assert (summary.conversations, summary.skipped) == (8, 12)
    with store.connection() as conn:
        oldest = conn.execute("SELECT min(updated_at) FROM conversations").fetchone()[0]
    assert oldest == stamps[12]


def test_a_fixed_rate_paces_requests(make_mistral_sim, store):
    sim = make_mistral_sim(agents=1, conversations=10, seed=15)
    started = time.monotonic()
    summary = export(sim, PostgresSink(store), rate=600, concurrency=8)  # 10 requests/s
    assert summary.requests == 12 and time.monotonic() - started >= (summary.requests - 1) / 10


def test_jsonl_and_csv_hold_the_same_rows_and_are_rewritten_identically(make_mistral_sim, tmp_path):
    sim = make_mistral_sim(agents=2, conversations=12, seed=16)
    jsonl, csv_dir = tmp_path / "out.jsonl", tmp_path / "csv"
    summary = export(sim, JsonlSink(str(jsonl)))
    export(sim, CsvSink(str(csv_dir)))
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    counts = {table: sum(1 for r in records if r["table"] == table)
              for table in ("agents", "conversations", "conversation_entries")}
    assert counts == {"agents": 2, "conversations": 12, "conversation_entries": summary.entries}
    for table, expected in counts.items():
        with open(csv_dir / f"{table}.csv", newline="") as handle:
            assert len(list(csv.DictReader(handle))) == expected
    entry = next(r for r in records if r["table"] == "conversation_entries" and r["type"] == "message.input")
    truth = next(e for c in sim.data.conversations for e in sim.data.history(c["id"]) if e["id"] == entry["id"])
    assert entry["content"] == truth["content"] and entry["created_at"] == truth["created_at"]
    before = sorted(jsonl.read_text().splitlines())  # conversations are written as they complete
    export(sim, JsonlSink(str(jsonl)))
    assert sorted(jsonl.read_text().splitlines()) == before
    assert sorted(p.name for p in tmp_path.rglob("*.partial")) == []


def test_redact_content_keeps_no_text_but_keeps_counts(make_mistral_sim, store):
    sim = make_mistral_sim(agents=2, conversations=8, seed=17)
    export(sim, PostgresSink(store), redact_content=True)
    texts = [e["content"] for c in sim.data.conversations for e in sim.data.history(c["id"])
             if e["type"] == "message.input"]
    with store.connection() as conn:
        dump = json.dumps(conn.execute("SELECT content, content_json FROM conversation_entries").fetchall())
        counted = conn.execute("SELECT count(*) FROM conversation_entries WHERE token_count > 0").fetchone()[0]
    assert counted > 0 and dump.count("sha256:") > len(texts)
    assert not any(text in dump for text in texts)


def test_a_refused_key_stops_the_export_with_exit_3(make_mistral_sim, store):
    from magent.core.errors import CredentialsRefused

    sim = make_mistral_sim(agents=1, conversations=3, seed=18)
    source, client = open_source(sim.url, "WrongKey0000000000000000000000000")
    with client, pytest.raises(CredentialsRefused) as caught:
        run_export(source, PostgresSink(store), ExportOptions())
    assert caught.value.exit_code == 3
    with store.connection() as conn:
        assert conn.execute("SELECT status FROM export_runs").fetchall() == [("failed",)]


def test_a_conversation_deleted_since_the_listing_is_skipped_not_failed(make_mistral_sim):
    sim = make_mistral_sim(agents=1, conversations=2, seed=19)
    source, client = open_source(sim.url, SIM_API_KEY)
    with client:
        assert source.history("conv_00000000000000000000000000000000") is None
        assert len(source.history(sim.data.conversations[0]["id"])) > 0


def test_two_exports_never_write_the_same_database_at_once(make_mistral_sim, store):
    from magent.services.store.checkpoints import ExportRunning, take_export_lock

    sim = make_mistral_sim(agents=1, conversations=2, seed=20)
    with store.connection(autocommit=True) as other_export:
        take_export_lock(other_export)
        with pytest.raises(ExportRunning, match="another `magent conversations export`"):
            export(sim, PostgresSink(store))
    assert export(sim, PostgresSink(store)).status == "succeeded"  # the lock went with the other session
