"""What `magent runbook` reads from a runbook: title, "when", alerts, sections; and the shipped runbooks name
every alert of the alert table, each in the runbook that the table points to."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from magent.core import alert_table
from magent.core.runbooks import DEFAULT_REQUIRED, describe, headings, section

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "magent" / "data" / "runbooks"
SHIPPED_INFO = {path.stem: describe(path.stem, path.read_text(encoding="utf-8")) for path in SHIPPED.glob("*.md")}

TEXT = """\
# Incident: it fails

> **When:** an alert fires, or users
> report errors.
>
> **Alerts:** `magent-api-down`, `magent-high-latency`

Intro paragraph.

## Check

    # a shell comment, not a heading
    magent status -d agent

### Details

more

## Act

roll back
"""


def test_describe_reads_the_quoted_fields_across_lines() -> None:
    info = describe("incident", TEXT)
    assert info.title == "Incident: it fails"
    assert info.when == "an alert fires, or users report errors."
    assert info.alerts == ("magent-api-down", "magent-high-latency")
    assert info.sections == ("Check", "Act")


@pytest.mark.parametrize("field", ["> When: slow pages", "> __When:__ slow pages", "> **when** : slow pages"])
def test_when_field_spellings(field: str) -> None:
    assert describe("x", f"# X\n\n{field}\n").when == "slow pages"


def test_without_fields_when_is_the_first_paragraph_and_alerts_are_empty() -> None:
    info = describe("db", "# Our DB runbook\n\nWhen the database\nis **slow**.\n\nSecond.\n\n## Act\n")
    assert (info.when, info.alerts) == ("When the database is slow.", ())
    assert describe("bare", "no heading at all\n").title == "bare"


def test_alerts_without_code_spans_are_comma_separated_names() -> None:
    assert describe("x", "# X\n\n> Alerts: db-slow, db-down\n").alerts == ("db-slow", "db-down")


def test_section_runs_to_the_next_heading_of_its_level() -> None:
    check = section(TEXT, "check")
    assert check.startswith("## Check\n") and "### Details" in check and "more" in check and "Act" not in check
    assert section(TEXT, "Act") == "## Act\n\nroll back\n"
    assert section(TEXT, "Details") is None  # level 3: not a runbook section
    assert section(TEXT, "a shell comment") is None  # a `#` line inside a code block is not a heading


@pytest.mark.parametrize("name", sorted(DEFAULT_REQUIRED))
def test_each_shipped_runbook_says_when_to_use_it(name: str) -> None:
    info = SHIPPED_INFO[name]
    assert 20 <= len(info.when) <= 200 and info.when.endswith(".")
    assert info.alerts, f"{name}.md names no alert under its title"


def test_every_alert_named_by_a_runbook_is_in_the_alert_table() -> None:
    known = {rule.alarm_name() for rule in alert_table.ALERT_TABLE}
    named = {alert for info in SHIPPED_INFO.values() for alert in info.alerts}
    assert named <= known, named - known


def test_every_alert_leads_to_a_runbook_that_names_it() -> None:
    for rule in alert_table.ALERT_TABLE:
        runbook = getattr(rule, "runbook", None)  # the table's own pointer, when it has one
        leading = [name for name, info in SHIPPED_INFO.items() if rule.alarm_name() in info.alerts]
        assert leading, f"no runbook names {rule.alarm_name()}"
        if runbook:
            assert runbook in leading, f"{rule.alarm_name()} points to {runbook}.md, which does not name it"


_MARKDOWNISH = st.lists(st.sampled_from(["# T", "## Act", "## Check: us?", "### Sub", "> When: x", "> y",
                                          "> **Alerts:** `a-b`, c", "```", "    code", "", "text"])
                        | st.text(max_size=30), max_size=25).map("\n".join)


@given(_MARKDOWNISH, st.text(max_size=20))
def test_any_text_describes_and_sections_without_crashing(text: str, wanted: str) -> None:
    info = describe("x", text)
    assert isinstance(info.when, str) and all(" " not in alert for alert in info.alerts)
    assert section(text, wanted) is None or wanted.strip()
    for heading in headings(text):
        if heading.level <= 2 and heading.text:
            found = section(text, heading.text)
            assert found is not None and found.splitlines()[0] == text.splitlines()[heading.line - 1]


def test_a_blank_section_name_matches_no_heading_not_even_an_empty_one() -> None:
    # found by the fuzz test above: section("#", "") returned "#\n"
    assert section("#", "") is None and section("# T\n##\nbody", " ") is None
    assert section("# T\n## Act\nbody", "act") == "## Act\nbody\n"
