"""The export pipeline: list → fetch histories concurrently → flatten and count tokens → write in batches.

    listing thread   pages agents, then conversations; skips the unchanged ones; submits the others
    fetchers         fetch one history each (paced, retried): threads of this process, or worker processes
                     for large exports, which also turn it into rows with token counts (see `fetch.py`)
    calling thread   turns the threads' histories into rows with token counts (one thread: no GIL hand-offs
                     inside the tokenizer), collects them into batches and writes each in one transaction

A bounded number of conversations is in flight at once, so memory stays flat however many there are.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from magent.core.ctrl_c import is_user_interrupt
from magent.core.errors import CredentialsRefused
from magent.core.export_plan import (
    ExportBatch,
    agent_row,
    context_for,
    conversation_row,
    entry_rows,
    parse_time,
)
from magent.services.mistral.conversations import ConversationSource
from magent.services.store.checkpoints import RunCounts
from magent.workflows.export.fetch import Fetched, ProcessFetcher, ThreadFetcher
from magent.workflows.export.sinks import Sink

log = logging.getLogger(__name__)

_DONE = object()
# Conversations fetched but not yet written, at most: enough to keep fetching while the tokenizer loads
# (about a second) at hundreds of requests per second; a few tens of MB of histories.
_MIN_IN_FLIGHT = 1024
_PROGRESS_EVERY_S = 0.25
# --processes auto. Measured on 2 cores (benchmarks/bench_export.py), workers don't pay: the machine's CPU,
# not the GIL, is then the limit, and starting each worker costs ~2.5 s of CPU (interpreter, SDK, tokenizer).
# With more cores they take over the SDK's CPU cost, once an export has proved large enough to be worth it.
AUTO_PROCESSES_MIN_CONVERSATIONS = 1000
MAX_AUTO_PROCESSES = 4


def auto_processes() -> int:
    """Fetching processes for a large export: one per core but one (left to the writer and Postgres), at
    most MAX_AUTO_PROCESSES; 1 (threads only) on one or two cores."""
    cores = os.cpu_count() or 1
    return 1 if cores <= 2 else min(cores - 1, MAX_AUTO_PROCESSES)


@dataclass(frozen=True)
class ExportOptions:
    since: datetime | None = None  # only conversations updated at or after this instant
    full: bool = False  # ignore checkpoints: export every conversation (changed rows only are rewritten)
    concurrency: int = 8  # histories fetched at once, over all processes
    processes: int | None = 1  # fetching processes (1: threads of this one); None: auto (see auto_processes)
    redact_content: bool = False
    batch_conversations: int = 200
    batch_entries: int = 10_000
    batch_seconds: float = 1.0


@dataclass
class ExportProgress:
    listed: int = 0
    listing_done: bool = False
    to_export: int = 0
    exported: int = 0
    entries: int = 0
    skipped: int = 0
    failed: int = 0
    started: float = field(default_factory=time.monotonic)
    # `skipped` grows in the listing thread (unchanged) and in the calling thread (deleted since listed)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add_skipped(self, count: int) -> None:
        with self._lock:
            self.skipped += count

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started


@dataclass
class ExportSummary:
    target: str
    status: str
    agents: int
    conversations: int
    entries: int
    rows_changed: int
    skipped: int
    failed: int
    requests: int  # HTTP requests sent, retries included, over every fetching process
    duration_s: float
    since: datetime | None
    failures: list[tuple[str, str]]  # (conversation id, reason)
    refused: int = 0  # requests answered 429 (rate limited)
    retries: int = 0  # requests beyond one per API call (after a 429, a 5xx or a reset)


def run_export(source: ConversationSource, sink: Sink, options: ExportOptions,
               on_progress: Callable[[ExportProgress], None] | None = None) -> ExportSummary:
    """Export everything `options` selects from `source` into `sink`; see the module docstring."""
    run = _Run(source, sink, options, on_progress or (lambda progress: None))
    sink.begin(options.since)
    status = "failed"
    try:
        run.execute()
        status = "succeeded" if run.progress.failed == 0 else "partial"
    except BaseException as exc:
        if is_user_interrupt(exc):  # also Ctrl-C that a library turned into another exception
            status = "interrupted"
        raise
    finally:
        run.stop()
        _finish_quietly(sink, status, run)
    return run.summary(status)


def _finish_quietly(sink: Sink, status: str, run: _Run) -> None:
    """Record the end of the run; when that fails too (database gone), the first error is the one to show."""
    try:
        sink.finish(status, run.counts(), run.high_water)
    except Exception as exc:
        if status == "succeeded":
            raise
        log.warning("could not record the end of the export run: %s", exc)


class _Run:
    def __init__(self, source: ConversationSource, sink: Sink, options: ExportOptions,
                 on_progress: Callable[[ExportProgress], None]) -> None:
        self.source, self.sink, self.options, self.on_progress = source, sink, options, on_progress
        self.progress = ExportProgress()
        self.agents: dict[str, dict[str, Any]] = {}
        self.high_water: datetime | None = None
        self.rows_changed = 0
        self.failures: list[tuple[str, str]] = []
        self._results: queue.Queue[Any] = queue.Queue()
        self._slots = threading.BoundedSemaphore(max(_MIN_IN_FLIGHT, options.concurrency * 4))
        self._stop = threading.Event()
        self._seen: set[str] = set()
        self._last_progress = 0.0
        self._fetcher: ThreadFetcher | ProcessFetcher | None = None

    # --- driver (calling thread) --------------------------------------------------------------------

    def execute(self) -> None:
        self.agents = {agent["id"]: agent for agent in self.source.agents()}
        self.rows_changed += self.sink.write(ExportBatch(agents=[agent_row(a, redact=self.options.redact_content)
                                                                 for a in self.agents.values()]))
        lister = threading.Thread(target=self._list, name="export-list", daemon=True)
        lister.start()
        self._collect()
        lister.join()

    def _collect(self) -> None:
        batch, last_flush = ExportBatch(), time.monotonic()
        while True:
            item = self._next_result()
            if item is _DONE:
                break
            self._slots.release()
            self._absorb(item, batch)
            if self._batch_full(batch, last_flush):
                self._flush(batch)
                batch, last_flush = ExportBatch(), time.monotonic()
            elif time.monotonic() - self._last_progress >= _PROGRESS_EVERY_S:
                self._report_progress()
        self._flush(batch)

    def _next_result(self) -> Any:
        while True:
            try:
                item = self._results.get(timeout=0.5)
            except queue.Empty:
                self._report_progress()
                continue
            if isinstance(item, BaseException):
                raise item
            return item

    def _absorb(self, item: Fetched, batch: ExportBatch) -> None:
        if item.error is not None:
            if isinstance(item.error, CredentialsRefused):
                raise item.error
            self.progress.failed += 1
            self.failures.append((item.conversation["id"], item.error.message))
            log.warning("conversation %s not exported: %s", item.conversation["id"], item.error.message)
            return
        if item.gone:
            self.progress.add_skipped(1)
            return
        rows = item.rows if item.rows is not None else self._rows(item.conversation, item.history or [])
        batch.conversations.append(conversation_row(item.conversation, redact=self.options.redact_content))
        batch.entries.extend(rows)

    def _batch_full(self, batch: ExportBatch, last_flush: float) -> bool:
        return (len(batch.conversations) >= self.options.batch_conversations
                or len(batch.entries) >= self.options.batch_entries
                or (bool(batch.conversations) and time.monotonic() - last_flush >= self.options.batch_seconds))

    def _flush(self, batch: ExportBatch) -> None:
        if batch.conversations:
            self.rows_changed += self.sink.write(batch)
            self.progress.exported += len(batch.conversations)
            self.progress.entries += len(batch.entries)
        self._report_progress()

    def _report_progress(self) -> None:
        self._last_progress = time.monotonic()
        self.on_progress(self.progress)

    # --- listing thread -----------------------------------------------------------------------------

    def _list(self) -> None:
        try:
            for page in self.source.conversation_pages():
                for conversation in self._wanted(page):
                    if not self._acquire_slot():
                        return
                    self._submit(conversation)
            self.progress.listing_done = True
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread, which raises it
            self._results.put(exc)
            return
        if self._fetcher is not None:
            self._fetcher.close(wait=True)  # every result is in the queue before _DONE
        self._results.put(_DONE)

    def _submit(self, conversation: dict[str, Any]) -> None:
        if self._fetcher is None:
            self._fetcher = self._threads()
        if isinstance(self._fetcher, ThreadFetcher) and self.options.processes != 1:
            self._fetcher = self._with_processes(self._fetcher)
        self._fetcher.submit(conversation)

    def _threads(self) -> ThreadFetcher:
        # the tokenizer (~180 MB, ~1 s) loads when the first row really needs counting (core/tokens.py)
        return ThreadFetcher(self.source, self.agents, self.options.redact_content, self.options.concurrency,
                             self._results.put)

    def _with_processes(self, threads: ThreadFetcher) -> ThreadFetcher | ProcessFetcher:
        """Worker processes as asked; in auto mode only once the export has proved large (they take seconds
        to start: until then, and until they are ready, the threads fetch)."""
        processes = self.options.processes
        if processes is None:
            if self.progress.to_export < AUTO_PROCESSES_MIN_CONVERSATIONS:
                return threads
            processes = auto_processes()
        processes = min(processes, self.options.concurrency)
        if processes <= 1 or self.source.spec is None:
            return threads
        return ProcessFetcher(self.source.spec, self.agents, self.options.redact_content, processes,
                              self.options.concurrency // processes, self._results.put, local=threads)

    def _acquire_slot(self) -> bool:
        while not self._slots.acquire(timeout=0.5):
            if self._stop.is_set():
                return False
        return not self._stop.is_set()

    def _wanted(self, page: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The conversations of a page to export: updated since `--since`, and changed since their checkpoint."""
        # a conversation updated while we page moves to the first page: it may be listed twice, never write it twice
        page = [c for c in page if c["id"] not in self._seen]
        self._seen.update(c["id"] for c in page)
        self.progress.listed += len(page)
        stamps = {c["id"]: parse_time(c.get("updated_at")) for c in page}
        for stamp in stamps.values():
            if stamp is not None and (self.high_water is None or stamp > self.high_water):
                self.high_water = stamp
        chosen = [c for c in page if self.options.since is None or _not_before(stamps[c["id"]], self.options.since)]
        if not self.options.full and chosen:
            known = self.sink.known(c["id"] for c in chosen)
            chosen = [c for c in chosen if c["id"] not in known or known[c["id"]] != stamps[c["id"]]]
        self.progress.add_skipped(len(page) - len(chosen))
        self.progress.to_export += len(chosen)
        return chosen

    def _rows(self, conversation: dict[str, Any], history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        context = context_for(conversation, self.agents)
        return entry_rows(history, context, redact=self.options.redact_content)

    # --- end ----------------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()
        if self._fetcher is not None:
            self._fetcher.close(wait=False)

    def counts(self) -> RunCounts:
        p = self.progress
        return RunCounts(len(self.agents), p.exported, p.entries, p.skipped, p.failed)

    def summary(self, status: str) -> ExportSummary:
        p, pacing = self.progress, self.source.pacing
        return ExportSummary(
            target=self.sink.description, status=status, agents=len(self.agents), conversations=p.exported,
            entries=p.entries, rows_changed=self.rows_changed, skipped=p.skipped, failed=p.failed,
            requests=pacing.requests, duration_s=p.elapsed_s, since=self.options.since,
            failures=self.failures, refused=pacing.refused, retries=pacing.retries,
        )


def _not_before(stamp: datetime | None, since: datetime) -> bool:
    return stamp is None or stamp >= since
