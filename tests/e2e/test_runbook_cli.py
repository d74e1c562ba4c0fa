"""`magent runbook`: list (table, JSON), show (plain when piped, rendered on a terminal), sections, which folder,
and every kind of bad input as exit 2 with a hint."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "magent" / "data" / "runbooks"
TEAM_RUNBOOK = ("# Database slow\n\nWhen the database is slow.\n\n"
                "## Check\n\n    magent db status\n\n## Act\n\nrestart\n")


@pytest.fixture
def team_repo(tmp_path, monkeypatch) -> Path:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "db-slow.md").write_text(TEAM_RUNBOOK, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_list_shows_the_shipped_runbooks_when_there_is_no_runbooks_folder(cli):
    result = cli("runbook")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Runbooks: the runbooks magent ships"
    incident = next(line for line in lines if line.startswith("│ incident "))
    # piped: one row per runbook, nothing folded or cut
    assert "or users report errors, and you do not know the cause yet." in incident
    assert "magent-api-down, magent-high-latency, magent-circuit-breaker-open" in incident
    assert sum(line.startswith("│ ") for line in lines) == 5


def test_list_as_json_names_the_source_and_every_field(cli):
    data = json.loads(cli("runbook", "-o", "json").stdout)
    assert data["source"] == "shipped" and Path(data["dir"]) == SHIPPED
    by_name = {runbook["name"]: runbook for runbook in data["runbooks"]}
    assert sorted(by_name) == ["escalation", "incident", "key-rotation", "rollback", "usage-limits"]
    assert by_name["key-rotation"]["alerts"] == ["magent-auth-failures"]
    assert by_name["rollback"]["sections"][:3] == ["When to roll back", "Check", "Roll back"]
    assert cli("-o", "yaml", "runbook").stdout.startswith("source: shipped\n")


def test_the_repositorys_runbooks_win_and_shipped_ones_stay_reachable(cli, team_repo):
    data = json.loads(cli("runbook", "-o", "json").stdout)
    assert data["source"] == "repository"
    assert [(r["name"], r["title"], r["when"], r["alerts"]) for r in data["runbooks"]] == [
        ("db-slow", "Database slow", "When the database is slow.", [])]
    missing = cli("runbook", "incident")
    assert missing.exit_code == 2
    assert missing.stderr.splitlines() == ["Error: no runbook 'incident' in ./runbooks (this repository's)",
                                           "Hint: magent ships one: magent runbook incident --shipped"]
    assert cli("runbook", "incident", "--shipped").stdout == (SHIPPED / "incident.md").read_text(encoding="utf-8")
    assert json.loads(cli("runbook", "--dir", str(SHIPPED), "-o", "json").stdout)["source"] == "directory"


def test_piped_show_is_the_markdown_unchanged(cli):
    for name in ("rollback", "rollback.md"):
        result = cli("runbook", name)
        assert result.exit_code == 0 and result.stderr == ""
        assert result.stdout == (SHIPPED / "rollback.md").read_text(encoding="utf-8")


def test_section_prints_one_section(cli, team_repo):
    result = cli("runbook", "db-slow", "--section", "check")
    assert result.stdout == "## Check\n\n    magent db status\n"
    data = json.loads(cli("runbook", "db-slow", "-s", "Act", "-o", "json").stdout)
    assert (data["section"], data["text"], data["source"]) == ("Act", "## Act\n\nrestart\n", "repository")


def test_on_a_terminal_the_runbook_is_rendered(cli, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    result = cli("runbook", "incident", "--section", "Act")
    assert result.exit_code == 0, result.stderr
    assert "Act" in result.stdout and "## Act" not in result.stdout  # a heading, not Markdown source
    assert "**A release" not in result.stdout and "A release in the last hours" in result.stdout
    assert "magent rollback -d agent -n shop --yes" in result.stdout


@pytest.mark.parametrize(("args", "error", "hint"), [
    (["incidnet"], "Error: no runbook 'incidnet' in the runbooks magent ships",
     "Hint: did you mean incident? `magent runbook` lists them"),
    (["../../etc/passwd"], "Error: '../../etc/passwd' is not a runbook name",
     "Hint: names are file names without .md, e.g. incident"),
    (["zzz"], "Error: no runbook 'zzz' in the runbooks magent ships",
     "Hint: `magent runbook` lists them: escalation, incident, key-rotation, rollback, usage-limits"),
    (["rollback", "--section", "Act"], "Error: runbook rollback has no section 'Act'",
     "Hint: its sections: When to roll back, Check, Roll back, Verify, If the rollback fails"),
    (["--dir", "/nonexistent/runbooks"], "Error: runbook folder /nonexistent/runbooks does not exist",
     "Hint: pass --dir with a folder of Markdown runbooks, or drop --dir"),
    (["--section", "Act"], "Error: --section needs a runbook", "Hint: magent runbook NAME --section 'Act'"),
    (["incident", "-o", "xml"], None, None),
    (["incident", "extra"], None, None),
])
def test_bad_input_is_exit_2_with_a_hint(cli, args, error, hint):
    result = cli("runbook", *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output and result.stdout == ""
    if error:
        assert result.stderr.splitlines() == [error, hint]


def test_debug_shows_the_traceback_of_a_bad_name(cli):
    result = cli("--debug", "runbook", "nope")
    assert result.exit_code == 2 and "Traceback" in result.stderr and "Error: no runbook 'nope'" in result.stderr


def test_completion_offers_runbook_names(monkeypatch, team_repo):
    from magent.cli.runbook import _complete_name

    assert _complete_name("db") == ["db-slow"]
    monkeypatch.chdir(team_repo / "runbooks")  # no runbooks/ here: the shipped ones
    assert _complete_name("in") == ["incident"]


def test_pager_pages_the_rendered_runbook(cli, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("LESS", "-")  # recorded, so that the LESS set by magent is undone after the test
    monkeypatch.delenv("LESS")
    monkeypatch.setenv("PAGER", "cat")
    result = cli("runbook", "escalation", "--pager", "-s", "Severity")
    assert result.exit_code == 0, result.stderr
    assert "SEV1" in result.stdout and "## Severity" not in result.stdout
    import os

    assert os.environ["LESS"] == "FRX"  # colours through less, and no pager for a page that fits
