"""Bulk writes of exported rows with COPY: straight into the tables when a batch is all new, else through
temporary staging tables and one upsert per table.

An upsert only touches rows whose values changed (`IS DISTINCT FROM`), so re-exporting the same data writes
nothing. A batch of conversations is replaced as a whole in one transaction: entries that disappeared from a
conversation are deleted, the usage rollup is adjusted by the difference, and the export checkpoint of each
conversation is recorded with it, so a killed export resumes exactly where its last commit left off.

An entry id can appear in several conversations (a restarted conversation starts with a copy of the history
it was restarted from). Such an entry is one API output, stored and counted once: it belongs to the oldest
conversation holding it (by created_at, then id), whatever the order in which conversations are exported.

As superuser (the embedded server), the per-row foreign-key trigger of `conversation_entries`, half the cost
of an insert, is skipped for the one statement that writes the entries (as `pg_restore --disable-triggers`
does for bulk loads), after checking that every entry's conversation is written in the same transaction.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from magent.core.export_plan import AGENT_COLUMNS, CONVERSATION_COLUMNS, ENTRY_COLUMNS, JSON_COLUMNS, ExportBatch
from magent.services.store import rollup

if TYPE_CHECKING:
    from psycopg import Connection

# table → its staging table and the columns written
_STAGES = {
    "agents": ("stage_agents", AGENT_COLUMNS),
    "conversations": ("stage_conversations", CONVERSATION_COLUMNS),
    "conversation_entries": ("stage_entries", ENTRY_COLUMNS),
}
# staging table → the table it has the shape of; stage_existing holds the stored rows a batch may change
_STAGE_OF = {"stage_agents": "agents", "stage_conversations": "conversations", "stage_entries": "conversation_entries",
             "stage_existing": "conversation_entries"}

# The stored rows a batch may change: those of its conversations, and those whose id it writes. Written as
# `id IN (…)` so that Postgres probes the indexes instead of scanning the table.
_TOUCHED_ENTRIES = """id IN (SELECT e.id FROM conversation_entries e
                              WHERE e.conversation_id IN (SELECT id FROM stage_conversations)
                             UNION ALL SELECT id FROM stage_entries)"""
_BATCH_ENTRIES = "conversation_id IN (SELECT id FROM stage_conversations)"

# A stored entry moves to the staged conversation only if that one is older (by created_at, then id).
_CONVERSATION_RANK = "(SELECT (coalesce(c.created_at, 'infinity'), c.id) FROM conversations c WHERE c.id = {})"
_OWNED_BY_THE_OLDEST = (
    "conversation_entries.conversation_id = excluded.conversation_id OR "
    + _CONVERSATION_RANK.format("excluded.conversation_id")
    + " < " + _CONVERSATION_RANK.format("conversation_entries.conversation_id")
)


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
        _copy(conn, "stage_agents", AGENT_COLUMNS, batch.agents)
        result.agents = _upsert(conn, "agents")
    if not batch.conversations:
        return result
    _copy(conn, "stage_conversations", CONVERSATION_COLUMNS, batch.conversations)
    if _all_new(conn, batch):
        _write_new(conn, batch, result)
    else:
        _write_changes(conn, batch, result)
    if run_id is not None:
        _record_checkpoints(conn, run_id)
    return result


def _all_new(conn: Connection, batch: ExportBatch) -> bool:
    """No conversation of the batch is stored, and no entry id either (nor twice in the batch)."""
    ids = [entry["id"] for entry in batch.entries]
    if len(set(ids)) != len(ids):
        return False
    # the ids as one JSON array: psycopg adapts a list item by item in Python, json.dumps in C (10x cheaper)
    return not conn.execute("""
        SELECT EXISTS (SELECT 1 FROM conversations WHERE id IN (SELECT id FROM stage_conversations))
            OR EXISTS (SELECT 1 FROM conversation_entries
                        WHERE id = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb))))
    """, (json.dumps(ids),)).fetchone()[0]


def _write_new(conn: Connection, batch: ExportBatch, result: WriteResult) -> None:
    """Insert the conversations, COPY the entries straight into their table, add them to the rollup."""
    result.conversations = _upsert(conn, "conversations")
    owned = {row["id"] for row in batch.conversations} >= {entry["conversation_id"] for entry in batch.entries}
    with _foreign_key_trigger_skipped(conn, owned):
        _copy(conn, "conversation_entries", ENTRY_COLUMNS, batch.entries)
    result.entries = len(batch.entries)
    rollup.apply_delta(conn, _BATCH_ENTRIES, +1)


def _write_changes(conn: Connection, batch: ExportBatch, result: WriteResult) -> None:
    """Stage the entries, take the old rows out of the rollup, upsert, delete what is gone, add the new rows."""
    _copy(conn, "stage_entries", ENTRY_COLUMNS, batch.entries)
    _drop_duplicate_staged_entries(conn)
    conn.execute(f"INSERT INTO stage_existing SELECT * FROM conversation_entries WHERE {_TOUCHED_ENTRIES}")
    rollup.apply_delta(conn, "true", -1, source="stage_existing")
    result.conversations = _upsert(conn, "conversations")
    result.removed_entries = _delete_replaced_entries(conn)
    owned = not conn.execute(
        "SELECT EXISTS (SELECT 1 FROM stage_entries WHERE conversation_id NOT IN (SELECT id FROM stage_conversations))"
    ).fetchone()[0]
    with _foreign_key_trigger_skipped(conn, owned):
        result.entries = _upsert(conn, "conversation_entries", only_if=_OWNED_BY_THE_OLDEST)
    if _shares_entries_with_other_conversations(conn):  # rare: some staged rows may have stayed elsewhere
        rollup.apply_delta(conn, _TOUCHED_ENTRIES, +1)
    else:  # the batch's conversations now hold exactly the staged rows
        rollup.apply_delta(conn, "true", +1, source="stage_entries")


@contextmanager
def _foreign_key_trigger_skipped(conn: Connection, conversations_written: bool) -> Iterator[None]:
    skip = conversations_written and conn.info.parameter_status("is_superuser") == "on"
    if skip:
        conn.execute("SET LOCAL session_replication_role = replica")
    yield
    if skip:
        conn.execute("SET LOCAL session_replication_role = origin")


def _create_stages(conn: Connection) -> None:
    for stage, table in _STAGE_OF.items():
        conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table}) ON COMMIT DELETE ROWS")
    conn.execute(f"TRUNCATE {', '.join(_STAGE_OF)}")


def _copy(conn: Connection, table: str, columns: tuple[str, ...], rows: Iterable[dict[str, Any]]) -> None:
    json_positions = [i for i, column in enumerate(columns) if column in JSON_COLUMNS]
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    every_column = operator.itemgetter(*columns)
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            try:
                values = list(every_column(row))
            except KeyError:  # a row without some column: NULL there
                values = [row.get(column) for column in columns]
            for i in json_positions:  # JSON as text: COPY's text format parses it as jsonb
                if values[i] is not None:
                    values[i] = dumps(values[i])
            copy.write_row(values)


def _upsert(conn: Connection, table: str, only_if: str = "true") -> int:
    """Insert new rows, update changed ones (and, for an existing row, only if `only_if`); returns how many
    rows were written."""
    stage, columns = _STAGES[table]
    names = ", ".join(columns)
    updated = [c for c in columns if c != "id"]
    assignments = ", ".join(f"{c} = excluded.{c}" for c in updated)
    current = ", ".join(f"{table}.{c}" for c in updated)
    proposed = ", ".join(f"excluded.{c}" for c in updated)
    cursor = conn.execute(f"""
        INSERT INTO {table} ({names}) SELECT {names} FROM {stage}
        ON CONFLICT (id) DO UPDATE SET {assignments}
        WHERE ({only_if}) AND ({current}) IS DISTINCT FROM ({proposed})
    """)
    return max(cursor.rowcount, 0)


def _shares_entries_with_other_conversations(conn: Connection) -> bool:
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM stage_existing WHERE conversation_id NOT IN (SELECT id FROM stage_conversations))"
    ).fetchone()[0]


def _drop_duplicate_staged_entries(conn: Connection) -> None:
    """An entry staged by two conversations of the batch: keep the oldest conversation's."""
    if not conn.execute("SELECT EXISTS (SELECT 1 FROM stage_entries GROUP BY id HAVING count(*) > 1)").fetchone()[0]:
        return
    conn.execute("""
        DELETE FROM stage_entries s
         USING stage_entries t, stage_conversations mine, stage_conversations other
         WHERE t.id = s.id AND t.conversation_id <> s.conversation_id
           AND mine.id = s.conversation_id AND other.id = t.conversation_id
           AND (coalesce(other.created_at, 'infinity'), other.id) < (coalesce(mine.created_at, 'infinity'), mine.id)
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
        SELECT c.id, c.updated_at, (SELECT count(*) FROM conversation_entries e WHERE e.conversation_id = c.id),
               %s, now()
          FROM stage_conversations c
        ON CONFLICT (conversation_id) DO UPDATE SET
            updated_at = excluded.updated_at, entries = excluded.entries,
            run_id = excluded.run_id, exported_at = excluded.exported_at
    """, (run_id,))
