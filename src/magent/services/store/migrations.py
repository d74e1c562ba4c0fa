"""Forward-only schema migrations, registered in order by a decorator and recorded by name.

Each migration runs in its own transaction together with its row in `schema_migrations` (Postgres DDL is
transactional), so a failing migration leaves the schema at the last good version. Never edit a migration
once released: add a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from magent.core.errors import InconsistentState

if TYPE_CHECKING:
    from psycopg import Connection

MigrationFn = Callable[["Connection"], None]


@dataclass(frozen=True)
class Migration:
    name: str
    apply: MigrationFn


MIGRATIONS: list[Migration] = []


class MigrationFailed(InconsistentState):
    """A migration raised: its transaction was rolled back, the schema is at the last good version."""


# Serialises concurrent `open_store()` calls on one database (any constant shared by all magent processes).
_MIGRATION_LOCK_KEY = 0x6D6167656E74  # "magent"


def migration(name: str) -> Callable[[MigrationFn], MigrationFn]:
    """Register `fn` as the next migration, under `name` (e.g. `0003_usage_daily`)."""

    def register(fn: MigrationFn) -> MigrationFn:
        if any(existing.name == name for existing in MIGRATIONS):
            raise ValueError(f"duplicate migration name {name}")
        MIGRATIONS.append(Migration(name, fn))
        return fn

    return register


def _ensure_table(conn: Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL)"
    )


def applied(conn: Connection) -> dict[str, datetime]:
    """Migrations recorded in the database, by name."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
    if not exists:
        return {}
    return dict(conn.execute("SELECT name, applied_at FROM schema_migrations").fetchall())


def status(conn: Connection, migrations: list[Migration] | None = None) -> list[tuple[str, datetime | None]]:
    """Every known migration with its applied time (None: pending)."""
    done = applied(conn)
    return [(m.name, done.get(m.name)) for m in (MIGRATIONS if migrations is None else migrations)]


def apply_pending(conn: Connection, migrations: list[Migration] | None = None) -> list[str]:
    """Apply the migrations not yet recorded, in order, one transaction each; returns their names.

    `conn` must be in autocommit mode (each migration opens its own transaction).
    """
    migrations = MIGRATIONS if migrations is None else migrations
    conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK_KEY,))
    try:
        _ensure_table(conn)
        done = applied(conn)
        _check_known(done, migrations)
        newly: list[str] = []
        for step in migrations:
            if step.name not in done:
                _apply_one(conn, step, last_good=newly[-1] if newly else _last(done, migrations))
                newly.append(step.name)
        return newly
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK_KEY,))


def _apply_one(conn: Connection, step: Migration, last_good: str | None) -> None:
    """The migration and its bookkeeping row in one transaction: all or nothing."""
    import psycopg

    try:
        with conn.transaction():
            step.apply(conn)
            conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (%s, now())", (step.name,))
    except psycopg.OperationalError:
        raise
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MigrationFailed(
            f"migration {step.name} failed: {reason}; the schema stays at {last_good or 'no migration'}",
            hint="fix the cause (see the message), then run `magent db migrate` again",
        ) from exc


def _last(done: dict[str, datetime], migrations: list[Migration]) -> str | None:
    names = [m.name for m in migrations if m.name in done]
    return names[-1] if names else None


def _check_known(done: dict[str, datetime], migrations: list[Migration]) -> None:
    unknown = sorted(set(done) - {m.name for m in migrations})
    if unknown:
        raise InconsistentState(
            f"the database has migrations this magent does not know: {', '.join(unknown)}",
            hint="upgrade magent; the database was migrated by a newer version",
        )


# --- the migrations, in order ---------------------------------------------------------------------------


