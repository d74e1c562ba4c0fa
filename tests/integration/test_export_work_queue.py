"""The export's work table on a real Postgres: plans, claims under a lease, takeover, settling exactly once."""

from __future__ import annotations

import time

import pytest

from magent.core.export_plan import ExportBatch, conversation_row
from magent.services.store import work_queue
from magent.services.store.writer import write_batch


def _conversations(count: int) -> list[dict]:
    return [{"id": f"conv_{n:03d}", "updated_at": f"2026-11-0{1 + n % 9}T10:00:00Z", "agent_id": "ag_1",
             "name": f"c{n}"} for n in range(count)]


def _plan(conn, count: int = 10, shards: int = 3) -> work_queue.PlanInfo:
    with conn.transaction():
        return work_queue.create_plan(conn, shards=shards, since=None, full_export=False, redact_content=False,
                                      conversations=_conversations(count))


def test_a_plan_spreads_its_conversations_evenly_and_a_second_plan_waits_until_it_is_drained(store):
    with store.connection(autocommit=True) as conn:
        plan = _plan(conn, count=10, shards=3)
        assert (plan.total, plan.status, plan.shards) == (10, "open", 3)
        assert work_queue.shard_totals(conn, plan.id) == [4, 3, 3]
        assert work_queue.open_plan(conn, None) == plan
        with pytest.raises(work_queue.PlanStillOpen) as refused:
            _plan(conn)
        assert refused.value.exit_code == 2 and f"--plan-id {plan.id}" in refused.value.hint
        items = work_queue.claim(conn, plan.id, 0, "w1", limit=100) + work_queue.claim(conn, plan.id, 0, "w1")
        assert len(items) == 10 and items[0].conversation["name"]  # the listing travels with the row
        with conn.transaction():
            work_queue.settle(conn, plan.id, done=[i.conversation_id for i in items])
        second = _plan(conn, count=2, shards=1)  # the first plan, drained, is closed
        assert work_queue.open_plan(conn, plan.id).status == "done" and second.id != plan.id


def test_no_plan_is_a_usage_error_with_the_command_to_run(store):
    with store.connection(autocommit=True) as conn, pytest.raises(work_queue.NoOpenPlan) as missing:
        work_queue.open_plan(conn, None)
    assert missing.value.exit_code == 2 and "--plan" in missing.value.hint


def test_claims_skip_leased_rows_help_other_shards_and_take_over_expired_leases(store):
    with store.connection(autocommit=True) as conn:
        plan = _plan(conn, count=6, shards=2)
        mine = work_queue.claim(conn, plan.id, 0, "w0", limit=10, lease_s=1)
        assert {i.conversation_id for i in mine} == {"conv_000", "conv_002", "conv_004"}  # own shard first
        helped = work_queue.claim(conn, plan.id, 0, "w0b", limit=10, lease_s=60)
        assert {i.conversation_id for i in helped} == {"conv_001", "conv_003", "conv_005"}  # then any shard
        assert work_queue.claim(conn, plan.id, 1, "w1", limit=10) == []  # everything is under a live lease
        assert work_queue.work_counts(conn, plan.id).claimed == 6
        time.sleep(1.1)  # w0 died: its lease passes
        taken = work_queue.claim(conn, plan.id, 1, "w1", limit=10)
        assert {i.conversation_id for i in taken} == {i.conversation_id for i in mine}
        attempts = conn.execute("SELECT max(attempts) FROM export_work WHERE plan_id = %s", (plan.id,)).fetchone()[0]
        assert attempts == 2


def test_heartbeats_renew_leases_and_count_live_workers(store):
    with store.connection(autocommit=True) as conn:
        plan = _plan(conn, count=4, shards=1)
        work_queue.claim(conn, plan.id, 0, "w0", limit=4, lease_s=1)
        common = dict(requests=10, refused=1, retries=2, conversations=3, entries=30, failed=0)
        work_queue.heartbeat(conn, plan.id, "w0", 0, lease_s=60, **common)
        work_queue.heartbeat(conn, plan.id, "w1", 0, **common)
        time.sleep(1.1)
        assert work_queue.claim(conn, plan.id, 0, "w1") == []  # w0 lives: its leases were renewed
        assert work_queue.live_workers(conn, plan.id) == 2
        work_queue.heartbeat(conn, plan.id, "w1", 0, finished=True, **common)
        totals = work_queue.worker_totals(conn, plan.id)
        assert (totals.live_workers, totals.requests, totals.refused, totals.entries) == (1, 20, 2, 60)
        assert work_queue.release(conn, plan.id, "w0") == 4
        assert len(work_queue.claim(conn, plan.id, 0, "w1")) == 4  # given back: no lease to wait out


def test_a_row_is_settled_once_the_second_worker_writes_nothing(store):
    """Two workers fetched the same conversation (a lease passed): only the first to settle writes it."""
    with store.connection(autocommit=True) as conn:
        plan = _plan(conn, count=3, shards=1)
        rows = [conversation_row(c) for c in _conversations(3)]
        for _ in range(2):
            with conn.transaction():
                kept = work_queue.settle(conn, plan.id, done=["conv_000", "conv_001"], failed={"conv_002": "boom"})
                batch = ExportBatch(conversations=[r for r in rows if r["id"] in kept])
                if batch.conversations:
                    write_batch(conn, batch)
            assert kept == ({"conv_000", "conv_001"} if _ == 0 else set())
        counts = work_queue.work_counts(conn, plan.id)
        assert (counts.todo, counts.done, counts.failed) == (0, 2, 1)
        finished = work_queue.finish_plan_if_drained(conn, plan.id)
        assert finished is not None and work_queue.finish_plan_if_drained(conn, plan.id) is None
        error = conn.execute("SELECT error FROM export_work WHERE conversation_id = 'conv_002'").fetchone()[0]
        assert error == "boom"


def test_workers_share_the_export_lock_and_an_export_excludes_them(store):
    from magent.services.store.checkpoints import ExportRunning, take_export_lock, take_shared_export_lock

    with store.connection(autocommit=True) as one, store.connection(autocommit=True) as two, \
            store.connection(autocommit=True) as three:
        take_shared_export_lock(one)
        take_shared_export_lock(two)  # workers together
        with pytest.raises(ExportRunning):
            take_export_lock(three)  # an export (or a plan) beside them
    with store.connection(autocommit=True) as one, store.connection(autocommit=True) as two:
        take_export_lock(one)
        with pytest.raises(ExportRunning) as refused:
            take_shared_export_lock(two)
        assert "--plan" in refused.value.message and refused.value.hint
