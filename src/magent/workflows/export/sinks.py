"""Where an export writes: Postgres (incremental, resumable) or files (a complete snapshot per run).

A sink is used by one export run: `begin()`, then `known()` from the listing thread and `write()` from the
writer, then `finish()`. Files are written under a temporary name and renamed at the end, so a killed export
never leaves a half-written file and re-running it writes the same file again.
"""

from __future__ import annotations

import csv
import fcntl
import glob
import json
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from magent.core.errors import ConfigError
from magent.core.export_plan import (
    AGENT_COLUMNS,
    CONVERSATION_COLUMNS,
    ENTRY_COLUMNS,
    JSON_COLUMNS,
    ExportBatch,
)
from magent.core.paths import expand_user
from magent.core.timeutil import isoformat
from magent.services.store.checkpoints import RunCounts

if TYPE_CHECKING:
    from psycopg import Connection

    from magent.services.store import Store

TABLES = {"agents": AGENT_COLUMNS, "conversations": CONVERSATION_COLUMNS, "conversation_entries": ENTRY_COLUMNS}
PARTIAL_SUFFIX = ".partial"


class Sink(Protocol):
    description: str

    def begin(self, since: datetime | None) -> None: ...
    def known(self, conversation_ids: Iterable[str]) -> dict[str, datetime | None]: ...
    def write(self, batch: ExportBatch) -> int: ...
    def finish(self, status: str, counts: RunCounts, high_water: datetime | None) -> None: ...


