"""Runbooks are Markdown files with required sections: what `docs.runbooks` proves. Pure: text in, facts out.

A section is an ATX heading of level 1 or 2 (`# Title`, `## Check`) outside fenced code blocks (a `# comment`
in a shell block is not a heading). A required section matches a heading case-insensitively, ignoring
punctuation at the ends, and also when the heading adds words after it ("Check: is it us or Mistral?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The runbooks the production checklist names, with the sections an on-call engineer needs in each.
DEFAULT_REQUIRED: dict[str, list[str]] = {
    "incident": ["Symptoms", "Check", "Act", "Verify", "Escalate"],
    "key-rotation": ["When to rotate", "Rotate", "Verify", "If the key leaked"],
    "rollback": ["When to roll back", "Roll back", "Verify", "If the rollback fails"],
    "escalation": ["Severity", "Who to page", "What to send"],
    "usage-limits": ["Symptoms", "Check", "Act", "Prevent"],
}
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"  # a runbook name is a file name, never a path

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    line: int  # 1-based


def headings(text: str) -> list[Heading]:
    """Every ATX heading outside fenced code blocks."""
    found: list[Heading] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        opened = _FENCE.match(line)
        if opened:
            marker = opened.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence) and not line.strip()[len(marker):].strip():
                fence = None
            continue
        if fence is not None:
            continue
        match = _HEADING.match(line)
        if match:
            found.append(Heading(len(match.group(1)), (match.group(2) or "").strip(), number))
    return found


def normalize(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s'-]+", " ", text.casefold()).split())


def has_section(found: list[Heading], required: str) -> bool:
    wanted = normalize(required)
    if not wanted:  # a blank name names no section (it would match an empty heading, "#" alone)
        return False
    for heading in found:
        if heading.level > 2:
            continue
        text = normalize(heading.text)
        if text == wanted or text.startswith(wanted + " "):
            return True
    return False


def missing_sections(text: str, required: list[str]) -> list[str]:
    found = headings(text)
    return [section for section in required if not has_section(found, section)]


def title_line(text: str) -> int:
    """Line of the runbook's title (its first level-1 heading, else its first heading, else 1)."""
    found = headings(text)
    first = next((h for h in found if h.level == 1), found[0] if found else None)
    return first.line if first else 1


# -- what `magent runbook` shows -------------------------------------------------------------------------------
#
# Under its title, a runbook says when to use it and which alerts lead to it, as quoted lines that read well
# in any Markdown viewer (no front matter):
#
#     # Incident: the application is failing
#
#     > **When:** an alert fires for the application, or users report errors.
#     >
#     > **Alerts:** `magent-api-down`, `magent-high-latency`
#
# A runbook without them (a team's own) still lists: "when" falls back to its first paragraph.

_FIELD = re.compile(r"^ {0,3}>\s*(?:\*\*|__)?(when|alerts)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(.*?)\s*$",
                    re.IGNORECASE)
_QUOTED = re.compile(r"^ {0,3}>\s?(.*)$")
_CODE_SPAN = re.compile(r"`([^`]+)`")
_EMPHASIS = re.compile(r"\*\*|__|`")


@dataclass(frozen=True)
class RunbookInfo:
    name: str
    title: str
    when: str
    alerts: tuple[str, ...]
    sections: tuple[str, ...]  # the level-2 headings, in order


def describe(name: str, text: str) -> RunbookInfo:
    found = headings(text)
    title = next((h.text for h in found if h.level == 1), name)
    fields = _fields(text)
    return RunbookInfo(
        name=name,
        title=title,
        when=_plain(fields.get("when", "")) or _first_paragraph(text),
        alerts=_alerts(fields.get("alerts", "")),
        sections=tuple(h.text for h in found if h.level == 2),
    )


def _fields(text: str) -> dict[str, str]:
    """The first `> When:` and `> Alerts:` fields, as written; a field continues on the quoted lines after it."""
    fields: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        match = _FIELD.match(line)
        quoted = _QUOTED.match(line)
        if match:
            current = match.group(1).lower()
            if current in fields:
                current = None  # only the first of each counts
            else:
                fields[current] = match.group(2)
        elif current and quoted and quoted.group(1).strip():
            fields[current] += " " + quoted.group(1).strip()
        else:
            current = None
    return fields


def _plain(markdown: str) -> str:
    return " ".join(_EMPHASIS.sub("", markdown).split())


def _alerts(value: str) -> tuple[str, ...]:
    """Alert names: the code spans of the line (`magent-api-down`), else its comma-separated words."""
    spans = _CODE_SPAN.findall(value)
    names = spans or [part.strip() for part in value.split(",")]
    return tuple(dict.fromkeys(name for name in names if name and " " not in name))


def _first_paragraph(text: str) -> str:
    """The first paragraph after the title: the lines up to a blank line, joined."""
    lines: list[str] = []
    for line in _body_lines(text):
        prose = line.strip() and not line.lstrip().startswith(("#", "|", "```", "~~~")) and not line.startswith("    ")
        if prose:
            lines.append(line.strip().lstrip("> ").strip())
        elif lines:
            break
    return _plain(" ".join(lines))


def _body_lines(text: str) -> list[str]:
    lines = text.splitlines()
    return lines[title_line(text):] if headings(text) else lines


def section(text: str, wanted: str) -> str | None:
    """The section whose heading matches `wanted` (as `has_section` does), heading included, up to the next
    heading of the same or a higher level; None when there is none."""
    found = headings(text)
    for index, heading in enumerate(found):
        if heading.level <= 2 and has_section([heading], wanted):
            end = next((h.line for h in found[index + 1:] if h.level <= heading.level), None)
            lines = text.splitlines()
            return "\n".join(lines[heading.line - 1:(end - 1) if end else None]).rstrip("\n") + "\n"
    return None