@migration("0001_initial")
def _initial(conn: Connection) -> None:
    """The seed's schema: agents, conversations and their entries, with the seed's indexes."""
    conn.execute("""
        CREATE TABLE agents (
            id text PRIMARY KEY, name text, model text, description text, instructions text, tools jsonb,
            version int, created_at timestamptz, updated_at timestamptz, metadata jsonb
        );
        CREATE TABLE conversations (
            id text PRIMARY KEY, agent_id text, model text, name text, description text, instructions text,
            created_at timestamptz, updated_at timestamptz, metadata jsonb
        );
        CREATE TABLE conversation_entries (
            id text PRIMARY KEY,
            conversation_id text NOT NULL REFERENCES conversations ON DELETE CASCADE,
            type text NOT NULL, role text, content text, content_json jsonb,
            created_at timestamptz, completed_at timestamptz, agent_id text, model text,
            tool_name text, tool_call_id text, parent_entry_id text, metadata jsonb
        );
        CREATE INDEX conversation_entries_conversation_idx ON conversation_entries (conversation_id);
        CREATE INDEX conversation_entries_created_idx ON conversation_entries (created_at);
    """)


@migration("0002_entry_tokens")
def _entry_tokens(conn: Connection) -> None:
    """Order of entries, token counts and the prompt-token cost model; indexes for reports."""
    conn.execute("""
        ALTER TABLE conversation_entries
            ADD COLUMN position int,
            ADD COLUMN token_count int,
            ADD COLUMN token_count_method text CHECK (token_count_method IN ('counted', 'estimated')),
            ADD COLUMN prompt_tokens bigint;
        UPDATE conversation_entries e SET position = ranked.position
          FROM (SELECT id, (row_number() OVER (PARTITION BY conversation_id ORDER BY created_at, id) - 1)::int
                       AS position FROM conversation_entries) ranked
         WHERE ranked.id = e.id;
        ALTER TABLE conversation_entries ALTER COLUMN position SET NOT NULL;
        DROP INDEX conversation_entries_conversation_idx;
        CREATE UNIQUE INDEX conversation_entries_position_idx ON conversation_entries (conversation_id, position);
        CREATE INDEX conversation_entries_model_created_idx ON conversation_entries (model, created_at);
        CREATE INDEX conversation_entries_agent_created_idx ON conversation_entries (agent_id, created_at);
        ALTER TABLE agents ADD COLUMN extra jsonb;
        ALTER TABLE conversations ADD COLUMN extra jsonb;
    """)


@migration("0003_export_checkpoints")
def _export_checkpoints(conn: Connection) -> None:
    """Runs of `conversations export` and, per conversation, the `updated_at` last written."""
    conn.execute("""
        CREATE TABLE export_runs (
            id bigserial PRIMARY KEY, started_at timestamptz NOT NULL, finished_at timestamptz,
            status text NOT NULL, since timestamptz, agents int, conversations int, entries int,
            skipped int, failed int, high_water timestamptz
        );
        CREATE TABLE export_checkpoints (
            conversation_id text PRIMARY KEY REFERENCES conversations ON DELETE CASCADE,
            updated_at timestamptz, entries int NOT NULL, run_id bigint REFERENCES export_runs,
            exported_at timestamptz NOT NULL
        );
    """)


@migration("0004_usage_daily")
def _usage_daily(conn: Connection) -> None:
    """Daily rollup of model outputs (UTC day × model × agent), maintained by the export."""
    conn.execute("""
        CREATE TABLE usage_daily (
            day date NOT NULL, model text NOT NULL, agent_id text NOT NULL DEFAULT '',
            prompt_tokens bigint NOT NULL, completion_tokens bigint NOT NULL,
            outputs bigint NOT NULL, estimated_outputs bigint NOT NULL,
            PRIMARY KEY (day, model, agent_id)
        );
    """)
    from magent.services.store.rollup import DAILY, rebuild_usage_daily

    rebuild_usage_daily(conn, rollups=(DAILY,))  # the table by conversation comes later (0007)


@migration("0005_deployments")
def _deployments(conn: Connection) -> None:
    """The audit trail of `magent deploy` / `magent rollback`."""
    conn.execute("""
        CREATE TABLE deployments (
            id bigserial PRIMARY KEY, namespace text, deployment text, image text, previous_image text,
            started_at timestamptz, finished_at timestamptz, outcome text, reason text, actor text
        );
        CREATE TABLE deployment_events (
            id bigserial PRIMARY KEY, deployment_id bigint REFERENCES deployments ON DELETE CASCADE,
            at timestamptz, kind text, step int, weight int, payload jsonb
        );
        CREATE INDEX deployments_target_idx ON deployments (namespace, deployment, started_at);
        CREATE INDEX deployment_events_deployment_idx ON deployment_events (deployment_id, at);
    """)


