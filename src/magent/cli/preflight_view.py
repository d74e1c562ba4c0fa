"""How a preflight report looks: the Rich table grouped by section, the failures with their remediation,
progress while checks run, and the machine formats written to stdout or files."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from magent.core.preflight import SYMBOLS
from magent.core.redact import SECRETS

if TYPE_CHECKING:
    from magent.cli.state import AppState
    from magent.core.preflight import ItemResult, PreflightReport

_STYLES = {"pass": "green", "fail": "bold red", "warn": "yellow", "error": "bold yellow", "skip": "dim",
           "manual": "cyan"}
_SEVERITY_STYLES = {"critical": "bold", "warning": "", "info": "dim"}
_MAX_FINDINGS_SHOWN = 20


@contextlib.contextmanager
def progress(state: AppState, total: int) -> Iterator[Callable[[ItemResult], None]]:
    """A spinner with a count on stderr in a terminal; nothing when plain (CI logs get the report itself)."""
    if state.plain:
        yield lambda result: None
        return
    done = 0
    with state.err.status(f"running {total} checks…") as status:
        def advance(result: ItemResult) -> None:
            nonlocal done
            done += 1
            status.update(f"running {total} checks… {done} done, last: {result.placed.item.id}")

        yield advance


def render_outputs(state: AppState, report: PreflightReport, fmt: str, files: list[tuple[Path, str]]) -> None:
    for path, file_format in files:
        _write(path, render_text(report, file_format))
    if os.environ.get("GITHUB_ACTIONS") == "true":
        _github(state, report, to_stdout=fmt in ("table", "markdown"))
    if fmt == "table":
        _print_table(state, report)
    else:
        print(render_text(report, fmt), end="")


def render_text(report: PreflightReport, fmt: str) -> str:
    """`report` as text in a machine format (json, yaml, junit, sarif, markdown), every secret masked."""
    from magent.cli.render import to_json, to_yaml

    if fmt == "json":
        return to_json(report.to_dict()) + "\n"
    if fmt == "yaml":
        return to_yaml(report.to_dict())
    from magent.core.preflight_formats import render

    text = render(report, fmt, rules=_rules())
    return SECRETS.mask(text if text.endswith("\n") else text + "\n")


def _rules() -> dict[str, Any]:
    from magent.checks import CHECKS

    return {name: check for name, check in CHECKS.items()}


def _write(path: Path, text: str) -> None:
    from magent.core.errors import UsageError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # never a half-written report
    except OSError as exc:
        raise UsageError(f"--output-file {path}: {exc.strerror}", hint="pick a writable path") from None


def _github(state: AppState, report: PreflightReport, *, to_stdout: bool) -> None:
    """Workflow commands for GitHub Actions; the rest of the annotations in the step summary."""
    from magent.core.preflight_formats.github import annotations

    lines, summary = annotations(report)
    stream = sys.stdout if to_stdout else sys.stderr
    for line in lines:
        print(SECRETS.mask(line), file=stream)
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path and summary:
        with contextlib.suppress(OSError), open(summary_path, "a", encoding="utf-8") as handle:
            handle.write(SECRETS.mask(summary) + "\n")


def _print_table(state: AppState, report: PreflightReport) -> None:
    console = state.out
    if not sys.stdout.isatty():
        console.width = max(console.width, 240)  # a CI log must not fold ids or messages into pieces
    console.print(_table(report))
    for item in report.items:
        if item.status in ("fail", "error") or (item.status == "warn" and item.result.findings):
            console.print(_details(item))
    console.print(_footer(report))


def _table(report: PreflightReport) -> Any:
    from rich.table import Table
    from rich.text import Text

    title = f"Preflight: {report.checklist.name} ({report.checklist.source})"
    from magent.cli.render import table_title

    table = Table(title=table_title(title), title_justify="left", header_style="bold", show_lines=False)
    table.add_column("", no_wrap=True)
    table.add_column("item", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("result", overflow="fold")
    current = None
    for item in report.items:
        section = item.placed.section
        if section.id != current:
            if current is not None:
                table.add_section()
            table.add_row("", Text(section.title, style="bold underline"), "", "")
            current = section.id
        status = item.status
        table.add_row(Text(SYMBOLS[status], style=_STYLES[status]),
                      Text(item.placed.item.id),
                      Text(item.placed.item.severity, style=_SEVERITY_STYLES[item.placed.item.severity]),
                      Text(SECRETS.mask(f"{status}: {item.result.message}"), style=_STYLES[status]
                           if status in ("fail", "error") else ""))
    return table


def _details(item: ItemResult) -> Any:
    """One failing item: what, where, the fix and the runbook, indented so that wrapped lines stay inside."""
    from rich.console import Group
    from rich.text import Text

    placed = item.placed.item
    head = Text(f"{SYMBOLS[item.status]} {placed.id}", style=_STYLES[item.status])
    head.append(f" ({placed.severity}) {placed.title}", style="bold")
    lines: list[Any] = [Text(""), head, _indented(SECRETS.mask(item.result.message), 2)]
    findings = item.result.findings
    for finding in findings[:_MAX_FINDINGS_SHOWN]:
        lines.append(_indented(SECRETS.mask(_finding_line(finding)), 4))
    if len(findings) > _MAX_FINDINGS_SHOWN:
        lines.append(_indented(f"… and {len(findings) - _MAX_FINDINGS_SHOWN} more (-o json lists all)", 4, "dim"))
    if item.status == "error":
        lines.append(_indented("The check could not run: fix what it names, then run preflight again.", 2, "dim"))
    lines.append(_indented(f"Fix: {placed.remediation}", 2, "green"))
    if placed.runbook:
        lines.append(_indented(f"Runbook: runbooks/{placed.runbook}.md", 2, "dim"))
    return Group(*lines)


def _indented(text: str, indent: int, style: str = "") -> Any:
    from rich.padding import Padding
    from rich.text import Text

    return Padding(Text(text, style=style), (0, 0, 0, indent), expand=False)


def _finding_line(finding: Any) -> str:
    where = ":".join(str(part) for part in (finding.file, finding.line, finding.column) if part is not None)
    shown = finding.fingerprint and finding.fingerprint.removeprefix("sha256:")[:8] not in finding.message
    mark = f"  [{finding.fingerprint}]" if shown else ""
    return f"{where + ': ' if where else ''}{finding.message}{mark}"


def _footer(report: PreflightReport) -> Any:
    from rich.text import Text

    from magent.core.timeutil import isoformat_seconds

    style = "bold green" if report.ready else "bold red"
    text = Text(f"\n{report.summary()}", style=style)
    started = isoformat_seconds(report.started_at) if report.started_at else "-"  # -o json keeps it exact
    text.append(f" · exit {report.exit_code} · {report.duration_s:.1f} s · {started}", style="dim")
    skipped = [item.placed.item.id for item in report.items if item.status == "skip"]
    if skipped:
        text.append(f"\nSkipped ({len(skipped)}): {', '.join(skipped)} — the table says which flag enables each.",
                    style="dim")
    return text
