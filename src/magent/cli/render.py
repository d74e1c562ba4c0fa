"""Rendering reports: a Rich table for people, JSON or YAML for machines. Machine output goes to stdout."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from typing import IO, Any, cast

from magent.cli.state import AppState, OutputFormat
from magent.core.redact import SECRETS


def to_json(data: Any) -> str:
    return SECRETS.mask(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def to_yaml(data: Any) -> str:
    import yaml

    # allow_unicode: "café…" as -o json prints it, not "caf\xE9\u2026" (usage_stream.write_yaml writes the same)
    return SECRETS.mask(yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False,
                                       allow_unicode=True))


def emit(
    state: AppState,
    fmt: OutputFormat,
    data: Any,
    table: Callable[[], Any] | None = None,
) -> None:
    """Print `data` as JSON/YAML, or the Rich renderable `table()` builds for the table format."""
    if fmt is OutputFormat.json:
        print(to_json(data))
    elif fmt is OutputFormat.yaml:
        print(to_yaml(data), end="")
    elif table is not None:
        state.out.print(table())
    else:
        print(to_yaml(data), end="")


def table_title(text: str | None) -> Any:
    """`Table(title=table_title(text), ...)`: a title that may be wider than its table, up to the console's width.

    Rich wraps a title at its table's width: over a narrow table, piped output (whose console is unbounded, see
    state.UNBOUNDED_WIDTH) got a long title folded word by word. On a terminal it wraps at the terminal's width.
    Markup in `text` is read as in a plain string title.
    """
    from rich.text import Text

    if text is None:
        return None
    title = _table_title_class()(style="table.title")
    title.append_text(Text.from_markup(text))
    return title


@functools.cache
def _table_title_class() -> Any:
    from rich.text import Text

    class TableTitle(Text):
        def __rich_console__(self, console: Any, options: Any) -> Any:
            width = min(console.width, max(options.max_width, self.cell_len))
            yield from super().__rich_console__(console, options.update(width=width))

    return TableTitle


def simple_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]):
    from rich.table import Table

    table = Table(title=table_title(title), title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")  # never hide part of an image name or id behind "…"
    for row in rows:
        table.add_row(*(SECRETS.mask("" if cell is None else str(cell)) for cell in row))
    return table


# spaces and SGR codes (colours, when FORCE_COLOR asks for them off a terminal) up to the end of the text
_TRAILING = re.compile(r"(?:[ \t]|\x1b\[[0-9;]*m)+$")


class LineEndTrimmer:
    """A text stream that drops the spaces ending each line, for consoles writing to a pipe or a file.

    Rich pads a table's title and a borderless table's cells to the table's width: invisible on a terminal, noise
    in a CI log or a diff. Spaces are held back until the next character shows whether they end the line; colour
    codes among them are kept. Everything else is the stream's.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._held = ""

    def write(self, text: str) -> int:
        if not self._held and "\x1b" not in text and " \n" not in text and "\t\n" not in text \
                and not text.endswith((" ", "\t")):
            self._stream.write(text)  # nothing to trim: usage report's thousands of store-made lines per write
            return len(text)
        *lines, last = (self._held + text).split("\n")
        tail = _TRAILING.search(last)
        self._held = tail.group() if tail else ""
        self._stream.write("\n".join([*(_trimmed(line) for line in lines), last[:tail.start()] if tail else last]))
        return len(text)

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def line_end_trimmed(stream: Any) -> IO[str]:
    """`stream` writing lines without their trailing spaces, typed as the stream Rich's Console takes."""
    return cast("IO[str]", LineEndTrimmer(stream))


def _trimmed(line: str) -> str:
    if "\x1b" not in line:
        return line.rstrip(" \t")
    tail = _TRAILING.search(line)
    return line[:tail.start()] + re.sub(r"[ \t]", "", tail.group()) if tail else line