@migration("0006_preflight_attestations")
def _preflight_attestations(conn: Connection) -> None:
    """People's word for the checklist items no machine can prove (`magent preflight attest`)."""
    conn.execute("""
        CREATE TABLE preflight_attestations (
            id bigserial PRIMARY KEY, checklist text NOT NULL, item_id text NOT NULL, item_hash text NOT NULL,
            checklist_sha256 text NOT NULL, attested_by text NOT NULL, note text NOT NULL DEFAULT '',
            attested_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX preflight_attestations_item_idx ON preflight_attestations (checklist, item_id, attested_at DESC);
    """)


@migration("0007_usage_conversation_daily")
def _usage_conversation_daily(conn: Connection) -> None:
    """Rollup of model outputs by UTC day × conversation × model × agent, for reports grouped by conversation
    (about a row per conversation where the entries have ten or more outputs each); maintained by the export."""
    conn.execute("""
        CREATE TABLE usage_conversation_daily (
            day date NOT NULL, conversation_id text NOT NULL, model text NOT NULL, agent_id text NOT NULL DEFAULT '',
            prompt_tokens bigint NOT NULL, completion_tokens bigint NOT NULL,
            outputs bigint NOT NULL, estimated_outputs bigint NOT NULL,
            PRIMARY KEY (day, conversation_id, model, agent_id)
        );
    """)
    from magent.services.store.rollup import BY_CONVERSATION, rebuild_usage_daily

    rebuild_usage_daily(conn, rollups=(BY_CONVERSATION,))
    # statistics now, not at autovacuum's pleasure: the planner otherwise guesses a tenth of the rows
    conn.execute("ANALYZE usage_conversation_daily")


@migration("0008_export_work")
def _export_work(conn: Connection) -> None:
    """The export as an Indexed Job: plans, their conversations by shard (claimed under a lease by the
    workers), and each worker's heartbeat and counts (`services/store/work_queue.py`)."""
    conn.execute("""
        CREATE TABLE export_plans (
            id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(), shards int NOT NULL,
            since timestamptz, full_export bool NOT NULL, redact_content bool NOT NULL,
            status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
            rate_limit_per_min double precision, high_water timestamptz, finished_at timestamptz,
            total int NOT NULL DEFAULT 0, run_id bigint REFERENCES export_runs
        );
        CREATE TABLE export_work (
            plan_id bigint NOT NULL REFERENCES export_plans ON DELETE CASCADE, conversation_id text NOT NULL,
            updated_at timestamptz, shard int NOT NULL, conversation jsonb,
            state text NOT NULL DEFAULT 'todo' CHECK (state IN ('todo', 'done', 'failed', 'gone')),
            claimed_by text, lease_until timestamptz, attempts int NOT NULL DEFAULT 0, error text,
            PRIMARY KEY (plan_id, conversation_id)
        );
        CREATE INDEX export_work_todo_idx ON export_work (plan_id, shard) WHERE state = 'todo';
        CREATE TABLE export_workers (
            plan_id bigint NOT NULL REFERENCES export_plans ON DELETE CASCADE, worker text NOT NULL,
            shard int, started_at timestamptz NOT NULL DEFAULT now(), heartbeat_at timestamptz NOT NULL DEFAULT now(),
            requests bigint NOT NULL DEFAULT 0, refused bigint NOT NULL DEFAULT 0, retries bigint NOT NULL DEFAULT 0,
            conversations bigint NOT NULL DEFAULT 0, entries bigint NOT NULL DEFAULT 0,
            failed bigint NOT NULL DEFAULT 0, finished_at timestamptz,
            PRIMARY KEY (plan_id, worker)
        );
    """)


@migration("0009_deploy_context")
def _deploy_context(conn: Connection) -> None:
    """The kubeconfig context of each audited deploy and rollback: two clusters with the same namespace and
    Deployment no longer share one history. NULL for the rows written before (and for ECS and key rotations)."""
    # no index of its own: (namespace, deployment, started_at) already narrows a history to a few rows
    conn.execute("ALTER TABLE deployments ADD COLUMN context text")
