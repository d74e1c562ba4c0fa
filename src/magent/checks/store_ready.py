"""store.ready: the conversation store is reachable and every migration is applied.

The store is `store.database_url` (MAGENT_DATABASE_URL), else the embedded Postgres — but only when the data
directory already holds one: a check must not create a database server as a side effect. Nothing applies
migrations here (`magent db migrate` does).
"""

from __future__ import annotations

from magent.checks import CheckContext, CheckType, register_check
from magent.core.preflight import CheckResult, Finding
from magent.core.text import counted


def _configured(ctx: CheckContext) -> bool:
    from magent.services.store.embedded import PGDATA_NAME, resolve_data_dir

    store = ctx.settings.store
    if store.database_url:
        return True
    return (resolve_data_dir(store.data_dir) / PGDATA_NAME / "PG_VERSION").is_file()


def run(ctx: CheckContext) -> CheckResult:
    import psycopg

    from magent.services.store import connect_error, open_store

    if not _configured(ctx):
        return CheckResult.skipped("no store configured (set MAGENT_DATABASE_URL, or run `magent db migrate` to "
                                   "create the embedded one)")
    store = open_store(ctx.settings.store, migrate=False)
    try:
        status = store.migration_status()
    except psycopg.Error as exc:
        raise connect_error(store.host, exc) from exc
    finally:
        store.close()
    pending = [name for name, applied_at in status if applied_at is None]
    if pending:
        return CheckResult.failed(
            f"{counted(len(pending), 'migration')} pending on {store.description}: run `magent db migrate`",
            [Finding(f"migration {name} not applied", rule="migration-pending") for name in pending])
    return CheckResult.passed(f"{store.description} reachable, {counted(len(status), 'migration')} applied")


register_check(CheckType("store.ready", run, summary="The conversation store is reachable and migrated"))
