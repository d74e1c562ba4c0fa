"""Rendering reports: a Rich table for people, JSON or YAML for machines. Machine output goes to stdout."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from magent.cli.state import AppState, OutputFormat
from magent.core.redact import SECRETS


def to_json(data: Any) -> str:
    return SECRETS.mask(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def to_yaml(data: Any) -> str:
    import yaml

    return SECRETS.mask(yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False))


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


def simple_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]):
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")  # never hide part of an image name or id behind "…"
    for row in rows:
        table.add_row(*(SECRETS.mask("" if cell is None else str(cell)) for cell in row))
    return table
