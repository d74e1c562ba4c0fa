"""Bulk writes: COPY + upsert, idempotent, whole conversations replaced, the rollup always exact."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from magent.core.export_plan import ExportBatch, context_for, conversation_row, entry_rows
from magent.services.store.rollup import rebuild_usage_daily, rollup_drift
from magent.services.store.writer import write_batch

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
MODELS = ["mistral-small-2506", "mistral-large-2411", "gpt-4o"]  # the last one: estimated token counts


def make_conversation(rng: random.Random, cid: str, created: datetime, entry_ids: list[str] | None = None):
    conversation = {"id": cid, "model": rng.choice(MODELS), "instructions": "be brief",
                    "created_at": created.isoformat(), "updated_at": (created + timedelta(hours=1)).isoformat()}
    ids = entry_ids or [f"{cid}-e{i}" for i in range(rng.randint(2, 8))]
    history = []
    for i, entry_id in enumerate(ids):
        kind = "message.input" if i % 2 == 0 else rng.choice(["message.output", "function.call"])
        history.append({"id": entry_id, "type": kind, "content": f"text {rng.random()}", "arguments": "{}",
                        "name": "f", "tool_call_id": f"t{i}",
                        "created_at": (created + timedelta(hours=i * 7)).isoformat()})
    return conversation, history


def batch_of(pairs) -> ExportBatch:
    batch = ExportBatch()
    for conversation, history in pairs:
        batch.conversations.append(conversation_row(conversation))
        batch.entries.extend(entry_rows(history, context_for(conversation, {})))
    return batch


def write(store, batch: ExportBatch, run_id=None):
    with store.connection() as conn:
        return write_batch(conn, batch, run_id=run_id)


def count(store, sql: str):
    with store.connection() as conn:
        return conn.execute(sql).fetchone()[0]


def test_writing_twice_changes_nothing(store):
    rng = random.Random(1)
    batch = batch_of([make_conversation(rng, f"c{i}", T0 + timedelta(days=i)) for i in range(5)])
    first = write(store, batch)
    assert (first.conversations, first.entries) == (5, len(batch.entries))
    with store.connection() as conn:
        before = conn.execute("SELECT xmin::text, id FROM conversation_entries ORDER BY id").fetchall()
    second = write(store, batch)
    assert (second.conversations, second.entries, second.removed_entries) == (0, 0, 0)
    with store.connection() as conn:
        assert conn.execute("SELECT xmin::text, id FROM conversation_entries ORDER BY id").fetchall() == before
        assert rollup_drift(conn) == []


def test_a_conversation_is_replaced_as_a_whole(store):
    rng = random.Random(2)
    conversation, history = make_conversation(rng, "c1", T0, [f"e{i}" for i in range(6)])
    write(store, batch_of([(conversation, history)]))
    edited = {**history[2], "content": "edited", "arguments": "edited"}
    shorter = [history[0], history[3], edited]  # entries dropped, moved and edited
    result = write(store, batch_of([(conversation, shorter)]))
    with store.connection() as conn:
        rows = conn.execute("SELECT id, position, content FROM conversation_entries ORDER BY position").fetchall()
        assert [(entry_id, position) for entry_id, position, _ in rows] == [("e0", 0), ("e3", 1), ("e2", 2)]
        assert rows[2][2] == "edited"
        assert rollup_drift(conn) == []
    # e1, e4, e5 gone and e3 moved (deleted, then inserted at its new position); e2 updated in place
    assert (result.removed_entries, result.entries) == (4, 2)


def test_rollup_stays_exact_over_random_rewrites(store):
    rng = random.Random(3)
    conversations = {f"c{i}": T0 + timedelta(days=rng.randint(0, 5), hours=rng.randint(0, 23)) for i in range(12)}
    for round_number in range(6):
        chosen = rng.sample(sorted(conversations), 4)
        write(store, batch_of([make_conversation(rng, cid, conversations[cid]) for cid in chosen]))
        with store.connection() as conn:
            assert rollup_drift(conn) == [], f"round {round_number}"
    with store.connection() as conn:
        totals = conn.execute("SELECT sum(outputs), sum(estimated_outputs) FROM usage_daily").fetchone()
        outputs = conn.execute("SELECT count(*) FROM conversation_entries "
                               "WHERE type IN ('message.output', 'function.call')").fetchone()[0]
        assert totals[0] == outputs and totals[1] > 0
        rebuild_usage_daily(conn, [T0.date()])
        rebuild_usage_daily(conn)
        assert rollup_drift(conn) == []


def test_an_entry_shared_by_a_restarted_conversation_is_stored_once_by_the_oldest(store):
    rng = random.Random(4)
    original = make_conversation(rng, "c-original", T0, ["s0", "s1", "o2"])
    restarted = make_conversation(rng, "c-restarted", T0 + timedelta(days=1), ["s0", "s1", "r2", "r3"])
    for order in ([restarted, original], [original, restarted], [restarted]):
        for pair in order:
            write(store, batch_of([pair]))
        with store.connection() as conn:
            owners = dict(conn.execute("SELECT id, conversation_id FROM conversation_entries").fetchall())
            assert owners["s0"] == owners["s1"] == "c-original"
            assert owners["r2"] == "c-restarted" and rollup_drift(conn) == []
    write(store, batch_of([restarted, original]))  # both in one batch
    assert count(store, "SELECT count(*) FROM conversation_entries") == 5
    assert count(store, "SELECT count(*) FROM conversation_entries WHERE conversation_id = 'c-original'") == 3


def test_checkpoints_are_written_with_the_rows(store):
    rng = random.Random(5)
    with store.connection() as conn:
        run_id = conn.execute("INSERT INTO export_runs (started_at, status) VALUES (now(), 'running') "
                              "RETURNING id").fetchone()[0]
    pair = make_conversation(rng, "c1", T0)
    write(store, batch_of([pair]), run_id=run_id)
    with store.connection() as conn:
        row = conn.execute("SELECT updated_at, entries, run_id FROM export_checkpoints").fetchone()
    assert row == (T0 + timedelta(hours=1), len(pair[1]), run_id)
