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
