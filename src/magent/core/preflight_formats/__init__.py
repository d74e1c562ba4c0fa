"""Preflight reports for machines and reviewers: JUnit XML, SARIF 2.1.0, a pull-request comment in Markdown,
and GitHub Actions annotations. Pure: a `PreflightReport` in, text out; the CLI writes it where it belongs.

    render(report, "sarif", rules=CHECKS)     # check type → CheckType (or → its one-line summary)

Every format masks every secret this process knows (`SECRETS.mask`) in each string it takes from the report and
in the text it returns: the planted-key rule holds in every format.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from magent.core.errors import UsageError
from magent.core.preflight import PreflightReport
from magent.core.preflight_formats.github import GithubOutput, render_github
from magent.core.preflight_formats.junit import render_junit
from magent.core.preflight_formats.markdown import render_markdown
from magent.core.preflight_formats.sarif import render_sarif

FORMATS = ("junit", "sarif", "markdown", "github")


def render(report: PreflightReport, fmt: str, *, rules: Mapping[str, Any] | None = None,
           security: Collection[str] = (), runbook_url: str | None = None) -> str:
    """The report in `fmt`. `rules` maps check types to their one-line summary (SARIF rule descriptions) or to
    their CheckType (summary and `.security`), `security` names more security check types (SARIF
    security-severity), `runbook_url` is where `runbooks/NAME.md` can be linked (e.g. the repository's blob URL at
    this commit). For `github` this is the annotation lines only: `render_github` also returns the step summary."""
    if fmt == "junit":
        return render_junit(report)
    if fmt == "sarif":
        return render_sarif(report, rules=rules or {}, security=security)
    if fmt == "markdown":
        return render_markdown(report, runbook_url=runbook_url)
    if fmt == "github":
        return render_github(report, runbook_url=runbook_url).annotations
    raise UsageError(f"unknown report format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")


__all__ = ["FORMATS", "GithubOutput", "render", "render_github", "render_junit", "render_markdown",
           "render_sarif"]
