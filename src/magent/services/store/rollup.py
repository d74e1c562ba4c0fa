"""`usage_daily`: model outputs rolled up by UTC day, model and agent, always equal to the entries' aggregate.

The export keeps it exact incrementally: inside the transaction that rewrites a batch of conversations it
subtracts the aggregate of their old entries and adds that of their new ones (`apply_delta`), so the cost is
proportional to the batch, not to the days it touches. Writers are serialised by the export lock, which makes
the read-then-write safe. `rebuild_usage_daily` recomputes whole days from `conversation_entries`
(delete + insert … select) for data loaded by other means (for example rows generated in SQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from psycopg import Connection

OUTPUT_TYPES = ("message.output", "function.call")

# The aggregate of the output entries of {source} matching {where}: the one definition of the rollup.
AGGREGATE_SQL = """
    SELECT (created_at AT TIME ZONE 'UTC')::date AS day,
           coalesce(model, '') AS model,
           coalesce(agent_id, '') AS agent_id,
           coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens,
           coalesce(sum(token_count), 0)::bigint AS completion_tokens,
           count(*)::bigint AS outputs,
           (count(*) FILTER (WHERE token_count_method = 'estimated'))::bigint AS estimated_outputs
      FROM {source}
     WHERE type IN ('message.output', 'function.call') AND created_at IS NOT NULL AND ({where})
  GROUP BY 1, 2, 3
"""

_COLUMNS = "day, model, agent_id, prompt_tokens, completion_tokens, outputs, estimated_outputs"


def aggregate_sql(where: str = "true", source: str = "conversation_entries") -> str:
    return AGGREGATE_SQL.format(where=where, source=source)


def apply_delta(conn: Connection, where_sql: str, sign: int, source: str = "conversation_entries") -> None:
    """Add (`sign=1`) or subtract (`sign=-1`) the aggregate of the entries of `source` matching `where_sql`,
    then drop the rollup rows left empty: -1 for rows about to be rewritten, +1 for the rows written."""
    assert sign in (1, -1)
    aggregate = aggregate_sql(where_sql, source)
    emptied = conn.execute(f"""
        WITH delta AS ({aggregate}), upserted AS (
            INSERT INTO usage_daily ({_COLUMNS})
            SELECT day, model, agent_id, {sign} * prompt_tokens, {sign} * completion_tokens,
                   {sign} * outputs, {sign} * estimated_outputs FROM delta
            ON CONFLICT (day, model, agent_id) DO UPDATE SET
                prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
                completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,
                outputs = usage_daily.outputs + excluded.outputs,
                estimated_outputs = usage_daily.estimated_outputs + excluded.estimated_outputs
            RETURNING day, model, agent_id, outputs
        )
        SELECT day, model, agent_id FROM upserted WHERE outputs = 0
    """).fetchall()
    if emptied:  # a second statement: one statement cannot both update and delete the same row
        conn.cursor().executemany(
            "DELETE FROM usage_daily WHERE day = %s AND model = %s AND agent_id = %s AND outputs = 0", emptied
        )


def rebuild_usage_daily(conn: Connection, days: Sequence[date] | None = None) -> None:
    """Recompute the rollup rows of `days` (all days when None) from `conversation_entries`."""
    if days is None:
        conn.execute("DELETE FROM usage_daily")
        conn.execute(f"INSERT INTO usage_daily ({_COLUMNS}) {aggregate_sql()}")
        return
    days = sorted(set(days))
    conn.execute("DELETE FROM usage_daily WHERE day = ANY(%s)", (days,))
    where = ("created_at >= d.day AT TIME ZONE 'UTC' AND created_at < (d.day + 1) AT TIME ZONE 'UTC'")
    conn.execute(
        f"INSERT INTO usage_daily ({_COLUMNS}) "
        f"SELECT a.* FROM unnest(%s::date[]) AS d(day), LATERAL ({aggregate_sql(where)}) a",
        (days,),
    )


def rollup_drift(conn: Connection) -> list[tuple]:
    """Rows where `usage_daily` differs from the aggregate of the entries (empty when exact)."""
    aggregate = aggregate_sql()
    return conn.execute(f"""
        (SELECT {_COLUMNS} FROM usage_daily EXCEPT {aggregate})
        UNION ALL
        ({aggregate} EXCEPT SELECT {_COLUMNS} FROM usage_daily)
    """).fetchall()
