"""Fetching histories for the export: in threads of this process, or in worker processes.

Fetching a history costs a few milliseconds of CPU, mostly in the SDK (building the request, validating
the response into pydantic models, dumping them back to dicts), so one process (one GIL) tops out at a
couple of hundred requests per second whatever the concurrency. `ProcessFetcher` spreads that work over
worker processes ("spawn": never fork a process that runs threads), each with its own SDK client and a few
threads, each returning finished rows (tokens counted there too, the tokenizer loaded on first need). Only the calling process writes, so
batching, checkpoints and the rollup are exactly as with threads.

`ThreadFetcher` threads only fetch: the thread that writes makes the rows and counts their tokens. The
tokenizer releases the GIL on each of its ~20 calls per conversation, and from 8 fetching threads every call
was a hand-off between threads: counting cost ~0.65 ms per conversation there against ~0.2 ms in one thread.

Workers share the calling process's rate limiter (shared memory: `--rate` and the `x-ratelimit-*`
adaptation bound the total), receive the API key through the pool initializer (a pipe, never argv or the
environment), ignore Ctrl-C (the parent stops them) and exit on their own when the parent dies (SIGKILL).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from magent.core import errors as error_classes
from magent.core.errors import MagentError
from magent.core.export_plan import context_for, entry_rows
from magent.services.mistral.conversations import ConversationSource, SourceSpec

_PARENT_CHECK_S = 0.2
CHUNK_PER_THREAD = 8  # conversations sent to a worker at once, per fetching thread: few round trips, short tails


@dataclass
class Fetched:
    conversation: dict[str, Any]
    history: list[dict[str, Any]] | None = None
    rows: list[dict[str, Any]] | None = None  # None: rows to be made by the writer, from `history`
    error: MagentError | None = None
    gone: bool = False  # deleted between the listing and the fetch


Deliver = Callable[[Any], None]  # a Fetched, or an exception that ends the export


class ThreadFetcher:
    """Histories fetched by a pool of threads of this process; the writer makes their rows (see the module doc)."""

    remote_requests = 0  # requests of this fetcher are counted by the source

    def __init__(self, source: ConversationSource, agents: Mapping[str, Mapping[str, Any]], redact: bool,
                 threads: int, deliver: Deliver) -> None:
        self.source, self.agents, self.redact, self.deliver = source, agents, redact, deliver
        self.threads = max(1, threads)
        self.backlog = 0  # submitted, not delivered yet
        self._backlog_lock = threading.Lock()
        self._stopped = threading.Event()
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="export")

    def submit(self, conversation: dict[str, Any]) -> None:
        with self._backlog_lock:
            self.backlog += 1
        self._pool.submit(self._fetch, conversation).add_done_callback(self._done)

    def flush(self) -> None:
        """Nothing is held back: every conversation is submitted at once."""

    def _fetch(self, conversation: dict[str, Any]) -> Fetched:
        if self._stopped.is_set():
            return Fetched(conversation, error=MagentError("export stopped"))
        try:
            history = self.source.history(conversation["id"])
        except MagentError as exc:
            return Fetched(conversation, error=exc)
        if history is None:
            return Fetched(conversation, gone=True)
        return Fetched(conversation, history=history)

    def _done(self, future: Future) -> None:
        with self._backlog_lock:
            self.backlog -= 1
        if not future.cancelled():
            exc = future.exception()
            self.deliver(exc if exc is not None else future.result())

    def close(self, *, wait: bool) -> None:
        """wait=True: every result is delivered before this returns; False: stop now, drop what is queued."""
        if not wait:
            self._stopped.set()
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


class ProcessFetcher:
    """Histories fetched by `processes` worker processes with `threads` threads each, in chunks.

    Workers take a couple of seconds to start (interpreter, SDK, tokenizer); until the first is ready,
    conversations keep going to `local` (threads of this process), as long as those have work queued for
    no more than two rounds, so the export runs at full speed from its first second.
    """

    def __init__(self, spec: SourceSpec, agents: Mapping[str, Mapping[str, Any]], redact: bool,
                 processes: int, threads: int, deliver: Deliver, local: ThreadFetcher) -> None:
        import multiprocessing

        self.deliver, self.local = deliver, local
        self.remote_requests = 0  # made by the workers (one per conversation)
        self._chunk_size = max(1, threads) * CHUNK_PER_THREAD
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        context = multiprocessing.get_context("spawn")
        spec.limiter.share(context)  # from now on this process and the workers draw from one budget
        self._ready = context.Value("i", 0)  # workers started and warm
        self._pool = ProcessPoolExecutor(
            processes, mp_context=context, initializer=_init_worker,
            initargs=(spec, dict(agents), redact, max(1, threads), os.getpid(), self._ready),
        )
        for _ in range(processes):  # the pool starts a worker per task: start them all now, not on demand
            self._pool.submit(int)

    def submit(self, conversation: dict[str, Any]) -> None:
        if self._ready.value == 0 and self.local.backlog < 2 * self.local.threads:
            self.local.submit(conversation)
            return
        self._pending.append(conversation)
        if len(self._pending) >= self._chunk_size:
            self.flush()

    def flush(self) -> None:
        chunk, self._pending = self._pending, []
        if chunk:
            future = self._pool.submit(fetch_chunk, chunk)
            future.add_done_callback(lambda done: self._done(chunk, done))

    def _done(self, chunk: list[dict[str, Any]], future: Future) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:  # a worker died (BrokenProcessPool): the export cannot go on
            self.deliver(exc)
            return
        for conversation, outcome in zip(chunk, future.result()):
            with self._lock:
                self.remote_requests += 1
            self.deliver(_fetched_from(conversation, outcome))

    def close(self, *, wait: bool) -> None:
        if wait:
            self.flush()
        self.local.close(wait=wait)
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


def _fetched_from(conversation: dict[str, Any], outcome: tuple[Any, ...]) -> Fetched:
    kind = outcome[0]
    if kind == "rows":
        return Fetched(conversation, rows=outcome[1])
    if kind == "gone":
        return Fetched(conversation, gone=True)
    _, class_name, message, hint, exit_code = outcome
    error_class = getattr(error_classes, class_name, MagentError)
    if not (isinstance(error_class, type) and issubclass(error_class, MagentError)):
        error_class = MagentError
    return Fetched(conversation, error=error_class(message, hint=hint, exit_code=exit_code))


# --- in the worker processes ---------------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _init_worker(spec: SourceSpec, agents: dict[str, dict[str, Any]], redact: bool, threads: int,
                 parent_pid: int, ready: Any) -> None:
    """Watch the parent, open this worker's client, load what the first request would (then say so)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), name="watch-parent", daemon=True).start()
    source, client = spec.open()
    client.beta.conversations  # noqa: B018 - the SDK imports its conversation models on first access
    _worker.update(source=source, client=client, agents=agents, redact=redact,
                   pool=ThreadPoolExecutor(threads, thread_name_prefix="fetch"))
    with ready.get_lock():
        ready.value += 1


def _exit_with_parent(parent_pid: int) -> None:
    """The parent was killed (SIGKILL leaves no time to stop us): exit rather than linger as an orphan."""
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_CHECK_S)
    os._exit(1)


def fetch_chunk(conversations: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Fetch and flatten each conversation (in the worker's threads); plain tuples go back to the parent."""
    return list(_worker["pool"].map(_fetch_one, conversations))


def _fetch_one(conversation: dict[str, Any]) -> tuple[Any, ...]:
    try:
        history = _worker["source"].history(conversation["id"])
    except MagentError as exc:  # sent as plain values: the parent rebuilds the same error class
        return ("error", type(exc).__name__, exc.message, exc.hint, exc.exit_code)
    if history is None:
        return ("gone",)
    context = context_for(conversation, _worker["agents"])
    return ("rows", entry_rows(history, context, redact=_worker["redact"]))
