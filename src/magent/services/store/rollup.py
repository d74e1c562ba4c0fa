"""The usage rollups, always equal to the entries' aggregate: model outputs summed by UTC day, model and agent
(`usage_daily`, a few rows a day) and by UTC day, conversation, model and agent (`usage_conversation_daily`,
about a row per conversation, read by the reports grouped by conversation).

The export keeps both exact incrementally: inside the transaction that rewrites a batch of conversations it
subtracts the aggregate of their old entries and adds that of their new ones (`apply_delta`, one aggregate of
the batch feeding both tables), so the cost is proportional to the batch, not to the days it touches. An export
holds the export lock alone; the workers of a plan hold it together and write distinct conversations, each
delta an atomic `+=` upsert in key order (they queue rather than deadlock; the workers retry a deadlock left).
`rebuild_usage_daily` recomputes whole days of both from `conversation_entries` (delete + insert … select) for
data loaded by other means (for example rows generated in SQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from psycopg import Connection

OUTPUT_TYPES = ("message.output", "function.call")
_MEASURES = ("prompt_tokens", "completion_tokens", "outputs", "estimated_outputs")


@dataclass(frozen=True)
class Rollup:
    table: str
    keys: tuple[str, ...]  # its primary key, the grouping columns of the aggregate

    @property
    def columns(self) -> str:
        return ", ".join((*self.keys, *_MEASURES))


DAILY = Rollup("usage_daily", ("day", "model", "agent_id"))
BY_CONVERSATION = Rollup("usage_conversation_daily", ("day", "conversation_id", "model", "agent_id"))
ROLLUPS = (DAILY, BY_CONVERSATION)

# Key column → its expression on the entries.
_KEY_EXPRESSIONS = {
    "day": "(created_at AT TIME ZONE 'UTC')::date",
    "conversation_id": "conversation_id",
    "model": "coalesce(model, '')",
    "agent_id": "coalesce(agent_id, '')",
}

# The aggregate of the output entries of {source} matching {where}: the one definition of the rollups.
AGGREGATE_SQL = """
    SELECT {keys},
           coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens,
           coalesce(sum(token_count), 0)::bigint AS completion_tokens,
           count(*)::bigint AS outputs,
           (count(*) FILTER (WHERE token_count_method = 'estimated'))::bigint AS estimated_outputs
      FROM {source}
     WHERE type IN ('message.output', 'function.call') AND created_at IS NOT NULL AND ({where})
  GROUP BY {positions}
"""


def aggregate_sql(where: str = "true", source: str = "conversation_entries", rollup: Rollup = DAILY) -> str:
    return AGGREGATE_SQL.format(
        keys=", ".join(f"{_KEY_EXPRESSIONS[key]} AS {key}" for key in rollup.keys),
        source=source, where=where, positions=", ".join(str(n + 1) for n in range(len(rollup.keys))),
    )


def _upsert(rollup: Rollup, select: str, sign: int) -> str:
    keys = ", ".join(rollup.keys)
    signed = ", ".join(f"{sign} * {measure}" for measure in _MEASURES)
    updates = ", ".join(f"{m} = {rollup.table}.{m} + excluded.{m}" for m in _MEASURES)
    # rows locked in key order: concurrent writers (export workers) then wait for each other, not deadlock
    return (f"INSERT INTO {rollup.table} ({rollup.columns}) SELECT {keys}, {signed} FROM ({select}) AS d "
            f"ORDER BY {keys} ON CONFLICT ({keys}) DO UPDATE SET {updates} RETURNING {keys}, outputs")


def apply_delta(conn: Connection, where_sql: str, sign: int, source: str = "conversation_entries") -> None:
    """Add (`sign=1`) or subtract (`sign=-1`) the aggregate of the entries of `source` matching `where_sql`
    to both rollups, then drop the rows left empty: -1 for rows about to be rewritten, +1 for the rows written."""
    assert sign in (1, -1)
    daily_keys = ", ".join(DAILY.keys)
    # One pass over the batch: the daily delta is the conversation delta summed over conversations.
    daily_delta = (f"SELECT {daily_keys}, {', '.join(f'sum({m})::bigint AS {m}' for m in _MEASURES)} "
                   f"FROM delta GROUP BY {daily_keys}")
    emptied = conn.execute(f"""
        WITH delta AS MATERIALIZED ({aggregate_sql(where_sql, source, BY_CONVERSATION)}),
             fine AS ({_upsert(BY_CONVERSATION, "SELECT * FROM delta", sign)}),
             coarse AS ({_upsert(DAILY, daily_delta, sign)})
        SELECT 'fine', day, model, agent_id, conversation_id FROM fine WHERE outputs = 0
        UNION ALL
        SELECT 'coarse', day, model, agent_id, NULL FROM coarse WHERE outputs = 0
    """).fetchall()
    # A second statement: one statement cannot both update and delete the same row.
    fine = [row[1:] for row in emptied if row[0] == "fine"]
    coarse = [row[1:4] for row in emptied if row[0] == "coarse"]
    if fine:
        conn.cursor().executemany(
            "DELETE FROM usage_conversation_daily WHERE day = %s AND model = %s AND agent_id = %s "
            "AND conversation_id = %s AND outputs = 0", fine)
    if coarse:
        conn.cursor().executemany(
            "DELETE FROM usage_daily WHERE day = %s AND model = %s AND agent_id = %s AND outputs = 0", coarse)


def rebuild_usage_daily(conn: Connection, days: Sequence[date] | None = None,
                        rollups: Sequence[Rollup] = ROLLUPS) -> None:
    """Recompute the rows of `days` (all days when None) of `rollups` (both) from `conversation_entries`."""
    for rollup in rollups:
        _rebuild(conn, rollup, days)


def _rebuild(conn: Connection, rollup: Rollup, days: Sequence[date] | None) -> None:
    if days is None:
        conn.execute(f"DELETE FROM {rollup.table}")
        conn.execute(f"INSERT INTO {rollup.table} ({rollup.columns}) {aggregate_sql(rollup=rollup)}")
        return
    days = sorted(set(days))
    conn.execute(f"DELETE FROM {rollup.table} WHERE day = ANY(%s)", (days,))
    where = ("created_at >= d.day AT TIME ZONE 'UTC' AND created_at < (d.day + 1) AT TIME ZONE 'UTC'")
    conn.execute(
        f"INSERT INTO {rollup.table} ({rollup.columns}) "
        f"SELECT a.* FROM unnest(%s::date[]) AS d(day), LATERAL ({aggregate_sql(where, rollup=rollup)}) a",
        (days,),
    )


def rollup_drift(conn: Connection) -> list[tuple]:
    """Rows where a rollup differs from the aggregate of the entries, with the table's name (empty when exact)."""
    drift: list[tuple] = []
    for rollup in ROLLUPS:
        aggregate = aggregate_sql(rollup=rollup)
        rows = conn.execute(f"""
            (SELECT {rollup.columns} FROM {rollup.table} EXCEPT {aggregate})
            UNION ALL
            ({aggregate} EXCEPT SELECT {rollup.columns} FROM {rollup.table})
        """).fetchall()
        drift += [(rollup.table, *row) for row in rows]
    return drift