class PostgresSink:
    """Upserts batches into the store; checkpoints make the next run incremental and a killed run resumable."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.description = store.description
        self.run_id: int | None = None
        self._session: Connection | None = None  # holds the export lock and records the run
        self._writer: Connection | None = None
        self._reader: Connection | None = None  # used by the listing thread

    def begin(self, since: datetime | None) -> None:
        from magent.services.store.checkpoints import begin_run, take_export_lock

        self._session = self.store.connect(autocommit=True)
        try:
            take_export_lock(self._session)
        except BaseException:
            self._session.close()
            raise
        self.run_id = begin_run(self._session, since)
        self._writer = self.store.connect(autocommit=True)
        # A killed export is re-run, so losing the last commits in a server crash is harmless; atomicity stays.
        self._writer.execute("SET synchronous_commit = off")
        self._reader = self.store.connect(autocommit=True)

    def last_success(self) -> datetime | None:
        from magent.services.store.checkpoints import last_success

        with self.store.connection() as conn:
            found = last_success(conn)
        return found[0] if found else None

    def known(self, conversation_ids: Iterable[str]) -> dict[str, datetime | None]:
        from magent.services.store.checkpoints import checkpoints_for

        assert self._reader is not None
        return checkpoints_for(self._reader, conversation_ids)

    def write(self, batch: ExportBatch) -> int:
        import psycopg

        from magent.services.store.writer import write_batch

        assert self._writer is not None
        try:
            with self._writer.transaction():
                result = write_batch(self._writer, batch, run_id=self.run_id)
        except psycopg.OperationalError as exc:
            from magent.services.store import connect_error

            raise connect_error(self.store.host, exc) from exc
        except (psycopg.DataError, psycopg.IntegrityError, psycopg.ProgrammingError,
                psycopg.errors.InternalError_) as exc:
            from magent.services.store import data_error

            first = batch.conversations[0]["id"] if batch.conversations else None
            what = f"a batch of {len(batch.conversations)} conversations (from {first})" if first else "the agents"
            raise data_error(self.store.host, exc, what) from exc
        return result.agents + result.conversations + result.entries + result.removed_entries

    def finish(self, status: str, counts: RunCounts, high_water: datetime | None) -> None:
        from magent.services.store.checkpoints import finish_run

        try:
            if self._session is not None and self.run_id is not None:
                finish_run(self._session, self.run_id, status, counts, high_water)
        finally:
            for conn in (self._writer, self._reader, self._session):
                if conn is not None:
                    conn.close()


def _text(value: Any) -> Any:
    if isinstance(value, datetime):
        return isoformat(value)
    return value


class JsonlSink:
    """One JSON object per line: `{"table": "conversation_entries", <columns>…}`."""

    def __init__(self, path: str) -> None:
        self.path = expand_user(path)
        self.description = f"JSON lines file {self.path}"
        self._handle: IO[str] | None = None
        self._lock: IO[str] | None = None

    def begin(self, since: datetime | None) -> None:
        self._lock = _take_target_lock(self.path.with_name(f".{self.path.name}.lock"), self.path)
        try:
            self._handle = _open_partial(self.path)
        except BaseException:
            _release_target_lock(self._lock)
            raise

    def known(self, conversation_ids: Iterable[str]) -> dict[str, datetime | None]:
        return {}

    def write(self, batch: ExportBatch) -> int:
        assert self._handle is not None
        written = 0
        for table, rows in (("agents", batch.agents), ("conversations", batch.conversations),
                            ("conversation_entries", batch.entries)):
            for row in rows:
                record = {"table": table, **{k: _text(v) for k, v in row.items()}}
                self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += 1
        return written

    def finish(self, status: str, counts: RunCounts, high_water: datetime | None) -> None:
        assert self._handle is not None
        try:
            _close_partial(self._handle, self.path, keep=status in ("succeeded", "partial"))
        finally:
            _release_target_lock(self._lock)


class CsvSink:
    """One CSV file per table in a directory (header row; JSON columns as JSON text; times in ISO 8601)."""

    def __init__(self, directory: str) -> None:
        self.directory = expand_user(directory)
        self.description = f"CSV files in {self.directory}"
        self._files: dict[str, tuple[IO[str], Any]] = {}
        self._lock: IO[str] | None = None

    def begin(self, since: datetime | None) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create {self.directory}: {exc.strerror}") from None
        # beside the directory, as for a file: the directory holds exactly the three tables
        where = self.directory.resolve()
        self._lock = _take_target_lock(where.with_name(f".{where.name}.lock"), self.directory)
        try:
            for table, columns in TABLES.items():
                handle = _open_partial(self.directory / f"{table}.csv", newline="")
                writer = csv.writer(handle)
                writer.writerow(columns)
                self._files[table] = (handle, writer)
        except BaseException:
            for handle, _ in self._files.values():
                handle.close()
            _release_target_lock(self._lock)
            raise

    def known(self, conversation_ids: Iterable[str]) -> dict[str, datetime | None]:
        return {}

    def write(self, batch: ExportBatch) -> int:
        written = 0
        for table, rows in (("agents", batch.agents), ("conversations", batch.conversations),
                            ("conversation_entries", batch.entries)):
            writer = self._files[table][1]
            for row in rows:
                writer.writerow([_csv_value(column, row.get(column)) for column in TABLES[table]])
                written += 1
        return written

    def finish(self, status: str, counts: RunCounts, high_water: datetime | None) -> None:
        try:
            for table, (handle, _) in self._files.items():
                _close_partial(handle, self.directory / f"{table}.csv", keep=status in ("succeeded", "partial"))
        finally:
            _release_target_lock(self._lock)


def _csv_value(column: str, value: Any) -> Any:
    if value is None:
        return ""
    if column in JSON_COLUMNS:
        return json.dumps(value, ensure_ascii=False)
    return _text(value)


def _take_target_lock(lock_path: Path, target: Path) -> IO[str]:
    """An exclusive flock on `lock_path` for the whole run, so that two exports never write one target.

    The lock file stays (removing it would let a third export lock a new file while the second holds the
    old one); it holds the pid of the export that has it, to name it to the one that waits for nothing.
    """
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a+", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror}", hint="check the path given to --to") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise ConfigError(f"{target} is being written by another export (pid {holder})",
                          hint="wait for it to finish, or export to another path") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _release_target_lock(handle: IO[str] | None) -> None:
    if handle is not None:
        handle.close()  # closing drops the flock


def _partial_name(path: Path) -> Path:
    """Unique per process: a stale partial of a killed export is never appended to nor renamed by another."""
    return path.with_name(f"{path.name}.{os.getpid()}{PARTIAL_SUFFIX}")


def _open_partial(path: Path, newline: str | None = None) -> IO[str]:
    """Called with the target's lock held: any other partial of `path` is a killed export's, removed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        stale = [*path.parent.glob(f"{glob.escape(path.name)}.*{PARTIAL_SUFFIX}"),
                 path.with_name(path.name + PARTIAL_SUFFIX)]
        for partial in stale:
            partial.unlink(missing_ok=True)
        return open(_partial_name(path), "w", encoding="utf-8", newline=newline)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}", hint="check the path given to --to") from None


def _close_partial(handle: IO[str], path: Path, *, keep: bool) -> None:
    """Rename the finished file into place, or remove it when the run did not complete."""
    handle.close()
    partial = _partial_name(path)
    if keep:
        os.replace(partial, path)
    else:
        partial.unlink(missing_ok=True)
