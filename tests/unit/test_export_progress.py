"""The export's plain progress lines (no TTY): counts, rate, ETA once the listing is done and the pace since the
first conversation is known; the summary table's counts with thousands separators."""

from __future__ import annotations

from magent.cli.conversations import _ExportPace, _progress_line, _summary_table
from magent.workflows.export.runner import ExportProgress


def progress(**fields) -> ExportProgress:
    state = ExportProgress(**fields)
    state.started -= 10.0  # ten seconds ago
    return state


def test_line_while_listing_has_no_eta():
    line = _progress_line(progress(listed=300, exported=100, entries=2_000), 10.0)
    assert line.startswith("export: 100 (listed 300) conversations, 2,000 entries, 10.0 conv/s")
    assert "ETA" not in line


def test_line_after_listing_shows_total_eta_and_problems():
    line = _progress_line(progress(listed=400, listing_done=True, to_export=300, exported=100, entries=2_000,
                                   skipped=100, failed=2), 5.0)
    assert line == "export: 100/300 conversations, 2,000 entries, 10.0 conv/s, ETA 40 s, 100 unchanged, 2 failed"


def test_no_eta_until_the_pace_since_the_first_conversation_is_known():
    # the tokenizer took 9 s to load: the average since the start (0.2 conv/s) would say ETA 44 s
    slow_start = progress(listing_done=True, to_export=10, exported=2, entries=20)
    assert "ETA" not in _progress_line(slow_start, None)
    pace = _ExportPace()
    assert pace.rate(0, now=100.0) is None  # nothing done yet
    assert pace.rate(1, now=101.0) is None  # the first conversation: the clock starts here
    assert pace.rate(2, now=101.5) is None  # one more in 0.5 s: too few, too soon
    assert abs(pace.rate(4, now=101.6) - 5.0) < 1e-9  # three more in 0.6 s
    slow = _ExportPace()
    slow.rate(1, now=0.0)
    assert slow.rate(2, now=1.9) is None and slow.rate(2, now=2.0) == 0.5  # or two seconds since the first
    line = _progress_line(slow_start, 4.0)
    assert "ETA 2 s" in line


def test_summary_table_counts_have_thousands_separators():
    from rich.console import Console

    data = {"target": "postgres", "agents": 3, "conversations": 1_206, "entries": 12_345, "rows_changed": 1_000,
            "skipped": 0, "failed": 0, "requests": 2_500, "rate_limited": 0, "retries": 0, "duration_s": 7.25,
            "status": "complete"}
    console = Console(width=120, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(_summary_table(data))
    text = console.export_text()
    assert "1,206" in text and "12,345" in text and "2,500" in text and "7.2 s" in text
