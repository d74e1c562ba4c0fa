"""`magent rollback` loads Rich for its summary table while the rollout proceeds, not after "ROLLED BACK"."""

from __future__ import annotations

import threading

import pytest

from magent.cli.rollout import _warming_output
from magent.cli.state import OutputFormat


def _warm_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "magent-warm-output"]


@pytest.mark.parametrize(("fmt", "kind", "warms"), [
    (OutputFormat.table, "rollback_requested", True),
    (OutputFormat.table, "rolled_back", False),  # only once, when the waiting starts
    (OutputFormat.json, "rollback_requested", False),  # JSON lines: no table to prepare
])
def test_the_table_is_prepared_once_the_request_is_sent(fmt, kind, warms):
    seen: list[dict] = []
    started = threading.Thread.start
    names: list[str] = []

    def spying_start(thread: threading.Thread) -> None:
        names.append(thread.name)
        started(thread)

    record = {"event": kind, "deployment": "web"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(threading.Thread, "start", spying_start)
        _warming_output(seen.append, fmt)(record)
    assert seen == [record]  # the screen gets every event first, unchanged
    assert names == (["magent-warm-output"] if warms else [])
    for thread in _warm_threads():
        thread.join(10)
