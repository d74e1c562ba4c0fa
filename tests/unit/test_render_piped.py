"""Piped or redirected, what the consoles write carries no trailing spaces (Rich pads a table's title and the cells
of a borderless table to the table's width), and nothing else of the text changes."""

from __future__ import annotations

import io

from magent.cli.render import simple_table
from magent.cli.state import AppState


class _Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def _printed(monkeypatch, *renderables) -> str:
    pipe = _Pipe()
    monkeypatch.setattr("sys.stdout", pipe)
    state = AppState()
    for renderable in renderables:
        state.out.print(renderable)
    return pipe.getvalue()


def test_a_wide_table_s_title_is_not_padded(monkeypatch):
    cell = "not read: " + "x" * 150
    text = _printed(monkeypatch, simple_table("deployment web in 2 clusters", ["context", "stable"], [("a", cell)]))
    lines = text.splitlines()
    assert lines[0] == "deployment web in 2 clusters"
    assert all(line == line.rstrip() for line in lines), text
    assert any(cell in line for line in lines) and text.endswith("┘\n")


def test_a_borderless_table_keeps_its_inner_spaces_and_loses_the_trailing_ones(monkeypatch):
    from rich.table import Table

    table = Table(title="last analysis", title_justify="left", box=None, show_header=False, padding=(0, 2))
    table.add_column()
    table.add_column()
    table.add_row("error rate", "0.2 %  (threshold 1 %)")
    table.add_row("p95 latency of a long name", "1")
    lines = _printed(monkeypatch, table, "two  spaces inside,  ").splitlines()
    assert lines == ["last analysis", "  error rate" + " " * 20 + "0.2 %  (threshold 1 %)",
                     "  p95 latency of a long name    1", "two  spaces inside,"]


def test_the_trimmer_holds_spaces_only_until_it_knows_they_are_trailing():
    from magent.cli.render import LineEndTrimmer

    sink = io.StringIO()
    trimmer = LineEndTrimmer(sink)
    for chunk in ("a  ", "b   ", "\n\x1b[3mtitle   \x1b[0m  \n", "end ", "   "):
        trimmer.write(chunk)
        trimmer.flush()
    assert sink.getvalue() == "a  b\n\x1b[3mtitle\x1b[0m\nend"  # a style's reset is kept, its padding is not
    assert not trimmer.isatty()


_LONG_TITLE = "deploy history of deployment customer-support-agent-production in namespace platform-team-eu-west-1"


def test_a_title_longer_than_its_table_stays_on_one_line_piped(monkeypatch):
    """Rich wraps a title at its table's width: over a narrow table, `| cat` got it word by word."""
    from magent.cli.deploy_view import kv_table

    assert len(_LONG_TITLE) > 80
    text = _printed(monkeypatch, simple_table(_LONG_TITLE, ["a", "b"], [("1", "2")]),
                    kv_table(_LONG_TITLE, [("image", "app:v1")]))
    lines = text.splitlines()
    assert lines[0] == _LONG_TITLE and lines[1].startswith("┏"), text
    assert lines[6] == _LONG_TITLE and lines[7] == "  image    app:v1", text


def test_on_a_terminal_a_long_title_wraps_at_the_terminal_s_width_not_the_table_s():
    from rich.console import Console

    terminal = Console(file=io.StringIO(), width=60, force_terminal=True, color_system=None)
    with terminal.capture() as captured:
        terminal.print(simple_table(_LONG_TITLE, ["a", "b"], [("1", "2")]))
    lines = [line.rstrip() for line in captured.get().splitlines()]
    assert " ".join(lines[:3]) == _LONG_TITLE and lines[3].startswith("┏"), lines
    assert all(len(line) <= 60 for line in lines) and len(lines[1]) > 9, lines  # not at the table's 9 columns
