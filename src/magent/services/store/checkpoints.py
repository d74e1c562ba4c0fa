"""Export bookkeeping: one `export_runs` row per run, and per conversation the `updated_at` last written.

A conversation is exported again only when the API reports an `updated_at` different from its checkpoint,
which makes the default export incremental and a killed export resumable (checkpoints are committed in
the same transaction as the rows they describe). One export at a time writes to a database: the run holds
a session advisory lock, released by Postgres even when the process is killed. The workers of an export plan
(`--worker`) hold it shared: any number of them together, never beside an export or a `--plan`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from magent.core.errors import MagentError

if TYPE_CHECKING:
    from psycopg import Connection

_EXPORT_LOCK_KEY = 0x6D6167656E7401  # "magent" + 1


class ExportRunning(MagentError):
    """Another export is writing to the same database."""


@dataclass(frozen=True)
class RunCounts:
    agents: int
    conversations: int
    entries: int
    skipped: int
    failed: int


def take_export_lock(conn: Connection) -> None:
    """Hold the export lock for the life of `conn` (an autocommit session); fail at once if it is taken."""
    if not conn.execute("SELECT pg_try_advisory_lock(%s)", (_EXPORT_LOCK_KEY,)).fetchone()[0]:
        raise ExportRunning("another `magent conversations export` (or its --worker processes) is writing to this "
                            "database",
                            hint="wait for it to finish, then run again")


def take_shared_export_lock(conn: Connection) -> None:
    """The export lock shared, for the life of `conn`: the workers of a plan together, no export beside them."""
    if not conn.execute("SELECT pg_try_advisory_lock_shared(%s)", (_EXPORT_LOCK_KEY,)).fetchone()[0]:
        raise ExportRunning("a `magent conversations export` (or --plan) is writing to this database",
                            hint="wait for it to finish, then start the workers again")


def begin_run(conn: Connection, since: datetime | None) -> int:
    """Mark runs left 'running' by a killed process as interrupted, then record a new run."""
    conn.execute("UPDATE export_runs SET status = 'interrupted' WHERE status = 'running'")
    return conn.execute(
        "INSERT INTO export_runs (started_at, status, since) VALUES (now(), 'running', %s) RETURNING id", (since,)
    ).fetchone()[0]


def finish_run(conn: Connection, run_id: int, status: str, counts: RunCounts, high_water: datetime | None) -> None:
    conn.execute(
        """UPDATE export_runs SET finished_at = now(), status = %s, agents = %s, conversations = %s, entries = %s,
                  skipped = %s, failed = %s, high_water = %s WHERE id = %s""",
        (status, counts.agents, counts.conversations, counts.entries, counts.skipped, counts.failed, high_water,
         run_id),
    )


def last_success(conn: Connection) -> tuple[datetime, datetime | None] | None:
    """(finished_at, high_water) of the last successful run, or None."""
    return conn.execute(
        "SELECT finished_at, high_water FROM export_runs WHERE status = 'succeeded' ORDER BY id DESC LIMIT 1"
    ).fetchone()


def checkpoints_for(conn: Connection, conversation_ids: Iterable[str]) -> dict[str, datetime | None]:
    """The `updated_at` last written for each of `conversation_ids` that has a checkpoint."""
    rows = conn.execute(
        "SELECT conversation_id, updated_at FROM export_checkpoints WHERE conversation_id = ANY(%s)",
        (list(conversation_ids),),
    ).fetchall()
    return dict(rows)
