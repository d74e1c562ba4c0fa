"""The export's own pacing under a server rate limit: few 429s, and the summary says how many there were.

The simulator's limit is a sliding 60-second window; pacing only shows once an export outlasts a window. To
keep the test short, time runs `SPEED` times faster for both sides: the simulator's limiter reads a scaled
clock, and the export's limiter is given the same clock (and a sleep that waits the scaled time). A limit of
60 requests per (scaled) minute is then 30 requests per real second over a 2-second window.
"""

from __future__ import annotations

import time

from fixtures.mistral import SIM_API_KEY

from magent.sandbox.mistral import KeySpec
from magent.services.mistral.conversations import RequestRateLimiter, SourceSpec
from magent.workflows.export.runner import ExportOptions, run_export
from magent.workflows.export.sinks import JsonlSink

SPEED = 30.0
LIMIT_RPM = 60
CONVERSATIONS = 150


def scaled_clock() -> float:
    return time.monotonic() * SPEED


def scaled_sleep(seconds: float) -> None:
    time.sleep(seconds / SPEED)


def test_export_paced_by_headers_draws_few_refusals_and_reports_them(make_mistral_sim, tmp_path):
    sim = make_mistral_sim(keys=[KeySpec(SIM_API_KEY, rpm=LIMIT_RPM, tpm=10**12)], agents=2,
                           conversations=CONVERSATIONS, entries_per_conversation=2, seed=5)
    sim.gate.limiter._clock = scaled_clock  # the simulator's window: 60 scaled seconds = 2 real ones
    limiter = RequestRateLimiter(None, adaptive=True, clock=scaled_clock, sleep=scaled_sleep)
    source, client = SourceSpec(sim.url, SIM_API_KEY, timeout_s=10, max_retry_s=60, limiter=limiter).open()
    before = sim.request_count
    with client:
        summary = run_export(source, JsonlSink(str(tmp_path / "out.jsonl")), ExportOptions(concurrency=8))

    sent = sim.request_count - before
    useful = 1 + 2 + CONVERSATIONS  # agents, two pages of conversations, one history each
    assert summary.status == "succeeded" and summary.conversations == CONVERSATIONS
    assert sent - useful < 0.05 * sent, f"{sent - useful} refused of {sent} requests"  # every extra one is a retry
    assert (summary.requests, summary.retries) == (sent, sent - useful)
    assert summary.refused == sent - useful  # no other fault: each retry followed a 429
    assert_summary_reports_the_counts(summary)


def assert_summary_reports_the_counts(summary) -> None:
    from rich.console import Console

    from magent.cli.conversations import _summary_data, _summary_table

    data = _summary_data(summary)
    assert (data["requests"], data["rate_limited"], data["retries"]) == (
        summary.requests, summary.refused, summary.retries)
    console = Console(width=200, record=True)
    console.print(_summary_table(data))
    lines = console.export_text().splitlines()
    for label, value in (("API requests", summary.requests), ("rate limited (429)", summary.refused),
                         ("retries", summary.retries)):
        assert any(label in line and f" {value:,} " in line for line in lines), (label, lines)
