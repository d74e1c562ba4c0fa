"""The streaming writers of `usage report` print exactly what the whole-document writers print."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.table import Table

from magent.cli.render import to_json, to_yaml
from magent.cli.usage_stream import print_table_in_pieces, write_json, write_yaml
from magent.core.redact import SECRETS

DOCUMENT = {"window": {"since": "2026-11-01T00:00:00Z", "until": None}, "group_by": ["conversation"],
            "rows": None, "totals": {"cost_usd": 1.5, "unpriced_models": [], "pricing": "partial"},
            "note": "é ü 日本", "daily": [{"day": "2026-11-01", "unpriced_models": ["x"]}]}


def row(n: int) -> dict:
    return {
        "conversation_id": f"c{n}",
        "conversation_name": [None, "Ré « x » 日本", "plain name", "word " * 30, "sk-planted-secret-123"][n % 5],
        "outputs": n, "cost_usd": n / 7, "input_cost_usd": None if n % 4 else 10**20, "pricing": "partial",
        "unpriced_models": [] if n % 3 else ["m1", "é"],
    }


@pytest.mark.parametrize("count", [0, 1, 2, 777])
@pytest.mark.parametrize("shape", ["mixed", "short"])
def test_json_and_yaml_are_the_whole_documents_text(count, shape, monkeypatch):
    monkeypatch.setattr(SECRETS, "_secrets", {"sk-planted-secret-123"})
    rows = [row(n) if shape == "mixed" else {"conversation_id": f"c{n}", "cost_usd": n / 3, "unpriced_models": []}
            for n in range(count)]
    whole = {**DOCUMENT, "rows": rows}
    out = io.StringIO()
    write_json({**DOCUMENT, "rows": iter(rows)}, iter(rows), out)
    assert out.getvalue() == to_json(whole) + "\n"
    out = io.StringIO()
    write_yaml({**DOCUMENT, "rows": iter(rows)}, iter(rows), out)
    assert out.getvalue() == to_yaml(whole)
    assert count < 4 or "sk-planted-secret-123" not in out.getvalue()


def _table(first: bool, last: bool, widths: list[int]) -> Table:
    table = Table(title="Tokens and cost" if first else None, title_justify="left", header_style="bold",
                  show_header=first, show_footer=last)
    table.add_column("Conversation", footer="Total", min_width=widths[0], no_wrap=False)
    table.add_column("Cost (USD)", footer="$9,999.0000", justify="right", no_wrap=True, min_width=widths[1])
    return table


@pytest.mark.parametrize("count", [1, 2, 3, 7, 25])
@pytest.mark.parametrize("console_width", [100_000, 30])  # off a terminal; a terminal narrower than the table
def test_a_table_in_pieces_is_the_one_rich_table(count, console_width):
    rows = [(f"conversation {n} « é »" if n % 2 else f"c{n}" if n % 5 else f"c{n}\ttab", f"${n:,.4f}")
            for n in range(count)]
    widths = [max(len(label) for label, _ in rows) if count else 0, len("$9,999.0000")]
    widths[0] = max(widths[0], len("Conversation"))

    def printed(action) -> str:
        console = Console(file=io.StringIO(), width=console_width, soft_wrap=False, no_color=True,
                          highlight=False)
        action(console)
        return console.file.getvalue()

    def whole(console: Console) -> None:
        table = _table(True, True, widths)
        for cells in rows:
            table.add_row(*cells)
        console.print(table)

    pieces = printed(lambda console: print_table_in_pieces(
        console, lambda first, last: _table(first, last, widths), widths, iter(rows), piece_rows=3))
    assert pieces == printed(whole)
    assert all(label.split("\t")[0] in pieces for label, _ in rows) or console_width < 100


def test_lines_formatted_by_the_store_are_written_as_they_come():
    """A str row (thousands of lines from the store) is written once the next row comes: one text held at most."""
    console = Console(file=io.StringIO(), width=100_000, soft_wrap=False, no_color=True, highlight=False)
    widths = [len("Conversation"), len("$9,999.0000")]
    body = [f"│ {f'c{n}':<12} │ {'$1.0000':>11} │\n" for n in range(3)]

    def rows():
        yield "first", "$1.0000"
        for n, line in enumerate(body):
            yield line * 2_000  # one text of many lines
            assert n == 0 or console.file.getvalue().endswith(body[n - 1] * 2_000), "held back"
        yield "last", "$2.0000"

    print_table_in_pieces(console, lambda first, last: _table(first, last, widths), widths, rows())
    out = console.file.getvalue()
    assert out.count("│ c1 ") == 2_000 and out.index("first") < out.index("│ c0 ") < out.index("last")


def test_a_long_table_of_store_lines_in_a_narrower_terminal_is_drawn_as_wide_as_its_data():
    """kubectl's policy for a terminal narrower than a table of thousands of groups: a line a row, unwrapped,
    its header and footer as wide as the lines the store formatted (not folded to the terminal by Rich)."""
    widths = [len("conversation 9999"), len("$9,999.0000")]
    body = "".join(f"│ {f'conversation {n}':<17} │ {'$1.0000':>11} │\n" for n in range(2, 1_500))
    rows = [("conversation 1", "$1.0000"), body, ("conversation 9999", "$2.0000")]

    def printed(width: int) -> str:
        console = Console(file=io.StringIO(), width=width, soft_wrap=False, no_color=True, highlight=False)
        print_table_in_pieces(console, lambda first, last: _table(first, last, widths), widths, iter(rows))
        return console.file.getvalue()

    narrow = printed(24)
    assert narrow == printed(100_000)  # as off a terminal
    table_lines = narrow.splitlines()[1:]  # below the title
    assert len(table_lines) == 1_499 + 7 and {len(line) for line in table_lines} == {sum(widths) + 7}
