"""`magent runbook [NAME]`: list the on-call runbooks, or show one (Rich Markdown on a terminal, text when piped)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from magent.cli.render import emit
from magent.cli.state import OutputOption, get_state
from magent.core.errors import UsageError
from magent.core.text import counted

if TYPE_CHECKING:
    from magent.cli.state import AppState
    from magent.core.runbooks import RunbookInfo
    from magent.services.runbooks import RunbookFolder

HELP = """On-call runbooks: list them, or show one (Markdown in a terminal, plain text when piped).

Without NAME, lists the runbooks with their title, when to use each and the alerts that lead to it. With NAME,
shows it: rendered on a terminal, the Markdown file unchanged when stdout is piped (`| less`, `> file`).
The runbooks are those of ./runbooks when the current directory has one (your team's), else the ones magent
ships (incident, rollback, key-rotation, usage-limits, escalation); --shipped and --dir choose.

A runbook says when to use it and which alerts lead to it in two quoted lines under its title: "> **When:**"
and "> **Alerts:**" followed by alert names in backticks. Without them, its first paragraph is shown.

Exit codes: 0 shown; 2 unknown runbook or section (close matches are named), or --dir missing.

\b
Examples:
  magent runbook
  magent runbook incident
  magent runbook rollback --section "Roll back"
  magent runbook incident --pager
  magent runbook -o json
"""


def _complete_name(incomplete: str) -> list[str]:
    from magent.core.errors import MagentError
    from magent.services.runbooks import locate

    try:
        return [name for name in locate(Path.cwd()).names() if name.startswith(incomplete)]
    except (MagentError, OSError):  # completion never prints a traceback into the user's prompt
        return []


def runbook(
    name: Annotated[Optional[str], typer.Argument(
        metavar="NAME", show_default=False, autocompletion=_complete_name,
        help="The runbook to show (a file name without .md). Without it, list them.")] = None,
    section: Annotated[Optional[str], typer.Option(
        "--section", "-s", metavar="HEADING", show_default=False,
        help="Show only this section (a '#' or '##' heading, e.g. Act).")] = None,
    directory: Annotated[Optional[Path], typer.Option(
        "--dir", metavar="DIR", show_default=False,
        help="Read the runbooks of DIR [default: ./runbooks when it has any, else magent's].")] = None,
    shipped: Annotated[bool, typer.Option("--shipped", help="Read the runbooks magent ships, even when ./runbooks "
                                                           "exists.")] = False,
    pager: Annotated[bool, typer.Option("--pager", help="Page a rendered runbook through $PAGER (default less).")
                     ] = False,
    output: OutputOption = None,
) -> None:
    from magent.services.runbooks import locate

    state = get_state()
    folder = locate(Path.cwd(), directory, shipped=shipped)
    if name is None:
        if section is not None:
            raise UsageError("--section needs a runbook", hint=f"magent runbook NAME --section {section!r}")
        _list(state, folder, output)
    else:
        _show(state, folder, name, section=section, pager=pager, output=output)


def register(app: typer.Typer) -> None:
    app.command("runbook", help=HELP)(runbook)


def _list(state: AppState, folder: RunbookFolder, output: Any) -> None:
    from magent.core.runbooks import describe
    from magent.services.runbooks import read

    infos = [describe(name, read(folder, name)[1]) for name in folder.names()]
    if not sys.stdout.isatty():
        state.out.width = 1000  # piped: one runbook per line, never folded (the table is only as wide as its text)
    data = {"source": folder.source, "dir": str(folder.path),
            "runbooks": [_info_data(info, folder.path / f"{info.name}.md") for info in infos]}
    emit(state, state.output_format(output), data, table=lambda: _table(folder, infos))


def _show(state: AppState, folder: RunbookFolder, name: str, *, section: str | None, pager: bool,
          output: Any) -> None:
    from magent.core.runbooks import describe
    from magent.services.runbooks import read

    path, text = read(folder, name)
    info = describe(path.stem, text)
    shown = _section(info, text, section) if section else text
    fmt = state.output_format(output)
    if fmt.value != "table":
        emit(state, fmt, {**_info_data(info, path), "source": folder.source, "section": section, "text": shown})
    elif not sys.stdout.isatty():
        sys.stdout.write(shown)  # piped: the Markdown as written, for grep, a file or another viewer
    else:
        _render(state, folder, path, shown, pager=pager)


def _section(info: RunbookInfo, text: str, wanted: str) -> str:
    from magent.core.runbooks import section

    found = section(text, wanted)
    if found is None:
        raise UsageError(f"runbook {info.name} has no section {wanted!r}",
                         hint=f"its sections: {', '.join(info.sections) or 'none'}")
    return found


def _render(state: AppState, folder: RunbookFolder, path: Path, text: str, *, pager: bool) -> None:
    from contextlib import nullcontext

    from rich.markdown import Markdown

    if sys.stderr.isatty():
        state.err.print(f"{path.name} from {folder.label}", style="dim", highlight=False)
    if pager:
        os.environ.setdefault("LESS", "FRX")  # as git does: colours, and no pager for a runbook that fits
    with state.out.pager(styles=True) if pager else nullcontext():
        state.out.print(Markdown(text, code_theme="ansi_dark", hyperlinks=False))


def _info_data(info: RunbookInfo, path: Path) -> dict[str, Any]:
    return {"name": info.name, "title": info.title, "when": info.when, "alerts": list(info.alerts),
            "sections": list(info.sections), "path": str(path)}


def _table(folder: RunbookFolder, infos: list[RunbookInfo]) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    piped = not sys.stdout.isatty()
    table = Table(header_style="bold")
    for column in ("name", "title", "when to use", "alerts"):
        # piped output keeps each runbook on one line (grep, a CI log); a terminal folds long cells
        table.add_column(column, no_wrap=piped, overflow="fold", style="bold" if column == "name" else "")
    for info in infos:
        table.add_row(Text(info.name), Text(info.title), Text(info.when), Text(", ".join(info.alerts) or "-"))
    hint = Text(f"{counted(len(infos), 'runbook')} in {folder.path} · magent runbook NAME shows one", style="dim")
    return Group(Text(f"Runbooks: {folder.label}", style="bold"), table, hint)
