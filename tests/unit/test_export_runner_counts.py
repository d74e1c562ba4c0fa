"""The export runner's counters are updated from the listing thread and the calling thread at once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from magent.core.export_plan import ExportBatch
from magent.workflows.export.fetch import Fetched
from magent.workflows.export.runner import ExportOptions, ExportProgress, _Run


class NoSource:
    requests = 0
    spec = None


class NoSink:
    description = "nowhere"


class SlowToRead(ExportProgress):
    """CPython's GIL rarely switches inside `x += n`; a read that yields makes the lost update certain."""

    @property
    def skipped(self) -> int:  # type: ignore[override]
        value = self.__dict__.get("_skipped", 0)
        time.sleep(0.0005)
        return value

    @skipped.setter
    def skipped(self, value: int) -> None:
        self.__dict__["_skipped"] = value


def test_skipped_counts_from_two_threads_lose_nothing():
    run = _Run(NoSource(), NoSink(), ExportOptions(since=datetime(2030, 1, 1, tzinfo=UTC), full=True),
               lambda progress: None)
    run.progress = SlowToRead()
    rounds = 200

    def listing() -> None:  # before --since: skipped by the listing thread
        for i in range(rounds):
            run._wanted([{"id": f"c{i}", "updated_at": "2026-01-01T00:00:00Z"}])

    lister = threading.Thread(target=listing)
    lister.start()
    for i in range(rounds):  # deleted since listed: skipped by the calling thread
        run._absorb(Fetched({"id": f"g{i}"}, gone=True), ExportBatch())
    lister.join()
    assert run.progress.skipped == 2 * rounds
