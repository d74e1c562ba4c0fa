"""Writing a report whose rows stream from the store, in constant memory, whatever the number of groups.

JSON and YAML come out byte for byte as `to_json` / `to_yaml` of the whole document would print them: the
document is serialised with a placeholder for its rows, and the rows are serialised one at a time into it,
indented as the whole-document dump indents them. A table is drawn in pieces of `TABLE_PIECE_ROWS` rows
whose columns all have the same widths (computed beforehand from the totals and the widest labels), joined
into one table: its top border and header on the first piece, its footer and bottom border on the last.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from magent.core.redact import SECRETS

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions
    from rich.table import Table

TABLE_PIECE_ROWS = 1_000
_PLACEHOLDER = "__magent_rows_stream_here__"


def write_json(document: dict[str, Any], rows: Iterable[dict[str, Any]], stream: Any,
               texts: Iterable[str] | None = None) -> None:
    """`print(to_json({**document, "rows": list(rows)}))`, without holding the rows.

    `texts`: the rows already written, as runs of rows joined by ",\\n    " (`services/store/usage_lines.py`)."""
    text = json.dumps({**document, "rows": _PLACEHOLDER}, indent=2, default=str, ensure_ascii=False)
    head, tail = text.split(json.dumps(_PLACEHOLDER), 1)
    stream.write(SECRETS.mask(head))
    empty = True
    items_of = ((",\n    ".join(_json_row(row) for row in batch) for batch in _batches(rows)) if texts is None
                else texts)
    for items in items_of:
        stream.write(SECRETS.mask(("[\n    " if empty else ",\n    ") + items))
        empty = False
    stream.write("[]" if empty else "\n  ]")
    stream.write(SECRETS.mask(tail) + "\n")


_scalar = json.JSONEncoder(ensure_ascii=False, default=str).encode  # the C encoder: no indent to apply


def _json_row(row: dict[str, Any]) -> str:
    """A row as `json.dumps(indent=2)` writes it two levels down (rows hold scalars and lists of scalars)."""
    fields = []
    for key, value in row.items():
        if isinstance(value, list | tuple) and all(not isinstance(item, list | tuple | dict) for item in value):
            text = "[\n        " + ",\n        ".join(map(_scalar, value)) + "\n      ]" if value else "[]"
        elif isinstance(value, dict | list | tuple):
            text = json.dumps(value, indent=2, default=str, ensure_ascii=False).replace("\n", "\n      ")
        else:
            text = _scalar(value)
        fields.append(f"{_scalar(str(key))}: {text}")
    return "{\n      " + ",\n      ".join(fields) + "\n    }" if fields else "{}"


def write_yaml(document: dict[str, Any], rows: Iterable[dict[str, Any]], stream: Any,
               texts: Iterable[str | dict[str, Any]] | None = None) -> None:
    """`print(to_yaml({**document, "rows": list(rows)}), end="")`, without holding the rows.

    `texts`: the rows already written (runs of them), or a row's fields for PyYAML to write
    (`services/store/usage_lines.py`)."""
    import yaml

    text = yaml.safe_dump(_plain({**document, "rows": _PLACEHOLDER}), sort_keys=False, allow_unicode=True)
    head, tail = text.split(f"rows: {_PLACEHOLDER}\n", 1)
    stream.write(SECRETS.mask(head))
    empty = True
    for item in _batches(rows) if texts is None else texts:
        if empty:
            stream.write("rows:\n")
        stream.write(SECRETS.mask(item if isinstance(item, str) else _yaml_rows(
            yaml, item if isinstance(item, list) else [item])))
        empty = False
    if empty:
        stream.write("rows: []\n")
    stream.write(SECRETS.mask(tail))


def _yaml_rows(yaml: Any, rows: list[dict[str, Any]]) -> str:
    plain = _plain(rows)
    # libyaml writes the same text ~10× faster, except where it folds long scalars: those go the slow way
    fast = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    dumper = fast if all(_short_ascii(row) for row in plain) else yaml.SafeDumper
    return str(yaml.dump(plain, Dumper=dumper, sort_keys=False, allow_unicode=True))


def _short_ascii(row: dict[str, Any]) -> bool:
    """No value that a YAML emitter could fold or escape: printable ASCII, each line well under 80 columns."""
    for key, value in row.items():
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, str) and (len(key) + len(item) > 60 or not (item.isascii() and item.isprintable())):
                return False
            if isinstance(item, dict | list):
                return False
    return True


def _batches(rows: Iterable[dict[str, Any]], size: int = 500) -> Iterable[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _plain(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))  # what `to_yaml` dumps: JSON's types only


def print_table_in_pieces(console: Console, make_table: Callable[[bool, bool], Table], widths: list[int],
                          rows: Iterable[tuple[str, ...] | str], piece_rows: int = TABLE_PIECE_ROWS) -> None:
    """Print one table of `rows` as they come; `make_table(first, last)` builds an empty piece of it.

    `widths` are the columns' content widths, which `make_table` must give as `min_width`, at least as wide as
    any cell, so that every piece lines up. Rich draws the first row with the title and header and the last
    with the footer; when the table fits the console (always off a terminal) the rows between are formatted
    here as Rich formats them, which is ~50× faster; otherwise Rich draws them too, `piece_rows` at a time.
    A row may also come as its whole line (a str, formatted by the store as `_plain_rows` would: see
    `services/store/usage_lines.py`), except the first and the last: then the whole table is drawn as wide
    as its data, a line a row, even in a narrower terminal (which wraps or cuts the lines, as with kubectl).
    """
    rows = iter(rows)
    first_row = next(rows, None)
    if first_row is None:
        console.print(make_table(True, True))
        return
    pending = [first_row]
    fits = sum(widths) + 3 * len(widths) + 1 <= console.width
    options = console.options
    head = True
    for row in rows:
        pending.append(row)
        if head and (isinstance(row, str) or len(pending) > piece_rows):
            if isinstance(row, str) and not fits:
                options, fits = console.options.update(width=sum(widths) + 3 * len(widths) + 1), True
            _print_piece(console, make_table(True, False), pending[:1], options, first=True, last=False)
            pending, head = pending[1:], False
        if not head and (len(pending) > piece_rows or isinstance(row, str)):  # a str may hold thousands of lines
            middle, pending = pending[:-1], pending[-1:]
            _print_middle(console, make_table, widths, middle, fits, options)
    if head and len(pending) > 1:
        _print_piece(console, make_table(True, False), pending[:1], options, first=True, last=False)
        pending, head = pending[1:], False
    if len(pending) > 1:
        middle, pending = pending[:-1], pending[-1:]
        _print_middle(console, make_table, widths, middle, fits, options)
    _print_piece(console, make_table(head, True), pending, options, first=head, last=True)


def _print_middle(console: Console, make_table: Callable[[bool, bool], Table], widths: list[int],
                  rows: list[tuple[str, ...] | str], fits: bool, options: ConsoleOptions) -> None:
    if fits:
        console.file.write(_plain_rows(console, make_table, widths, rows, options))
        return
    for row in rows:  # wider than the terminal: Rich wraps the cells
        if isinstance(row, str):
            console.file.write(row)
        else:
            _print_piece(console, make_table(False, False), [row], options, first=False, last=False)


def _print_piece(console: Console, table: Table, rows: list[tuple[str, ...]], options: ConsoleOptions, *,
                 first: bool, last: bool) -> None:
    from rich.segment import Segments

    for row in rows:
        table.add_row(*row)
    lines = console.render_lines(table, options, pad=False, new_lines=True)
    if not first:
        lines = lines[1:]  # the top border: the previous piece's rows continue here
    if not last:
        lines = lines[:-1]  # the bottom border
    # not cropped: a table drawn wider than the terminal (`options`) keeps its whole lines, as its body rows do
    console.print(Segments(segment for line in lines for segment in line), end="", crop=False)


def body_row_separators(console: Console, table: Table) -> tuple[str, str, str]:
    """What Rich draws before, between and after the cells of a body row of `table` (with the newline)."""
    box = table.box.substitute(console.options, safe=table.safe_box if table.safe_box is not None
                               else console.safe_box).get_plain_headed_box()
    return f"{box.mid_left} ", f" {box.mid_vertical} ", f" {box.mid_right}\n"


def _plain_rows(console: Console, make_table: Callable[[bool, bool], Table], widths: list[int],
                rows: list[tuple[str, ...] | str], options: ConsoleOptions) -> str:
    """`rows` as Rich draws a table's unstyled, unwrapped body rows (padding 1, the table's box)."""
    from rich.cells import cell_len

    table = make_table(False, False)
    justify = [column.justify for column in table.columns]
    left, middle, right = body_row_separators(console, table)
    columns = list(zip(widths, justify, strict=True))
    lines = []
    for row in rows:
        if isinstance(row, str):  # already formatted
            lines.append(row)
            continue
        if not all(cell.isprintable() for cell in row):  # a line break or a tab in a name: Rich lays it out
            lines.append(_rich_rows(console, make_table(False, False), row, options))
            continue
        cells = []
        for cell, (width, side) in zip(row, columns):
            if cell.isascii():  # one cell per character: str's own padding, much faster than measuring
                cells.append(cell.rjust(width) if side == "right" else cell.ljust(width))
                continue
            gap = " " * max(0, width - cell_len(cell))
            cells.append(gap + cell if side == "right" else cell + gap)
        lines.append(left + middle.join(cells) + right)
    return "".join(lines)


def _rich_rows(console: Console, table: Table, row: tuple[str, ...], options: ConsoleOptions) -> str:
    table.add_row(*row)
    lines = console.render_lines(table, options, pad=False, new_lines=True)[1:-1]  # no borders
    return "".join(segment.text for line in lines for segment in line)
