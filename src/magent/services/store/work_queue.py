"""The export's work table: a plan lists the conversations to export, each assigned a shard; workers (the pods
of an Indexed Job, or local processes) claim rows under a lease and mark them done in the transaction that
writes them.

    plan = create_plan(conn, shards=8, since=None, full_export=False, redact_content=False,
                       conversations=[listed conversation, …], high_water=…, run_id=…)
    rows = claim(conn, plan.id, shard=3, worker="pod-3", limit=50)     # FOR UPDATE SKIP LOCKED + a lease
    with conn.transaction():
        kept = settle(conn, plan.id, done=[…], failed={id: reason}, gone=[…])   # first to settle a row wins
        write_batch(conn, batch restricted to `kept`)
    finish_plan_if_drained(conn, plan.id)

A worker that dies leaves its rows leased; once the lease has passed (it is renewed with every heartbeat while
the worker lives) any worker takes them over. Two workers may then fetch the same conversation, but only the
one that settles it first writes it: `settle` locks the row and checks it is still 'todo', so a row is written
exactly once. The plan is done when no row is left 'todo'.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from magent.core.errors import UsageError
from magent.core.export_plan import parse_time
from magent.core.export_shard import MAX_SHARDS

if TYPE_CHECKING:
    from psycopg import Connection

LEASE_S = 60.0  # a claimed row is another worker's to take once this long has passed without a renewal
HEARTBEAT_S = 3.0  # how often a worker renews its leases and reports its counts
LIVE_AFTER_S = 4 * HEARTBEAT_S  # a worker whose last heartbeat is older is counted as gone (for the rate share)


class NoOpenPlan(UsageError):
    """No plan to work on."""


class PlanStillOpen(UsageError):
    """`--plan` while another plan has rows left to export."""


@dataclass(frozen=True)
class PlanInfo:
    id: int
    shards: int
    status: str  # open | done | cancelled
    created_at: datetime
    since: datetime | None
    full_export: bool
    redact_content: bool
    total: int


@dataclass(frozen=True)
class WorkCounts:
    total: int
    todo: int  # still to export, claimed or not
    claimed: int  # todo with a live lease
    done: int
    failed: int
    gone: int  # deleted between the plan and the fetch


@dataclass(frozen=True)
class WorkerTotals:
    live_workers: int
    requests: int
    refused: int
    retries: int
    conversations: int
    entries: int
    failed: int


@dataclass(frozen=True)
class WorkItem:
    conversation_id: str
    updated_at: datetime | None
    conversation: dict[str, Any]  # as listed when the plan was made


_PLAN_COLUMNS = "id, shards, status, created_at, since, full_export, redact_content, total"


def open_plan(conn: Connection, plan_id: int | None) -> PlanInfo:
    """Plan `plan_id` (whatever its status), or the newest open plan; NoOpenPlan (exit 2) when there is none."""
    if plan_id is not None:
        row = conn.execute(f"SELECT {_PLAN_COLUMNS} FROM export_plans WHERE id = %s", (plan_id,)).fetchone()
        if row is None:
            raise NoOpenPlan(f"there is no export plan {plan_id}",
                             hint="omit --plan-id to use the newest open plan, or run "
                                  "`magent conversations export --plan` first")
        return PlanInfo(*row)
    row = conn.execute(f"SELECT {_PLAN_COLUMNS} FROM export_plans WHERE status = 'open' ORDER BY id DESC LIMIT 1"
                       ).fetchone()
    if row is None:
        raise NoOpenPlan("there is no open export plan", hint="run `magent conversations export --plan` first")
    return PlanInfo(*row)


def create_plan(conn: Connection, *, shards: int, since: datetime | None, full_export: bool, redact_content: bool,
                conversations: Iterable[Mapping[str, Any]], high_water: datetime | None = None,
                run_id: int | None = None) -> PlanInfo:
    """A new open plan with `conversations` (as listed: the worker writes them as they are) spread round-robin
    over `shards` (COPY, as the iterable yields them), in the caller's transaction.

    Refused (PlanStillOpen) while another plan has rows left to export; an open plan with none left is closed.
    """
    if not 1 <= shards <= MAX_SHARDS:
        raise UsageError(f"--shards must be between 1 and {MAX_SHARDS}, not {shards}")
    ensure_no_open_plan(conn)
    plan_id = conn.execute(
        "INSERT INTO export_plans (shards, since, full_export, redact_content, high_water, run_id) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (shards, since, full_export, redact_content, high_water, run_id)).fetchone()[0]
    total = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    columns = "plan_id, conversation_id, updated_at, shard, conversation"
    with conn.cursor().copy(f"COPY export_work ({columns}) FROM STDIN") as copy:
        for position, conversation in enumerate(conversations):
            copy.write_row((plan_id, conversation["id"], parse_time(conversation.get("updated_at")),
                            position % shards, dumps(dict(conversation))))
            total += 1
    conn.execute("UPDATE export_plans SET total = %s WHERE id = %s", (total, plan_id))
    return open_plan(conn, plan_id)


def ensure_no_open_plan(conn: Connection) -> None:
    """Close the open plans with nothing left to export; PlanStillOpen (exit 2) if one has rows left."""
    _close_drained_plans(conn)
    still_open = conn.execute("SELECT id FROM export_plans WHERE status = 'open' ORDER BY id DESC LIMIT 1").fetchone()
    if still_open is not None:
        raise PlanStillOpen(
            f"export plan {still_open[0]} is still open, with conversations left to export",
            hint=f"finish it (`magent conversations export --worker --plan-id {still_open[0]}`), or cancel it "
                 f"(`magent conversations export --cancel-plan {still_open[0]}`)")


def _close_drained_plans(conn: Connection) -> None:
    conn.execute("""UPDATE export_plans p SET status = 'done', finished_at = now()
                     WHERE status = 'open'
                       AND NOT EXISTS (SELECT 1 FROM export_work w WHERE w.plan_id = p.id AND w.state = 'todo')""")


def cancel_plan(conn: Connection, plan_id: int) -> bool:
    """Mark an open plan cancelled (its workers stop at their next claim); False when it was not open."""
    return conn.execute("UPDATE export_plans SET status = 'cancelled', finished_at = now() "
                        "WHERE id = %s AND status = 'open' RETURNING id", (plan_id,)).fetchone() is not None


def shard_totals(conn: Connection, plan_id: int) -> list[int]:
    """Conversations per shard, shard 0 first."""
    shards = conn.execute("SELECT shards FROM export_plans WHERE id = %s", (plan_id,)).fetchone()[0]
    counts: dict[int, int] = dict(conn.execute("SELECT shard, count(*) FROM export_work WHERE plan_id = %s GROUP BY shard",
                               (plan_id,)).fetchall())
    return [counts.get(shard, 0) for shard in range(shards)]


def claim(conn: Connection, plan_id: int, shard: int, worker: str, limit: int = 50,
          lease_s: float = LEASE_S) -> list[WorkItem]:
    """Up to `limit` rows left to export, under a lease for `worker`: of `shard` first, then of any shard.

    Rows under another worker's live lease are skipped (and so are rows another claim has locked); rows whose
    lease has passed are taken over. Runs in its own short transaction when `conn` is in autocommit mode.
    """
    items = _claim_where(conn, plan_id, worker, limit, lease_s, "shard = %s", (shard,))
    if not items:  # this shard is drained (or all leased): help the others
        items = _claim_where(conn, plan_id, worker, limit, lease_s, "true", ())
    return items


def _claim_where(conn: Connection, plan_id: int, worker: str, limit: int, lease_s: float, where: str,
                 params: tuple) -> list[WorkItem]:
    rows = conn.execute(f"""
        WITH picked AS (
            SELECT plan_id, conversation_id FROM export_work
             WHERE plan_id = %s AND state = 'todo' AND {where} AND (lease_until IS NULL OR lease_until < now())
             ORDER BY shard, conversation_id
             LIMIT %s FOR UPDATE SKIP LOCKED)
        UPDATE export_work w
           SET claimed_by = %s, lease_until = now() + make_interval(secs => %s), attempts = w.attempts + 1
          FROM picked
         WHERE w.plan_id = picked.plan_id AND w.conversation_id = picked.conversation_id
        RETURNING w.conversation_id, w.updated_at, w.conversation
    """, (plan_id, *params, limit, worker, lease_s)).fetchall()
    return [WorkItem(*row) for row in rows]


def settle(conn: Connection, plan_id: int, *, done: Sequence[str] = (), failed: Mapping[str, str] | None = None,
           gone: Sequence[str] = ()) -> set[str]:
    """Mark rows done / failed / gone, in the caller's transaction (the one writing the done ones); returns the
    ids of `done` that were still 'todo': only those may be written (another worker settled the others)."""
    kept: set[str] = set()
    for state, ids, errors in (("done", list(done), None), ("gone", list(gone), None),
                               ("failed", list(failed or {}), failed)):
        if not ids:
            continue
        rows = conn.execute("""
            UPDATE export_work SET state = %s, lease_until = NULL, error = NULL
             WHERE plan_id = %s AND conversation_id = ANY(%s) AND state = 'todo'
            RETURNING conversation_id
        """, (state, plan_id, sorted(ids))).fetchall()
        if state == "done":
            kept = {row[0] for row in rows}
        if errors:
            conn.cursor().executemany(
                "UPDATE export_work SET error = %s WHERE plan_id = %s AND conversation_id = %s",
                [(errors[cid][:500], plan_id, cid) for (cid,) in rows])
    return kept


def heartbeat(conn: Connection, plan_id: int, worker: str, shard: int | None, *, requests: int, refused: int,
              retries: int, conversations: int, entries: int, failed: int, lease_s: float = LEASE_S,
              finished: bool = False) -> None:
    """Record `worker`'s counts (its totals so far) and that it lives; renew the leases of the rows it holds.
    `finished`: it has stopped, or has nothing to claim for now (it does not count as live, for the rate share)."""
    conn.execute("""
        INSERT INTO export_workers AS x (plan_id, worker, shard, requests, refused, retries, conversations,
                                         entries, failed, finished_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, CASE WHEN %s THEN now() END)
        ON CONFLICT (plan_id, worker) DO UPDATE SET heartbeat_at = now(), requests = excluded.requests,
            refused = excluded.refused, retries = excluded.retries, conversations = excluded.conversations,
            entries = excluded.entries, failed = excluded.failed, finished_at = excluded.finished_at
    """, (plan_id, worker, shard, requests, refused, retries, conversations, entries, failed, finished))
    if not finished:
        conn.execute("""UPDATE export_work SET lease_until = now() + make_interval(secs => %s)
                         WHERE plan_id = %s AND claimed_by = %s AND state = 'todo' AND lease_until IS NOT NULL""",
                     (lease_s, plan_id, worker))


def release(conn: Connection, plan_id: int, worker: str) -> int:
    """Give back the rows `worker` holds and has not settled (it is stopping): others take them at once."""
    cursor = conn.execute("UPDATE export_work SET lease_until = NULL WHERE plan_id = %s AND claimed_by = %s "
                          "AND state = 'todo'", (plan_id, worker))
    return max(cursor.rowcount, 0)


def plan_run(conn: Connection, plan_id: int) -> int | None:
    """The `export_runs` row of the plan (its workers' checkpoints belong to it)."""
    row = conn.execute("SELECT run_id FROM export_plans WHERE id = %s", (plan_id,)).fetchone()
    return row[0] if row else None


def live_workers(conn: Connection, plan_id: int, live_after_s: float = LIVE_AFTER_S) -> int:
    """Workers of the plan that heartbeat recently and have not finished."""
    return conn.execute("""SELECT count(*) FROM export_workers WHERE plan_id = %s AND finished_at IS NULL
                             AND heartbeat_at > now() - make_interval(secs => %s)""",
                        (plan_id, live_after_s)).fetchone()[0]


def record_rate_limit(conn: Connection, plan_id: int, per_minute: float) -> None:
    conn.execute("UPDATE export_plans SET rate_limit_per_min = %s WHERE id = %s "
                 "AND rate_limit_per_min IS DISTINCT FROM %s", (per_minute, plan_id, per_minute))


def rate_limit(conn: Connection, plan_id: int) -> float | None:
    """The advertised requests-per-minute limit a worker of the plan learned, if any."""
    row = conn.execute("SELECT rate_limit_per_min FROM export_plans WHERE id = %s", (plan_id,)).fetchone()
    return row[0] if row else None


def work_counts(conn: Connection, plan_id: int) -> WorkCounts:
    row = conn.execute("""
        SELECT count(*), count(*) FILTER (WHERE state = 'todo'),
               count(*) FILTER (WHERE state = 'todo' AND lease_until >= now()),
               count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE state = 'failed'),
               count(*) FILTER (WHERE state = 'gone')
          FROM export_work WHERE plan_id = %s
    """, (plan_id,)).fetchone()
    return WorkCounts(*(int(value) for value in row))


def worker_totals(conn: Connection, plan_id: int, live_after_s: float = LIVE_AFTER_S) -> WorkerTotals:
    row = conn.execute("""
        SELECT count(*) FILTER (WHERE finished_at IS NULL AND heartbeat_at > now() - make_interval(secs => %s)),
               coalesce(sum(requests), 0), coalesce(sum(refused), 0), coalesce(sum(retries), 0),
               coalesce(sum(conversations), 0), coalesce(sum(entries), 0), coalesce(sum(failed), 0)
          FROM export_workers WHERE plan_id = %s
    """, (live_after_s, plan_id)).fetchone()
    return WorkerTotals(*(int(value) for value in row))


def plan_status(conn: Connection, plan_id: int) -> str:
    return conn.execute("SELECT status FROM export_plans WHERE id = %s", (plan_id,)).fetchone()[0]


@dataclass(frozen=True)
class FinishedPlan:
    run_id: int | None
    high_water: datetime | None


def finish_plan_if_drained(conn: Connection, plan_id: int) -> FinishedPlan | None:
    """Mark the plan done when no row is left to export; returns its run and high water to the one caller
    that did (None for every other caller, or while rows are left)."""
    row = conn.execute("""
        UPDATE export_plans p SET status = 'done', finished_at = now()
         WHERE id = %s AND status = 'open'
           AND NOT EXISTS (SELECT 1 FROM export_work w WHERE w.plan_id = p.id AND w.state = 'todo')
        RETURNING run_id, high_water
    """, (plan_id,)).fetchone()
    return FinishedPlan(*row) if row else None
