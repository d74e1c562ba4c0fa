"""Bulk writes of exported rows: COPY into temporary staging tables, then one upsert per table.

An upsert only touches rows whose values changed (`IS DISTINCT FROM`), so re-exporting the same data writes
nothing. A batch of conversations is replaced as a whole in one transaction: entries that disappeared from a
conversation are deleted, the usage rollup is adjusted by the difference, and the export checkpoint of each
conversation is recorded with it, so a killed export resumes exactly where its last commit left off.

An entry id can appear in several conversations (a restarted conversation starts with a copy of the history
it was restarted from). Such an entry is one API output, stored and counted once: it belongs to the oldest
conversation holding it (by created_at, then id), whatever the order in which conversations are exported.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from magent.core.export_plan import AGENT_COLUMNS, CONVERSATION_COLUMNS, ENTRY_COLUMNS, JSON_COLUMNS, ExportBatch
from magent.services.store import rollup

if TYPE_CHECKING:
    from psycopg import Connection

_STAGES = {
    "agents": ("stage_agents", AGENT_COLUMNS),
    "conversations": ("stage_conversations", CONVERSATION_COLUMNS),
    "conversation_entries": ("stage_entries", ENTRY_COLUMNS),
}


# The stored rows a batch may change: those of its conversations, and those whose id it writes. Written as
# `id IN (…)` so that Postgres probes the indexes instead of scanning the table.
_TOUCHED_ENTRIES = """id IN (SELECT e.id FROM conversation_entries e
                              WHERE e.conversation_id IN (SELECT id FROM stage_conversations)
                             UNION ALL SELECT id FROM stage_entries)"""


@dataclass
class WriteResult:
    agents: int = 0  # rows inserted or changed
    conversations: int = 0
    entries: int = 0
    removed_entries: int = 0  # entries gone from a conversation's history since the last export


def write_batch(conn: Connection, batch: ExportBatch, *, run_id: int | None = None) -> WriteResult:
    """Write `batch` in the current transaction (the caller commits)."""
    _create_stages(conn)
    result = WriteResult()
    if batch.agents:
        _copy(conn, "agents", batch.agents)
        result.agents = _upsert(conn, "agents")
    if not batch.conversations:
        return result
    _copy(conn, "conversations", batch.conversations)
    _copy(conn, "conversation_entries", batch.entries)
    _drop_entries_owned_elsewhere(conn)
    rollup.apply_delta(conn, _TOUCHED_ENTRIES, -1)
    result.conversations = _upsert(conn, "conversations")
    result.removed_entries = _delete_replaced_entries(conn)
    result.entries = _upsert(conn, "conversation_entries")
    # after the upsert, the touched rows are exactly the staged ones
    rollup.apply_delta(conn, "true", +1, source="stage_entries")
    if run_id is not None:
        _record_checkpoints(conn, run_id)
    return result


def _create_stages(conn: Connection) -> None:
    for table, (stage, _) in _STAGES.items():
        conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table}) ON COMMIT DELETE ROWS")
    conn.execute(f"TRUNCATE {', '.join(stage for stage, _ in _STAGES.values())}")


def _copy(conn: Connection, table: str, rows: Iterable[dict[str, Any]]) -> None:
    stage, columns = _STAGES[table]
    with conn.cursor().copy(f"COPY {stage} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(_values(row, columns))


def _values(row: dict[str, Any], columns: Sequence[str]) -> list[Any]:
    """Row values in column order; JSON columns as JSON text (COPY's text format parses them as jsonb)."""
    values = []
    for column in columns:
        value = row.get(column)
        if column in JSON_COLUMNS and value is not None:
            value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        values.append(value)
    return values


def _upsert(conn: Connection, table: str) -> int:
    """Insert new rows, update changed ones; returns how many rows were written."""
    stage, columns = _STAGES[table]
    names = ", ".join(columns)
    updated = [c for c in columns if c != "id"]
    assignments = ", ".join(f"{c} = excluded.{c}" for c in updated)
    current = ", ".join(f"{table}.{c}" for c in updated)
    proposed = ", ".join(f"excluded.{c}" for c in updated)
    cursor = conn.execute(f"""
        INSERT INTO {table} ({names}) SELECT {names} FROM {stage}
        ON CONFLICT (id) DO UPDATE SET {assignments}
        WHERE ({current}) IS DISTINCT FROM ({proposed})
    """)
    return max(cursor.rowcount, 0)


def _drop_entries_owned_elsewhere(conn: Connection) -> None:
    """Unstage entries that belong to an older conversation, in this batch or already stored."""
    conn.execute("""
        DELETE FROM stage_entries s
         USING stage_entries t, stage_conversations mine, stage_conversations other
         WHERE t.id = s.id AND t.conversation_id <> s.conversation_id
           AND mine.id = s.conversation_id AND other.id = t.conversation_id
           AND (coalesce(other.created_at, 'infinity'), other.id) < (coalesce(mine.created_at, 'infinity'), mine.id)
    """)
    conn.execute("""
        DELETE FROM stage_entries s
         USING conversation_entries e, conversations owner, stage_conversations mine
         WHERE e.id = s.id AND e.conversation_id <> s.conversation_id
           AND owner.id = e.conversation_id AND mine.id = s.conversation_id
           AND (coalesce(owner.created_at, 'infinity'), owner.id) < (coalesce(mine.created_at, 'infinity'), mine.id)
    """)


def _delete_replaced_entries(conn: Connection) -> int:
    """Drop the staged conversations' entries that are no longer in their history at the same position."""
    cursor = conn.execute("""
        DELETE FROM conversation_entries e
         WHERE e.conversation_id IN (SELECT id FROM stage_conversations)
           AND NOT EXISTS (SELECT 1 FROM stage_entries s WHERE s.id = e.id AND s.position = e.position)
    """)
    return max(cursor.rowcount, 0)


def _record_checkpoints(conn: Connection, run_id: int) -> None:
    conn.execute("""
        INSERT INTO export_checkpoints (conversation_id, updated_at, entries, run_id, exported_at)
        SELECT c.id, c.updated_at, (SELECT count(*) FROM stage_entries s WHERE s.conversation_id = c.id),
               %s, now()
          FROM stage_conversations c
        ON CONFLICT (conversation_id) DO UPDATE SET
            updated_at = excluded.updated_at, entries = excluded.entries,
            run_id = excluded.run_id, exported_at = excluded.exported_at
    """, (run_id,))
