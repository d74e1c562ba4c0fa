"""The export pipeline: list → fetch histories concurrently → flatten and count tokens → write in batches.

    listing thread   pages agents, then conversations; skips the unchanged ones; submits the others
    worker threads   fetch one history each (paced, retried) and turn it into rows (tokens counted here:
                     the tokenizer releases the GIL)
    calling thread   collects finished conversations into batches and writes each in one transaction

A bounded number of conversations is in flight at once, so memory stays flat however many there are.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from magent.core import tokens
from magent.core.errors import CredentialsRefused, MagentError
from magent.core.export_plan import ExportBatch, agent_row, context_for, conversation_row, entry_rows, parse_time
from magent.services.export.sinks import Sink
from magent.services.mistral.conversations import ConversationSource
from magent.services.store.checkpoints import RunCounts

log = logging.getLogger(__name__)

_DONE = object()
# Conversations fetched but not yet written, at most: enough to keep fetching while the tokenizer loads
# (about a second) at hundreds of requests per second; a few tens of MB of histories.
_MIN_IN_FLIGHT = 1024
_PROGRESS_EVERY_S = 0.25


@dataclass(frozen=True)
class ExportOptions:
    since: datetime | None = None  # only conversations updated at or after this instant
    full: bool = False  # ignore checkpoints: export every conversation (changed rows only are rewritten)
    concurrency: int = 8
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
    requests: int
    duration_s: float
    since: datetime | None
    failures: list[tuple[str, str]]  # (conversation id, reason)


@dataclass
class _Fetched:
    conversation: dict[str, Any]
    history: list[dict[str, Any]] | None = None
    rows: list[dict[str, Any]] | None = None  # None: not flattened yet (the tokenizer was still loading)
    error: MagentError | None = None
    gone: bool = False  # deleted between the listing and the fetch


def run_export(source: ConversationSource, sink: Sink, options: ExportOptions,
               on_progress: Callable[[ExportProgress], None] | None = None) -> ExportSummary:
    """Export everything `options` selects from `source` into `sink`; see the module docstring."""
    run = _Run(source, sink, options, on_progress or (lambda progress: None))
    sink.begin(options.since)
    status = "failed"
    try:
        run.execute()
        status = "succeeded" if run.progress.failed == 0 else "partial"
    except KeyboardInterrupt:
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
        self._tokenizer_loading = False
        self._seen: set[str] = set()
        self._last_progress = 0.0
        self._pool = ThreadPoolExecutor(max(1, options.concurrency), thread_name_prefix="export")

    # --- driver (calling thread) --------------------------------------------------------------------

    def execute(self) -> None:
        self.agents = {agent["id"]: agent for agent in self.source.agents()}
        self.rows_changed += self.sink.write(ExportBatch(agents=[agent_row(a) for a in self.agents.values()]))
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

    def _absorb(self, item: _Fetched, batch: ExportBatch) -> None:
        if item.error is not None:
            if isinstance(item.error, CredentialsRefused):
                raise item.error
            self.progress.failed += 1
            self.failures.append((item.conversation["id"], item.error.message))
            log.warning("conversation %s not exported: %s", item.conversation["id"], item.error.message)
            return
        if item.gone:
            self.progress.skipped += 1
            return
        rows = item.rows if item.rows is not None else self._rows(item.conversation, item.history or [])
        batch.conversations.append(conversation_row(item.conversation))
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
                wanted = self._wanted(page)
                if wanted and not self._tokenizer_loading:
                    # only now: a run with nothing to export, or an API that fails at once, never pays for it
                    threading.Thread(target=tokens.preload, name="tokenizer-load", daemon=True).start()
                    self._tokenizer_loading = True
                for conversation in wanted:
                    if not self._acquire_slot():
                        return
                    self._pool.submit(self._fetch, conversation).add_done_callback(self._deliver)
            self.progress.listing_done = True
        except BaseException as exc:  # handed to the calling thread, which raises it
            self._results.put(exc)
            return
        self._pool.shutdown(wait=True)  # every result (and its callback) is in the queue before _DONE
        self._results.put(_DONE)

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
        self.progress.skipped += len(page) - len(chosen)
        self.progress.to_export += len(chosen)
        return chosen

    # --- worker threads -----------------------------------------------------------------------------

    def _fetch(self, conversation: dict[str, Any]) -> _Fetched:
        if self._stop.is_set():
            return _Fetched(conversation, error=MagentError("export stopped"))
        try:
            history = self.source.history(conversation["id"])
        except MagentError as exc:
            return _Fetched(conversation, error=exc)
        if history is None:
            return _Fetched(conversation, gone=True)
        if not tokens.loaded():  # don't hold a fetch slot while the tokenizer loads: the writer will count
            return _Fetched(conversation, history=history)
        return _Fetched(conversation, rows=self._rows(conversation, history))

    def _rows(self, conversation: dict[str, Any], history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        context = context_for(conversation, self.agents)
        return entry_rows(history, context, redact=self.options.redact_content)

    def _deliver(self, future: Future) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        self._results.put(exc if exc is not None else future.result())

    # --- end ----------------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def counts(self) -> RunCounts:
        p = self.progress
        return RunCounts(len(self.agents), p.exported, p.entries, p.skipped, p.failed)

    def summary(self, status: str) -> ExportSummary:
        p = self.progress
        return ExportSummary(
            target=self.sink.description, status=status, agents=len(self.agents), conversations=p.exported,
            entries=p.entries, rows_changed=self.rows_changed, skipped=p.skipped, failed=p.failed,
            requests=self.source.requests, duration_s=p.elapsed_s, since=self.options.since,
            failures=self.failures,
        )


def _not_before(stamp: datetime | None, since: datetime) -> bool:
    return stamp is None or stamp >= since
