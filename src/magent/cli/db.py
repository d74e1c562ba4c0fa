"""`magent db …`: which database magent uses, its migrations, and the embedded server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from magent.cli.state import OutputOption, get_state

if TYPE_CHECKING:
    from magent.cli.state import AppState
    from magent.core.config import StoreSettings
    from magent.services.store import Store

db_app = typer.Typer(
    name="db",
    help="The Postgres store: MAGENT_DATABASE_URL, or an embedded Postgres in the data directory.",
    no_args_is_help=True,
)

DataDirOption = Annotated[
    Optional[str],
    typer.Option("--data-dir", metavar="DIR", show_default=False,
                 help="Data directory of the embedded Postgres [env: MAGENT_DATA_DIR; default: "
                      "$XDG_DATA_HOME/magent or ~/.local/share/magent]."),
]
DatabaseUrlOption = Annotated[
    Optional[str],
    typer.Option("--database-url", metavar="URL", show_default=False,
                 help="Postgres URL (libpq) instead of the embedded server [env: MAGENT_DATABASE_URL; prefer the "
                      "variable, which keeps the password out of shell history]."),
]


def store_settings(state: AppState, data_dir: str | None, database_url: str | None) -> StoreSettings:
    """The store section of the settings with the command's flags applied (flags win)."""
    from magent.core.redact import SECRETS

    settings = state.settings.store
    updates: dict[str, Any] = {}
    if database_url:
        SECRETS.add(database_url)
        updates["database_url"] = database_url
    if data_dir:
        updates["data_dir"] = data_dir
        if not database_url:
            updates["database_url"] = None  # an explicit --data-dir means the embedded server
    return settings.model_copy(update=updates) if updates else settings


def open_for(state: AppState, data_dir: str | None, database_url: str | None, *, migrate: bool = True) -> Store:
    from magent.services.store import open_store

    return open_store(store_settings(state, data_dir, database_url), migrate=migrate)


@db_app.command("status")
def status(data_dir: DataDirOption = None, database_url: DatabaseUrlOption = None, output: OutputOption = None) -> None:
    """Show which database is in use and which migrations are applied or pending (applies none).

    Exit codes: 0 the schema is up to date; 1 migrations are pending or there is no database yet (an
    embedded one is never created by `status`); 3 the database is unreachable.
    """
    state = get_state()
    settings = store_settings(state, data_dir, database_url)
    if not settings.database_url:
        _exit_if_no_embedded_database(settings.data_dir)
    from magent.services.store import open_store

    store = open_store(settings, migrate=False)
    data = _status_data(store)
    from magent.cli.render import emit

    emit(state, state.output_format(output), data, table=lambda: _status_table(data))
    raise typer.Exit(1 if data["pending"] else 0)


@db_app.command("migrate")
def migrate(data_dir: DataDirOption = None, database_url: DatabaseUrlOption = None, output: OutputOption = None) -> None:
    """Apply the pending migrations (each in its own transaction), then show the status.

    magent also applies them whenever a command opens the store; a failed migration leaves the schema at
    the last good one. Exit codes: 0 up to date; 3 the database is unreachable; 4 a migration failed.
    """
    state = get_state()
    store = open_for(state, data_dir, database_url, migrate=False)
    applied_now = store.migrate()
    data = {**_status_data(store), "applied_now": applied_now}
    from magent.cli.render import emit

    emit(state, state.output_format(output), data, table=lambda: _status_table(data))


@db_app.command("stop")
def stop(data_dir: DataDirOption = None) -> None:
    """Stop the embedded Postgres of the data directory (it otherwise keeps running for the next command)."""
    from magent.services.store.embedded import resolve_data_dir, stop_embedded

    state = get_state()
    directory = resolve_data_dir(data_dir or state.settings.store.data_dir)
    stopped = stop_embedded(directory)
    print(f"stopped the embedded Postgres at {directory}" if stopped else f"no embedded Postgres running at {directory}")


def _exit_if_no_embedded_database(configured_dir: str | None) -> None:
    """`status` applies nothing, so it never creates a database: with none in the data dir, say so (exit 1)."""
    from magent.services.store.embedded import database_exists, resolve_data_dir

    directory = resolve_data_dir(configured_dir)
    if not database_exists(directory):
        typer.echo(f"no database at {directory} (status creates none; `magent db migrate --data-dir {directory}` "
                   "does)", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


def _status_data(store: Store) -> dict[str, Any]:
    from magent.core.timeutil import isoformat

    migrations = [{"name": name, "applied_at": isoformat(at) if at else None}
                  for name, at in store.migration_status()]
    return {
        "database": store.description,
        "embedded": store.data_dir is not None,
        "migrations": migrations,
        "applied": sum(1 for m in migrations if m["applied_at"]),
        "pending": [m["name"] for m in migrations if not m["applied_at"]],
    }


def _status_table(data: dict[str, Any]) -> Any:
    from rich.console import Group
    from rich.text import Text

    from magent.cli.render import simple_table
    from magent.core.redact import SECRETS
    from magent.core.timeutil import isoformat_seconds

    # whole seconds, as every table shows instants (-o json keeps the microseconds)
    rows = [(m["name"], isoformat_seconds(m["applied_at"]) if m["applied_at"] else "pending")
            for m in data["migrations"]]
    # a line of its own, not the table's title: a title folds to the table's width, cutting the URL in a CI log
    database = Text(f"Database: {SECRETS.mask(data['database'])}")
    table = simple_table(None, ["migration", "applied at (UTC)"], rows)
    pending = len(data["pending"])
    verdict = "up to date" if not pending else f"{pending} pending: run `magent db migrate`"
    lines = [database, table, Text(f"{data['applied']} applied, {verdict}")]
    if data.get("applied_now"):
        lines.append(Text(f"applied now: {', '.join(data['applied_now'])}"))
    return Group(*lines)
