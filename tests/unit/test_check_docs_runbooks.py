"""docs.runbooks: the shipped runbooks pass; a repository's runbooks missing a runbook or a section fail with
findings; paths never leave the directory they name. And the heading parser, fuzzed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from magent.checks import PreflightOptions
from magent.core import runbooks
from magent.core.runbooks import DEFAULT_REQUIRED, headings, missing_sections, title_line
from tests.fixtures.preflight import run_check

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "magent" / "data" / "runbooks"


def copy_shipped(repo: Path) -> Path:
    target = repo / "runbooks"
    target.mkdir(parents=True)
    for path in SHIPPED.glob("*.md"):
        (target / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return target


def test_shipped_runbooks_pass_and_say_they_are_magents() -> None:
    result = run_check("docs.runbooks")
    assert result.status == "pass", result
    assert "the runbooks magent ships" in result.message and "no --repo" in result.message


def test_shipped_runbooks_are_used_when_the_repo_has_none(tmp_path: Path) -> None:
    result = run_check("docs.runbooks", options=PreflightOptions(repo=tmp_path))
    assert result.status == "pass" and "--repo has no runbooks/" in result.message


@pytest.mark.parametrize("name", sorted(DEFAULT_REQUIRED))
def test_shipped_runbooks_name_magent_commands_and_are_concise(name: str) -> None:
    text = (SHIPPED / f"{name}.md").read_text(encoding="utf-8")
    assert 40 <= len(text.splitlines()) <= 90
    assert "magent " in text and not missing_sections(text, DEFAULT_REQUIRED[name])


def test_repo_runbook_missing_a_section_fails_with_its_title_line(tmp_path: Path) -> None:
    directory = copy_shipped(tmp_path)
    text = (directory / "rollback.md").read_text(encoding="utf-8")
    (directory / "rollback.md").write_text("\n\n" + text.replace("## Verify", "## Afterwards"), encoding="utf-8")
    (directory / "escalation.md").unlink()
    result = run_check("docs.runbooks", options=PreflightOptions(repo=tmp_path))
    assert result.status == "fail"
    assert "1 runbook missing and 1 required section missing in runbooks/ (the repository's)" in result.message
    by_file = {finding.file: finding for finding in result.findings}
    assert by_file["runbooks/rollback.md"].line == 3  # the title, after the two blank lines added
    assert "'Verify'" in by_file["runbooks/rollback.md"].message
    assert by_file["runbooks/escalation.md"].rule == "missing-runbook"


def test_custom_required_sections_and_dir(tmp_path: Path) -> None:
    (tmp_path / "docs" / "oncall").mkdir(parents=True)
    (tmp_path / "docs" / "oncall" / "db.md").write_text("# DB\n\n## RESTORE: from snapshot\n```sh\n# Verify\n```\n")
    result = run_check("docs.runbooks", params={"dir": "docs/oncall", "required": {"db": ["Restore", "Verify"]}},
                       options=PreflightOptions(repo=tmp_path))
    assert result.status == "fail" and [f.message for f in result.findings] == [
        "docs/oncall/db.md has no 'Verify' section (a '#' or '##' heading)"]


@pytest.mark.parametrize("params", [{"dir": "../elsewhere"}, {"dir": "/etc"}, {"required": {"../x": ["A"]}},
                                    {"required": {"a/b": ["A"]}}, {"unknown": 1}])
def test_params_that_would_leave_the_directory_are_refused_at_load(params: dict) -> None:
    with pytest.raises(ValueError, match="params"):
        run_check("docs.runbooks", params=params)


def test_symbolic_links_out_of_the_directory_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    copy_shipped(outside)
    repo = tmp_path / "repo"
    directory = copy_shipped(repo)
    (directory / "incident.md").unlink()
    os.symlink(outside / "runbooks" / "incident.md", directory / "incident.md")
    result = run_check("docs.runbooks", options=PreflightOptions(repo=repo))
    assert result.status == "fail" and result.findings[0].rule == "outside"

    (repo / "linked").symlink_to(outside / "runbooks")
    result = run_check("docs.runbooks", params={"dir": "linked"}, options=PreflightOptions(repo=repo))
    assert result.status == "fail" and "not followed" in result.message and result.findings[0].file is None


def test_a_configured_directory_that_does_not_exist_fails(tmp_path: Path) -> None:
    result = run_check("docs.runbooks", params={"dir": "ops/runbooks"}, options=PreflightOptions(repo=tmp_path))
    assert result.status == "fail" and "ops/runbooks/ does not exist" in result.message
    assert [f.file for f in result.findings] == [f"ops/runbooks/{name}.md" for name in DEFAULT_REQUIRED]


# --- the heading parser ------------------------------------------------------------------------------------

def test_headings_skip_fenced_code_and_level_three() -> None:
    text = "# Title #\n\n```bash\n# not a heading\n```\n~~~\n## nor this\n~~~\n##Check\n## Check: is it us?\n### Act\n"
    assert [(h.level, h.text, h.line) for h in headings(text)] == [(1, "Title", 1), (2, "Check: is it us?", 10),
                                                                  (3, "Act", 11)]
    assert missing_sections(text, ["check", "Act", "title"]) == ["Act"]
    assert title_line("intro\n## A\n# B\n") == 3 and title_line("no headings") == 1


def test_prefix_matches_whole_words_only() -> None:
    assert missing_sections("## Checking things\n## Roll back now\n", ["Check", "Roll back"]) == ["Check"]


@given(st.text(alphabet=st.sampled_from("# `~\n\tab:-"), max_size=200), st.lists(st.text(max_size=10), max_size=4))
def test_parser_never_crashes_and_finds_what_it_reports(text: str, required: list[str]) -> None:
    found = headings(text)
    lines = text.splitlines()
    for heading in found:
        assert 1 <= heading.level <= 6 and lines[heading.line - 1].lstrip().startswith("#")
    missing = missing_sections(text, required)
    assert set(missing) <= set(required)
    assert 1 <= title_line(text) <= max(1, len(lines))


@given(st.lists(st.from_regex(r"[A-Za-z][A-Za-z ]{0,20}", fullmatch=True), min_size=1, max_size=5))
def test_a_runbook_written_with_the_sections_has_them(sections: list[str]) -> None:
    text = "# Runbook\n" + "".join(f"\n## {section.upper()}\n\ntext\n" for section in sections)
    assert runbooks.missing_sections(text, sections) == []
