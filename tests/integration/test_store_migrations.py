"""Migrations: from a blank database, from an old schema holding rows, and failing half-way."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from magent.core.config import StoreSettings
from magent.core.errors import InconsistentState
from magent.services.store import open_store
from magent.services.store.migrations import MIGRATIONS, Migration, MigrationFailed, apply_pending, status
from magent.services.store.rollup import rollup_drift

ALL = [m.name for m in MIGRATIONS]


def tables(conn) -> set[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {name for (name,) in rows}


def test_blank_database_gets_every_migration(pg_url):
    store = open_store(StoreSettings(database_url=pg_url))
    assert [name for name, at in store.migration_status()] == ALL
    assert all(at is not None for _, at in store.migration_status())
    with store.connection() as conn:
        assert tables(conn) >= {"schema_migrations", "agents", "conversations", "conversation_entries",
                                "export_runs", "export_checkpoints", "usage_daily", "deployments",
                                "deployment_events"}
        indexes = {name for (name,) in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'conversation_entries'").fetchall()}
    assert {"conversation_entries_position_idx", "conversation_entries_created_idx",
            "conversation_entries_model_created_idx", "conversation_entries_agent_created_idx"} <= indexes
    assert store.migrate() == []  # nothing left to do


def test_old_schema_with_rows_is_migrated_and_keeps_them(pg_url):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert apply_pending(conn, MIGRATIONS[:1]) == ["0001_initial"]
        conn.execute("INSERT INTO conversations (id, model, created_at) VALUES ('c1', 'mistral-small-2506', now())")
        conn.execute("""
            INSERT INTO conversation_entries (id, conversation_id, type, content, created_at, model) VALUES
              ('e2', 'c1', 'message.output', 'second', '2026-11-02T10:00:00Z', 'mistral-small-2506'),
              ('e1', 'c1', 'message.input', 'first', '2026-11-02T09:00:00Z', NULL)
        """)
    store = open_store(StoreSettings(database_url=pg_url))
    assert all(at is not None for _, at in store.migration_status())
    with store.connection() as conn:
        rows = conn.execute("SELECT id, position, content FROM conversation_entries ORDER BY position").fetchall()
        assert rows == [("e1", 0, "first"), ("e2", 1, "second")]
        usage = conn.execute("SELECT day, model, outputs, completion_tokens FROM usage_daily").fetchall()
        assert usage == [(date(2026, 11, 2), "mistral-small-2506", 1, 0)]  # rebuilt from the old rows
        by_conversation = conn.execute(
            "SELECT day, conversation_id, model, outputs, completion_tokens FROM usage_conversation_daily").fetchall()
        assert by_conversation == [(date(2026, 11, 2), "c1", "mistral-small-2506", 1, 0)]
        assert rollup_drift(conn) == []
        conn.execute("UPDATE usage_conversation_daily SET outputs = 2")
        assert [row[0] for row in rollup_drift(conn)] == ["usage_conversation_daily"] * 2  # drift is seen


def failing(conn) -> None:
    conn.execute("CREATE TABLE half_done (id int)")
    conn.execute("SELECT 1 / 0")


def test_failed_migration_leaves_the_schema_at_the_last_good_version(pg_url):
    plan = [*MIGRATIONS[:2], Migration("0003_broken", failing), *MIGRATIONS[2:]]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        with pytest.raises(MigrationFailed, match="0003_broken failed: division by zero.*stays at 0002_entry_tokens"):
            apply_pending(conn, plan)
        assert [name for name, at in status(conn, plan) if at] == ["0001_initial", "0002_entry_tokens"]
        assert "half_done" not in tables(conn) and "export_runs" not in tables(conn)
        # once fixed, the next run carries on from there
        plan[2] = Migration("0003_broken", lambda c: c.execute("CREATE TABLE half_done (id int)"))
        assert apply_pending(conn, plan) == [m.name for m in plan[2:]]
    assert MigrationFailed.exit_code == 4


def test_unknown_migration_in_the_database_is_refused(pg_url):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        apply_pending(conn)
        conn.execute("INSERT INTO schema_migrations VALUES ('9999_from_the_future', now())")
        with pytest.raises(InconsistentState, match="9999_from_the_future"):
            apply_pending(conn)


def test_open_without_migrating_shows_pending(pg_url):
    store = open_store(StoreSettings(database_url=pg_url), migrate=False)
    assert store.migration_status() == [(name, None) for name in ALL]
