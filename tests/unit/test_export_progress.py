"""The export's plain progress lines (no TTY): counts, rate, ETA once the listing is done."""

from __future__ import annotations

from magent.cli.conversations import _progress_line
from magent.workflows.export.runner import ExportProgress


def progress(**fields) -> ExportProgress:
    state = ExportProgress(**fields)
    state.started -= 10.0  # ten seconds ago
    return state


def test_line_while_listing_has_no_eta():
    line = _progress_line(progress(listed=300, exported=100, entries=2_000))
    assert line.startswith("export: 100 (listed 300) conversations, 2,000 entries, 10.0 conv/s")
    assert "ETA" not in line


def test_line_after_listing_shows_total_eta_and_problems():
    line = _progress_line(progress(listed=400, listing_done=True, to_export=300, exported=100, entries=2_000,
                                   skipped=100, failed=2))
    assert line == "export: 100/300 conversations, 2,000 entries, 10.0 conv/s, ETA 20 s, 100 unchanged, 2 failed"
