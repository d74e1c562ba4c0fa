"""The audit trail of deploys and rollbacks in the store, and their notifications: best effort, never blocking.

Writes run on a worker thread: a deploy or a rollback never waits for Postgres or a webhook. A store that
cannot be opened or written is one warning on stderr, and the rest of the trail is dropped; `close()` waits
a bounded time for what is queued. The trail is written when a store is configured: MAGENT_DATABASE_URL
(store.database_url), or an embedded store that already exists in the data directory (magent never creates
one just for an audit trail).
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from magent.core.redact import SECRETS

if TYPE_CHECKING:
    from magent.core.config import Settings

log = logging.getLogger(__name__)
_STOP = object()


@dataclass(frozen=True)
class DeploymentRecord:
    namespace: str
    deployment: str
    image: str
    previous_image: str
    actor: str
    started_at: str
    context: str | None = None  # the kubeconfig context (None: ECS, or a trail written before 0009_deploy_context)


def store_configured(settings: Settings) -> bool:
    """A URL is set, or the embedded store was created before (by an export or `magent db`)."""
    if settings.store.database_url:
        return True
    from magent.services.store.embedded import PGDATA_NAME, resolve_data_dir

    return (Path(resolve_data_dir(settings.store.data_dir)) / PGDATA_NAME).is_dir()


class AuditTrail:
    """Queue deployment rows, events and the outcome for the store, and events for the webhook."""

    def __init__(self, settings: Settings, record: DeploymentRecord, *, warn: Callable[[str], None] | None = None,
                 notify_kinds: frozenset[str] = frozenset()) -> None:
        self._settings = settings
        self._record = record
        self._warn = warn or (lambda text: print(f"Warning: {text}", file=sys.stderr))
        self._notify_kinds = notify_kinds
        self._queue: queue.Queue[Any] = queue.Queue()
        self._use_store = _safely(lambda: store_configured(settings), False)
        self._thread = threading.Thread(target=self._work, name="magent-audit", daemon=True)
        self._thread.start()

    def event(self, record: dict[str, Any]) -> None:
        self._queue.put(("event", record))

    def finish(self, outcome: str, reason: str | None, finished_at: str) -> None:
        self._queue.put(("finish", outcome, reason, finished_at))

    def close(self, timeout_s: float = 5.0) -> None:
        """Wait up to `timeout_s` for queued writes; warn (never fail) about what could not be written."""
        deadline = time.monotonic() + timeout_s
        self._queue.put(_STOP)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._warn(f"the audit trail was not fully written within {timeout_s:g}s (store or webhook slow)")
        remaining = max(0.2, deadline - time.monotonic())
        _safely(lambda: self._flush_notifications(remaining), None)

    # --- the worker ----------------------------------------------------------------------------------------

    def _work(self) -> None:
        store, deployment_id = None, None
        while (item := self._queue.get()) is not _STOP:
            if item[0] == "event" and item[1].get("event") in self._notify_kinds:
                _safely(lambda record=item[1]: self._notify(record), None)
            if not self._use_store:
                continue
            try:
                if store is None:
                    store, deployment_id = self._open()
                self._write(store, deployment_id, item)
            except Exception as exc:  # noqa: BLE001 - any store failure is a warning, never a failed deploy
                self._use_store = False
                self._warn(f"audit trail not recorded in the store: {SECRETS.mask(str(exc).splitlines()[0])}")
                log.debug("audit failure", exc_info=True)

    def _open(self) -> tuple[Any, int]:
        from magent.services.store import open_store

        store = open_store(self._settings.store)
        r = self._record
        with store.connection() as conn:
            row = conn.execute(
                "INSERT INTO deployments (namespace, deployment, image, previous_image, started_at, actor, context) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (r.namespace, r.deployment, r.image, r.previous_image, r.started_at, r.actor, r.context),
            ).fetchone()
        return store, row[0]

    @staticmethod
    def _write(store: Any, deployment_id: int, item: tuple) -> None:
        with store.connection() as conn:
            if item[0] == "event":
                record = item[1]
                conn.execute(
                    "INSERT INTO deployment_events (deployment_id, at, kind, step, weight, payload) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (deployment_id, record["at"], record["event"], record.get("step"), record.get("weight"),
                     SECRETS.mask(json.dumps(record, default=str))),
                )
            elif item[0] == "finish":
                _, outcome, reason, finished_at = item
                conn.execute("UPDATE deployments SET outcome = %s, reason = %s, finished_at = %s WHERE id = %s",
                             (outcome, reason, finished_at, deployment_id))

    def _notify(self, record: dict[str, Any]) -> None:
        from magent.services.notify import notify

        notify(self._settings, record)

    @staticmethod
    def _flush_notifications(timeout_s: float) -> None:
        from magent.services.notify import flush

        flush(timeout_s)


def _safely(action: Callable[[], Any], default: Any) -> Any:
    try:
        return action()
    except Exception:  # noqa: BLE001 - best effort by design
        log.debug("best-effort action failed", exc_info=True)
        return default
