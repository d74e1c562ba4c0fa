"""GitHub Actions workflow commands: `::error file=F,line=L,col=C,title=T::message`, one per finding.

GitHub shows at most 10 annotations of each level per step; the ones beyond are listed in the step summary
(`$GITHUB_STEP_SUMMARY`, which the caller writes) after the same markdown the PR comment uses.

    fail or error, critical            error       (blocks the release)
    fail or error, warning; any warn   warning
    fail or error, info; manual        notice      (skip: none, the summary lists it)
"""

from __future__ import annotations

from dataclasses import dataclass

from magent.core.preflight import Finding, ItemResult, PreflightReport
from magent.core.preflight_formats._common import by_urgency, finding_severity, mask, place
from magent.core.preflight_formats.markdown import inline, render_markdown

MAX_PER_LEVEL = 10
_LEVEL_OF = {"critical": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    """The message after `::`, as GitHub's toolkit (`escapeData`) escapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A `key=value` property, as GitHub's toolkit (`escapeProperty`) escapes it."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def unescape(text: str) -> str:
    """The inverse of both escapes (what the runner does)."""
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


@dataclass(frozen=True)
class Annotation:
    level: str  # error | warning | notice
    message: str
    title: str
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def command(self) -> str:
        props = []
        if self.file:
            props.append(f"file={escape_property(mask(self.file))}")
            if self.line:
                props.append(f"line={self.line}")
                if self.column:
                    props.append(f"col={self.column}")
        props.append(f"title={escape_property(mask(self.title))}")
        return f"::{self.level} {','.join(props)}::{escape_data(mask(self.message))}"


@dataclass(frozen=True)
class GithubOutput:
    annotations: str  # lines for stdout (the runner turns them into annotations)
    summary: str  # markdown for $GITHUB_STEP_SUMMARY


def annotations(report: PreflightReport, *, runbook_url: str | None = None) -> tuple[list[str], str]:
    """(workflow command lines, step summary markdown): `render_github` as a pair."""
    output = render_github(report, runbook_url=runbook_url)
    return output.annotations.splitlines(), output.summary


def collect(report: PreflightReport) -> list[Annotation]:
    found: list[Annotation] = []
    for item in by_urgency(report):
        if item.status in ("pass", "skip"):
            continue
        title = f"{item.placed.item.id}: {item.placed.item.title}"
        findings = [f for f in item.result.findings if f.file] or [None]
        for finding in findings:
            message = item.result.message if finding is None else finding.message
            found.append(Annotation(_level(item, finding), message, title,
                                    finding.file if finding else None, finding.line if finding else None,
                                    finding.column if finding else None))
    return found


def _level(item: ItemResult, finding: Finding | None) -> str:
    if item.status == "manual":
        return "notice"
    level = _LEVEL_OF[finding_severity(item, finding)]
    if item.status == "warn" and level == "error":
        return "warning"  # met, with something to look at
    return level


def render_github(report: PreflightReport, *, runbook_url: str | None = None) -> GithubOutput:
    shown: list[Annotation] = []
    overflow: list[Annotation] = []
    per_level: dict[str, int] = {}
    for annotation in collect(report):
        per_level[annotation.level] = per_level.get(annotation.level, 0) + 1
        (shown if per_level[annotation.level] <= MAX_PER_LEVEL else overflow).append(annotation)
    lines = [annotation.command() for annotation in shown]
    summary = render_markdown(report, runbook_url=runbook_url, limit=_SUMMARY_LIMIT - _overflow_size(overflow))
    if overflow:
        summary += _overflow_block(overflow)
    text = "\n".join(lines) + "\n" if lines else ""
    return GithubOutput(mask(text), mask(summary))


# GitHub accepts up to 1 MiB of step summary per step; stay well below it.
_SUMMARY_LIMIT = 512 * 1024
_MAX_LISTED = 500
_MAX_LINE = 400


def _overflow_block(overflow: list[Annotation]) -> str:
    lines = ["", f"### {len(overflow)} more annotations", "",
             f"GitHub shows {MAX_PER_LEVEL} annotations of each level per step; these are the rest.", ""]
    for annotation in overflow[:_MAX_LISTED]:
        where = place(Finding("", annotation.file, annotation.line, annotation.column))
        prefix = f"`{inline(where)}` " if where else ""
        line = f"- **{annotation.level}** {prefix}{inline(annotation.title)} — {inline(annotation.message)}"
        lines.append(line if len(line) <= _MAX_LINE else line[:_MAX_LINE] + "…")
    if len(overflow) > _MAX_LISTED:
        lines.append(f"- … and {len(overflow) - _MAX_LISTED} more: run `magent preflight -o json` for all of them")
    return "\n".join(lines) + "\n"


def _overflow_size(overflow: list[Annotation]) -> int:
    return len(_overflow_block(overflow)) if overflow else 0
