"""A pull-request comment: the verdict first, then what needs attention (remediation, runbook, places), then
every item in one table per section. GitHub refuses comments over 65,536 characters: the text is cut at a
line boundary with a note, and since the urgent part comes first, what is cut is the least urgent."""

from __future__ import annotations

from magent.core.preflight import ItemResult, PreflightReport
from magent.core.preflight_formats._common import EMOJI, by_urgency, mask, place, runbook_path

GITHUB_COMMENT_LIMIT = 65_536
_MAX_FINDINGS = 10  # per item in the attention list; the rest are counted
_MAX_TEXT = 2_000  # per message: one runaway message must not push every other item out of the comment
_CUT_NOTE = ("\n\n> ✂️ Truncated to stay within GitHub's comment size limit: {n} more lines. "
             "Run `magent preflight -o json` (or see the job's artifacts) for the full report.\n")


def cell(text: str | None) -> str:
    """Text that stays inside one table cell: pipes escaped, newlines as <br>."""
    text = _clip(mask(text)).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    return "<br>".join(part.strip() for part in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def inline(text: str | None) -> str:
    """Text on one line of a list item."""
    return " ".join(_clip(mask(text)).replace("<", "&lt;").split())


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"


def render_markdown(report: PreflightReport, *, runbook_url: str | None = None,
                    limit: int = GITHUB_COMMENT_LIMIT) -> str:
    lines = _headline(report)
    attention = [item for item in by_urgency(report) if item.status in ("fail", "error", "warn", "manual")]
    if attention:
        lines += ["", "### Needs attention", ""]
        for item in attention:
            lines += _attention(report, item, runbook_url)
    lines += ["", "### All items", ""]
    for section in report.checklist.sections:
        items = [item for item in report.items if item.placed.section.id == section.id]
        if items:
            lines += _table(section.title, items)
    return mask(_truncate(lines, limit))


def _headline(report: PreflightReport) -> list[str]:
    verdict = "✅ Ready" if report.ready else "❌ Not ready"
    counts = " · ".join(f"{EMOJI[status]} {n} {status}" for status, n in report.counts().items() if n)
    facts = [f"checklist `{inline(report.checklist.name)}`", f"fail on `{report.fail_on}`"]
    if report.duration_s:
        facts.append(f"{report.duration_s:.1f} s")
    if report.started_at:
        facts.append(inline(report.started_at))
    return [f"## {verdict} to release — magent preflight", "", counts or "no items", "",
            f"<sub>{' · '.join(facts)}</sub>"]


def _attention(report: PreflightReport, item: ItemResult, runbook_url: str | None) -> list[str]:
    placed = item.placed.item
    blocking = "" if report.blocking(item) or item.status not in ("fail", "error") else " (below fail-on)"
    lines = [f"- {EMOJI[item.status]} **{inline(placed.id)}** — {inline(placed.title)} "
             f"_{item.status}, {placed.severity}{blocking}_",
             f"  - {inline(item.result.message)}"]
    if item.status in ("fail", "warn", "manual", "error"):
        fix = f"  - **Fix:** {inline(placed.remediation)}"
        runbook = runbook_path(item)
        if runbook:
            target = f"{runbook_url.rstrip('/')}/{placed.runbook}.md" if runbook_url else None
            fix += f" · runbook: [`{runbook}`]({target})" if target else f" · runbook: `{runbook}`"
        lines.append(fix)
    findings = item.result.findings
    for finding in findings[:_MAX_FINDINGS]:
        where = place(finding)
        lines.append(f"  - `{inline(where)}` {inline(finding.message)}" if where else
                     f"  - {inline(finding.message)}")
    if len(findings) > _MAX_FINDINGS:
        lines.append(f"  - … and {len(findings) - _MAX_FINDINGS} more findings")
    return lines


def _table(title: str, items: list[ItemResult]) -> list[str]:
    lines = [f"**{inline(title)}**", "", "| | Item | Title | Result |", "|---|---|---|---|"]
    for item in items:
        lines.append(f"| {EMOJI[item.status]} | `{cell(item.placed.item.id)}` | {cell(item.placed.item.title)} "
                     f"| {cell(item.result.message)} |")
    return [*lines, ""]


def _truncate(lines: list[str], limit: int) -> str:
    text = "\n".join(lines).rstrip() + "\n"
    if len(text) <= limit:
        return text
    kept: list[str] = []
    size = 0
    budget = limit - len(_CUT_NOTE.format(n=len(lines))) - 1
    for line in lines:
        if size + len(line) + 1 > budget:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept).rstrip() + _CUT_NOTE.format(n=len(lines) - len(kept))
