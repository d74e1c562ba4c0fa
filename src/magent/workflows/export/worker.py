"""`conversations export --worker`: one of the processes (the pods of an Indexed Job) that export a plan.

    claim         rows of its shard, then of any shard, under a lease (`services/store/work_queue.py`)
    fetchers      the export's threads (`ThreadFetcher`): one history each, paced, retried, rows made
    writer        batches written with `write_batch` (COPY + upsert, checkpoints, rollup) in the transaction
                  that settles their rows: a row is written once, by the first worker to settle it
    heartbeat     every few seconds: counts into `export_workers`, leases renewed, the rate share updated

All workers of a plan share the key's rate limit: each paces at (advertised limit × HEADROOM) / live workers,
the limit recorded in the plan by the first worker to learn it. The worker that finds the plan drained marks
it done and finishes its export run (high water and all), as a single export would.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from magent.core.errors import CredentialsRefused, UsageError
from magent.core.export_plan import ExportBatch, context_for, conversation_row, entry_rows
from magent.services.mistral.conversations import ConversationSource
from magent.services.store import work_queue
from magent.workflows.export.fetch import Fetched, ThreadFetcher
from magent.workflows.export.runner import ExportProgress, ExportSummary

if TYPE_CHECKING:
    from psycopg import Connection

    from magent.services.store import Store

log = logging.getLogger(__name__)

JOB_INDEX_ENV = "JOB_COMPLETION_INDEX"
_WRITE_ATTEMPTS = 5  # a batch whose transaction deadlocked with another worker's is written again
_IDLE_POLL_S = 1.0  # how often a worker with nothing to claim looks again (rows of a dead worker, the end)


@dataclass(frozen=True)
class WorkerOptions:
    plan_id: int | None = None  # None: the newest open plan
    shard: tuple[int, int] | None = None  # (index, shards) from --shard; None: JOB_COMPLETION_INDEX
    concurrency: int = 8
    claim_size: int = 50
    batch_seconds: float = 1.0
    lease_s: float = work_queue.LEASE_S
    heartbeat_s: float = work_queue.HEARTBEAT_S
    name: str = field(default_factory=lambda: f"{socket.gethostname()}/{os.getpid()}")


def resolve_shard(plan: work_queue.PlanInfo, shard: tuple[int, int] | None, environ: dict[str, str]) -> int:
    """This worker's shard: --shard i/N (N must be the plan's), else JOB_COMPLETION_INDEX."""
    if shard is not None:
        index, count = shard
        if count != plan.shards:
            raise UsageError(f"--shard {index}/{count}: plan {plan.id} has {plan.shards} shards",
                             hint=f"use --shard I/{plan.shards}, or --plan-id for another plan")
        return index
    text = environ.get(JOB_INDEX_ENV)
    if text is None:
        raise UsageError("--worker needs its shard: --shard I/N, or JOB_COMPLETION_INDEX set (as in an Indexed Job)",
                         hint=f"e.g. --shard 0/{plan.shards}")
    if not re.fullmatch(r"[0-9]{1,6}", text.strip()) or int(text) >= plan.shards:
        raise UsageError(f"{JOB_INDEX_ENV}={text!r} is not a shard of plan {plan.id} (0 to {plan.shards - 1})",
                         hint="run the Job with completions equal to the plan's shards")
    return int(text)


def run_worker(store: Store, source: ConversationSource, options: WorkerOptions,
               on_progress: Callable[[ExportProgress], None] | None = None,
               environ: dict[str, str] | None = None) -> ExportSummary:
    """Export this worker's share of the plan until the plan is drained; see the module docstring."""
    worker = _Worker(store, source, options, on_progress or (lambda progress: None))
    return worker.run(dict(os.environ) if environ is None else environ)


