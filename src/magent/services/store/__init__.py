"""The store: Postgres through psycopg 3, either `MAGENT_DATABASE_URL` or the embedded server.

    from magent.services.store import open_store
    store = open_store(settings.store)      # starts the embedded Postgres if needed, applies migrations
    print(store.description)                # "embedded Postgres at /path" or the URL with its password masked
    with store.connection() as conn:        # psycopg Connection; commits on success, rolls back on error
        conn.execute("SELECT count(*) FROM conversations")
    store.migration_status()                # [(name, applied_at or None), …]
    store.close()

psycopg is imported inside the functions, so importing this package stays cheap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from magent.core.errors import MagentError, Unreachable
from magent.core.redact import SECRETS, mask_url

if TYPE_CHECKING:
    from psycopg import Connection

    from magent.core.config import StoreSettings

__all__ = ["Store", "open_store", "connect_error", "data_error", "describe_url"]

_CONNECT_TIMEOUT_S = 10


@dataclass
class Store:
    """A Postgres database holding magent's tables; every `connection()` is a new psycopg connection."""

    conninfo: str
    description: str
    data_dir: Path | None = None  # set when the database is the embedded server
    host: str = ""

    @contextlib.contextmanager
    def connection(self, *, autocommit: bool = False) -> Iterator[Connection]:
        """A psycopg Connection: committed when the block ends normally, rolled back on an exception."""
        with self.connect(autocommit=autocommit) as conn:
            yield conn

    def connect(self, *, autocommit: bool = False) -> Connection:
        import psycopg

        try:
            return psycopg.connect(self.conninfo, autocommit=autocommit, connect_timeout=_CONNECT_TIMEOUT_S)
        except psycopg.OperationalError as exc:
            raise connect_error(self.host, exc) from None

    def migrate(self) -> list[str]:
        """Apply pending migrations; returns the names applied now."""
        import psycopg

        from magent.services.store.migrations import apply_pending

        try:
            with self.connection(autocommit=True) as conn:
                return apply_pending(conn)
        except psycopg.OperationalError as exc:  # the connection was lost half-way
            raise connect_error(self.host, exc) from exc

    def migration_status(self) -> list[tuple[str, datetime | None]]:
        from magent.services.store.migrations import status

        with self.connection() as conn:
            return status(conn)

    def close(self) -> None:
        """Nothing is held between connections; the embedded server keeps running for the next command."""


def open_store(settings: StoreSettings, *, migrate: bool = True) -> Store:
    """The store `settings` name (URL, else embedded in the data dir), reachable and migrated."""
    if settings.database_url:
        store = _remote_store(settings.database_url)
    else:
        from magent.services.store.embedded import ensure_running, resolve_data_dir

        data_dir = resolve_data_dir(settings.data_dir)
        uri = ensure_running(data_dir)
        store = Store(uri, f"embedded Postgres at {data_dir}", data_dir, host=str(data_dir))
    with store.connection() as conn:
        conn.execute("SELECT 1")
    if migrate:
        store.migrate()
    return store


def _remote_store(url: str) -> Store:
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except Exception as exc:  # psycopg.ProgrammingError: not a URL nor key=value pairs
        from magent.core.errors import ConfigError

        raise ConfigError(f"MAGENT_DATABASE_URL is not a valid libpq URL: {describe_url(url)}",
                          hint="use postgresql://USER:PASSWORD@HOST:PORT/DB") from exc
    SECRETS.add(params.get("password"))
    _check_ports(url, str(params.get("port") or ""))
    host = str(params.get("host") or "localhost")
    if params.get("port"):
        host = f"{host}:{params['port']}"
    return Store(url, describe_url(url), None, host=host)


def _check_ports(url: str, ports: str) -> None:
    """A port libpq cannot use is a typo in the URL (exit 2), not an unreachable server (exit 3): libpq only says
    so when it tries to connect. `ports` may list one per host (`host=h1,h2 port=5432,5433`)."""
    from magent.core.errors import ConfigError

    for port in ports.split(","):  # an empty entry is the default port
        if port.strip() and not (port.strip().isdigit() and 0 < int(port) < 65536):
            raise ConfigError(f"the database URL's port {port!r} is not a number from 1 to 65535: {describe_url(url)}",
                              hint="check MAGENT_DATABASE_URL (or --database-url): postgresql://USER:PASSWORD@HOST:PORT/DB")


def describe_url(url: str) -> str:
    """The URL (with or without a scheme, or key=value conninfo) with its password masked."""
    return mask_url(url)


def connect_error(host: str, exc: Any) -> Unreachable:
    """Unreachable (exit 3) naming the host, with the server's reason on one line and secrets masked."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = SECRETS.mask(lines[0] if lines else type(exc).__name__)
    return Unreachable(f"cannot connect to Postgres at {host}: {reason}",
                       hint="check MAGENT_DATABASE_URL (or --database-url) and that the server is running")


def data_error(host: str, exc: Any, what: str) -> MagentError:
    """A row Postgres refused (DataError, IntegrityError, …): one line naming what was being written, exit 4,
    since the transaction was rolled back and the run is left unfinished (a re-run resumes it)."""
    from magent.core.errors import InconsistentState

    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = SECRETS.mask(lines[0] if lines else type(exc).__name__)
    sqlstate = getattr(exc, "sqlstate", None)
    code = f" [SQLSTATE {sqlstate}]" if sqlstate else ""
    return InconsistentState(f"Postgres at {host} refused {what}: {reason}{code}",
                             hint="this batch was rolled back; earlier batches are kept and a re-run resumes "
                                  "(run with --debug for details)")
