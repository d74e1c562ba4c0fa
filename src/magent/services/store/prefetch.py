"""Rows of a server-side cursor fetched a batch ahead, in a thread, while the caller writes the batch before.

A server-side cursor computes its rows as they are fetched (FETCH n): read in turn, the server waits while the
client writes and the client waits while the server formats. `usage report` at 500 k groups spent a second
and more in those waits (bench_usage_report.py). psycopg releases the GIL while it waits for the server.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

BATCH_ROWS = 5_000
_AHEAD = 2  # batches fetched but not yet written: bounds the memory (JSON: ~2.5 MB of text a batch)


def prefetched_texts(cursor: Any, separator: str, batch_rows: int = BATCH_ROWS) -> Iterator[str]:
    """The first column of the cursor's rows, `batch_rows` at a time, joined by `separator` into one text each.

    The cursor must have been executed and must not be used by anyone else until the iterator is done or closed
    (closing it, or an exception in the caller, stops the fetching thread before returning)."""
    batches: queue.Queue[list[Any] | BaseException] = queue.Queue(maxsize=_AHEAD)
    stop = threading.Event()

    def hand_over(item: list[Any] | BaseException) -> None:
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def fetch() -> None:
        try:
            while not stop.is_set():
                rows = cursor.fetchmany(batch_rows)
                hand_over(rows)
                if not rows:
                    return
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            hand_over(exc)

    thread = threading.Thread(target=fetch, name="magent-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = batches.get()
            if isinstance(item, BaseException):
                raise item
            if not item:
                return
            yield separator.join(row[0] for row in item)
    finally:
        stop.set()
        thread.join()