class _Worker:
    def __init__(self, store: Store, source: ConversationSource, options: WorkerOptions,
                 on_progress: Callable[[ExportProgress], None]) -> None:
        self.store, self.source, self.options, self.on_progress = store, source, options, on_progress
        self.progress = ExportProgress(listing_done=False)
        self.failures: list[tuple[str, str]] = []
        self.rows_changed = 0
        self.agents: dict[str, dict[str, Any]] = {}
        self.limiter = source.spec.limiter if source.spec is not None else None
        self._results: queue.Queue[Any] = queue.Queue()
        self._stop = threading.Event()
        self._recorded_limit: float | None = None
        self._idle = False  # nothing left to claim: not counted as live, so the busy workers pace faster
        self.plan: work_queue.PlanInfo | None = None
        self.shard = 0
        self.run_id: int | None = None

    # --- the run --------------------------------------------------------------------------------------

    def run(self, environ: dict[str, str]) -> ExportSummary:
        from magent.services.store.checkpoints import take_shared_export_lock

        with self.store.connection(autocommit=True) as session, self.store.connection(autocommit=True) as writer:
            take_shared_export_lock(session)
            self.plan = work_queue.open_plan(session, self.options.plan_id)
            self.shard = resolve_shard(self.plan, self.options.shard, environ)
            if self.plan.status != "open":
                return self.summary("succeeded" if self.plan.status == "done" else self.plan.status)
            self.run_id = work_queue.plan_run(session, self.plan.id)
            self._prepare()
            self._start_pacing(session)
            beat = threading.Thread(target=self._heartbeats, name="export-heartbeat", daemon=True)
            beat.start()
            status = "failed"
            try:
                self._work(writer)
                status = "succeeded" if self.progress.failed == 0 else "partial"
            except KeyboardInterrupt:
                status = "interrupted"
                raise
            finally:
                self._stop.set()
                beat.join(timeout=5)
                self._say_goodbye(session, status)
        return self.summary(status)

    def _start_pacing(self, conn: Connection) -> None:
        """Register as live, then pace at this worker's share of what another worker learned (if any)."""
        self._beat(conn)
        known = work_queue.rate_limit(conn, self.plan.id)
        if known and self.limiter is not None:
            self.limiter.learn_limit(known)
            self._recorded_limit = known

    def _prepare(self) -> None:
        """The agents, and the tokenizer loaded meanwhile, before claiming anything: loading it takes seconds of
        CPU under the GIL (in a pod, once); claimed rows would wait for it under their lease, and this worker
        would take a share of the rate it cannot use yet."""
        from magent.core import tokens

        loading = threading.Thread(target=tokens.preload, name="load-tokenizer", daemon=True)
        loading.start()
        self.agents = {agent["id"]: agent for agent in self.source.agents()}
        loading.join()

    def _work(self, writer: Connection) -> None:
        fetcher = ThreadFetcher(self.source, self.agents, self.plan.redact_content, self.options.concurrency,
                                self._results.put)
        try:
            self._loop(writer, fetcher)
        finally:
            fetcher.close(wait=False)

    def _loop(self, writer: Connection, fetcher: ThreadFetcher) -> None:
        capacity = 2 * self.options.concurrency
        in_flight, batch, last_flush, last_progress = 0, _Batch(), time.monotonic(), 0.0
        while True:
            claimed = 0
            if in_flight <= capacity // 2:
                # few rows at a time: at the end of the plan, rows held here would be the others' to wait for
                items = work_queue.claim(writer, self.plan.id, self.shard, self.options.name,
                                         min(self.options.claim_size, capacity - in_flight), self.options.lease_s)
                self._idle = not items and in_flight == 0
                for claimed_row in items:
                    fetcher.submit(claimed_row.conversation)
                claimed, in_flight = len(items), in_flight + len(items)
                self.progress.to_export += claimed
                self.progress.listed += claimed
            if in_flight == 0:
                self._flush(writer, batch)
                batch, last_flush = _Batch(), time.monotonic()
                if claimed == 0 and self._finished(writer):
                    return
                continue
            try:
                item = self._results.get(timeout=0.2)
            except queue.Empty:
                item = None
            if isinstance(item, BaseException):
                raise item
            if item is not None:
                in_flight -= 1
                self._absorb(item, batch)
            if batch.size >= self.options.claim_size or (batch.size and
                                                         time.monotonic() - last_flush >= self.options.batch_seconds):
                self._flush(writer, batch)
                batch, last_flush = _Batch(), time.monotonic()
            if time.monotonic() - last_progress >= 0.25:
                last_progress = time.monotonic()
                self.on_progress(self.progress)

    def _finished(self, conn: Connection) -> bool:
        """Nothing claimable: done when the plan is drained (finishing it if we are first) or stopped; else
        other workers hold the rows left, which become ours if their leases pass."""
        finished = work_queue.finish_plan_if_drained(conn, self.plan.id)
        if finished is not None:
            self._finish_run(conn, finished)
            return True
        if work_queue.plan_status(conn, self.plan.id) != "open":
            return True
        if work_queue.work_counts(conn, self.plan.id).todo == 0:
            return True
        time.sleep(_IDLE_POLL_S)
        return False

    def _finish_run(self, conn: Connection, finished: work_queue.FinishedPlan) -> None:
        from magent.services.store.checkpoints import RunCounts, finish_run

        if finished.run_id is None:
            return
        self._beat(conn)  # this worker's last counts belong to the totals
        totals = work_queue.worker_totals(conn, self.plan.id)
        counts = work_queue.work_counts(conn, self.plan.id)
        status = "succeeded" if counts.failed == 0 else "partial"
        finish_run(conn, finished.run_id, status, RunCounts(len(self.agents), totals.conversations, totals.entries,
                                                            counts.gone, counts.failed), finished.high_water)

    # --- results and writes ---------------------------------------------------------------------------

    def _absorb(self, item: Fetched, batch: _Batch) -> None:
        conversation = item.conversation
        if item.error is not None:
            if isinstance(item.error, CredentialsRefused):
                raise item.error
            batch.failed[conversation["id"]] = item.error.message
            self.failures.append((conversation["id"], item.error.message))
            log.warning("conversation %s not exported: %s", conversation["id"], item.error.message)
            return
        if item.gone:
            batch.gone.append(conversation["id"])
            return
        rows = item.rows
        if rows is None:  # fetched by a thread: rows and tokens are made here, in the writing thread
            rows = entry_rows(item.history or [], context_for(conversation, self.agents),
                              redact=self.plan.redact_content)
        batch.conversations.append(conversation_row(conversation, redact=self.plan.redact_content))
        batch.entries[conversation["id"]] = rows

    def _flush(self, conn: Connection, batch: _Batch) -> None:
        """Settle the batch's rows and write the conversations still ours, in one transaction (retried when it
        deadlocks with another worker's on the rollup rows)."""
        if not batch.size:
            return
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                kept, changed = self._write_once(conn, batch)
                break
            except Exception as exc:  # noqa: BLE001 - sorted below: retried, translated or raised
                if not _retryable(exc) or attempt == _WRITE_ATTEMPTS - 1:
                    translated = _store_error(self.store, exc, batch)
                    if translated is exc:
                        raise
                    raise translated from exc
                time.sleep(random.uniform(0.01, 0.1) * (attempt + 1))
        self.rows_changed += changed
        self.progress.exported += len(kept)
        self.progress.entries += sum(len(batch.entries[cid]) for cid in kept)
        self.progress.failed += len(batch.failed)
        self.progress.add_skipped(batch.size - len(kept) - len(batch.failed))

    def _write_once(self, conn: Connection, batch: _Batch) -> tuple[set[str], int]:
        from magent.services.store.writer import write_batch

        with conn.transaction():
            kept = work_queue.settle(conn, self.plan.id, done=[c["id"] for c in batch.conversations],
                                     failed=batch.failed, gone=batch.gone)
            mine = ExportBatch(conversations=[c for c in batch.conversations if c["id"] in kept],
                               entries=[row for cid in kept for row in batch.entries[cid]])
            if not mine.conversations:
                return kept, 0
            result = write_batch(conn, mine, run_id=self.run_id)
        return kept, result.conversations + result.entries + result.removed_entries

    # --- heartbeat and the shared rate ----------------------------------------------------------------

    def _heartbeats(self) -> None:
        try:
            with self.store.connection(autocommit=True) as conn:
                while not self._stop.wait(min(self.options.heartbeat_s, self.options.lease_s / 3)):
                    try:
                        self._beat(conn)
                    except Exception as exc:  # noqa: BLE001 - the next beat tries again; writes report the outage
                        log.warning("export worker heartbeat failed: %s", exc)
        except Exception as exc:  # noqa: BLE001 - cannot connect: the main loop meets the same outage
            log.warning("export worker heartbeat stopped: %s", exc)

    def _beat(self, conn: Connection, *, finished: bool = False) -> None:
        stats, progress = self.source.pacing, self.progress
        work_queue.heartbeat(conn, self.plan.id, self.options.name, self.shard, requests=stats.requests,
                             refused=stats.refused, retries=stats.retries, conversations=progress.exported,
                             entries=progress.entries, failed=progress.failed, lease_s=self.options.lease_s,
                             finished=finished or self._idle)
        if finished or self.limiter is None:
            return
        self.limiter.set_share(work_queue.live_workers(conn, self.plan.id))
        learned = self.limiter.advertised_per_minute
        if learned and learned != self._recorded_limit:
            work_queue.record_rate_limit(conn, self.plan.id, learned)
            self._recorded_limit = learned
        elif not learned:
            known = work_queue.rate_limit(conn, self.plan.id)
            if known:
                self.limiter.learn_limit(known)

    def _say_goodbye(self, conn: Connection, status: str) -> None:
        """Final counts; rows claimed and not written go back to the others at once (no lease to wait out)."""
        try:
            work_queue.release(conn, self.plan.id, self.options.name)
            self._beat(conn, finished=True)
        except Exception as exc:  # noqa: BLE001 - the first error (or the result) is the one to report
            if status == "succeeded":
                raise
            log.warning("could not record the end of this worker: %s", exc)

    def summary(self, status: str) -> ExportSummary:
        p, pacing = self.progress, self.source.pacing
        return ExportSummary(
            target=self.store.description, status=status, agents=len(self.agents), conversations=p.exported,
            entries=p.entries, rows_changed=self.rows_changed, skipped=p.skipped, failed=p.failed,
            requests=pacing.requests, duration_s=p.elapsed_s, since=self.plan.since if self.plan else None,
            failures=self.failures, refused=pacing.refused, retries=pacing.retries,
        )


@dataclass
class _Batch:
    conversations: list[dict[str, Any]] = field(default_factory=list)  # conversation rows
    entries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # conversation id → its rows
    failed: dict[str, str] = field(default_factory=dict)
    gone: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.conversations) + len(self.failed) + len(self.gone)


def _retryable(exc: Exception) -> bool:
    import psycopg.errors

    return isinstance(exc, (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure,
                            psycopg.errors.UniqueViolation))


def _store_error(store: Store, exc: Exception, batch: _Batch) -> Exception:
    import psycopg

    from magent.services.store import connect_error, data_error

    if isinstance(exc, psycopg.OperationalError):
        return connect_error(store.host, exc)
    if isinstance(exc, psycopg.Error):
        first = batch.conversations[0]["id"] if batch.conversations else next(iter(batch.failed), None)
        return data_error(store.host, exc, f"a batch of {batch.size} conversations (from {first})")
    return exc
