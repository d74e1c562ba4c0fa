"""What every report format shares: masking, the order items are shown in, levels, and finding places."""

from __future__ import annotations

from magent.core.preflight import Finding, ItemResult, PreflightReport
from magent.core.redact import SECRETS

# Most urgent first: what a reader (or a truncated comment) must see before the rest.
STATUS_ORDER: dict[str, int] = {"fail": 0, "error": 1, "warn": 2, "manual": 3, "skip": 4, "pass": 5}
EMOJI: dict[str, str] = {"pass": "✅", "fail": "❌", "warn": "⚠️", "error": "💥", "skip": "⏭️", "manual": "✋"}
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


def mask(text: str | None) -> str:
    """The planted-key rule, applied to every string taken from a report (and again to the whole output):
    masking only the output would miss a secret that the format's escaping changed."""
    return SECRETS.mask(text or "")


def by_urgency(report: PreflightReport) -> list[ItemResult]:
    """Items most urgent first (blocking before not), stable within a status."""
    return sorted(report.items, key=lambda item: (STATUS_ORDER[item.status], not report.blocking(item)))


def finding_severity(item: ItemResult, finding: Finding | None = None) -> str:
    severity = (finding.severity if finding else None) or item.placed.item.severity
    return severity if severity in SEVERITY_RANK else item.placed.item.severity


def place(finding: Finding) -> str:
    """`file:line:column` as editors and terminals link it; empty when the finding has no file."""
    if not finding.file:
        return ""
    where = finding.file
    if finding.line:
        where += f":{finding.line}"
        if finding.column:
            where += f":{finding.column}"
    return where


def runbook_path(item: ItemResult) -> str | None:
    runbook = item.placed.item.runbook
    return f"runbooks/{runbook}.md" if runbook else None
