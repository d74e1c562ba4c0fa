"""`magent preflight` end to end: the real entry point, real checks, the embedded Postgres for attestations."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET

import pytest

KEY = "Zq7Lm2Np8Rt4Vx6Bc9Df3Gh5Jk1Ws0Ya"  # a throwaway key of the real shape, planted in a repository

CHECKLIST = """\
name: team
sections:
  - id: secrets
    title: Secrets
    items:
      - id: code.no-hardcoded-key
        title: No API key in the repository
        severity: critical
        check: code.no-hardcoded-key
        remediation: Remove the key and revoke it.
        runbook: key-rotation
  - id: docs
    title: Docs
    items:
      - id: docs.runbooks
        title: Runbooks exist
        severity: warning
        check: docs.runbooks
        remediation: Write them.
      - id: oncall.rotation
        title: On-call scheduled
        severity: warning
        check: manual
        remediation: Schedule it, then attest.
"""


@pytest.fixture
def team(tmp_path):
    path = tmp_path / "team.yaml"
    path.write_text(CHECKLIST)
    return path


@pytest.fixture
def clean_repo(tmp_path):
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "main.py").write_text("import os\nkey = os.environ['MISTRAL_API_KEY']\n")
    return repo


@pytest.fixture
def leaky_repo(clean_repo):
    (clean_repo / "app" / "settings.py").write_text(f'MISTRAL_API_KEY = "{KEY}"\n')
    return clean_repo


def test_a_clean_repository_is_ready(cli, team, clean_repo):
    result = cli("preflight", "-c", str(team), "--repo", str(clean_repo))
    assert result.exit_code == 0, result.output
    assert "READY" in result.stdout and "✓" in result.stdout
    assert "? " in result.stdout or "manual" in result.stdout
    started = result.stdout.rsplit(" · ", 1)[1].split()[0]  # the footer's instant: whole seconds, as other tables
    assert started.endswith("Z") and "." not in started, result.stdout


def test_a_planted_key_fails_with_where_and_how_to_fix_never_the_key(cli, team, leaky_repo):
    result = cli("preflight", "-c", str(team), "--repo", str(leaky_repo))
    assert result.exit_code == 1
    assert "NOT READY" in result.stdout
    assert "app/settings.py:1" in result.stdout
    assert "Fix: Remove the key and revoke it." in result.stdout
    assert "runbooks/key-rotation.md" in result.stdout
    assert KEY not in result.output and KEY[-4:] not in result.output.replace(f"…{KEY[-4:]}", "")


@pytest.mark.parametrize("fmt", ["json", "yaml", "junit", "sarif", "markdown"])
def test_every_format_keeps_the_key_out(cli, team, leaky_repo, fmt):
    result = cli("preflight", "-c", str(team), "--repo", str(leaky_repo), "-o", fmt)
    assert result.exit_code == 1
    assert result.stdout.strip()
    assert KEY not in result.output


def test_json_has_the_documented_shape(cli, team, leaky_repo):
    result = cli("preflight", "-c", str(team), "--repo", str(leaky_repo), "-o", "json")
    data = json.loads(result.stdout)
    assert data["ready"] is False and data["checklist"]["name"] == "team"
    item = next(i for i in data["items"] if i["id"] == "code.no-hardcoded-key")
    assert {"id", "title", "section", "severity", "status", "message", "remediation", "findings"} <= set(item)
    assert item["status"] == "fail" and item["section"] == "secrets"
    finding = item["findings"][0]
    assert finding["file"] == "app/settings.py" and finding["line"] == 1 and finding["column"]
    assert finding["fingerprint"] and KEY not in json.dumps(finding)


def test_output_files_are_written_in_the_format_their_name_says_while_the_table_shows(cli, team, leaky_repo, tmp_path):
    sarif, junit = tmp_path / "out" / "preflight.sarif", tmp_path / "out" / "junit.xml"
    result = cli("preflight", "-c", str(team), "--repo", str(leaky_repo), "--output-file", str(sarif),
                 "--output-file", str(junit))
    assert result.exit_code == 1 and "NOT READY" in result.stdout
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    root = ET.parse(junit).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert int(suite.get("failures")) >= 1
    assert KEY not in sarif.read_text() + junit.read_text()


def test_github_actions_annotations_and_step_summary(cli, team, leaky_repo, tmp_path):
    summary = tmp_path / "summary.md"
    result = cli("preflight", "-c", str(team), "--repo", str(leaky_repo),
                 env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.exit_code == 1
    assert "::error file=app/settings.py,line=1" in result.stdout
    assert summary.is_file() and KEY not in summary.read_text() + result.output


def test_attestations_count_until_the_item_changes(cli, team, clean_repo, pg_url, tmp_path):
    env = {"MAGENT_DATABASE_URL": pg_url}
    before = cli("preflight", "-c", str(team), "--repo", str(clean_repo), "-o", "json", env=env)
    assert _item(before, "oncall.rotation")["status"] == "manual"
    attested = cli("preflight", "attest", "oncall.rotation", "--by", "alice", "--note", "PagerDuty: agent",
                   "-c", str(team), env=env)
    assert attested.exit_code == 0, attested.output
    assert "Attested oncall.rotation" in attested.stderr
    after = cli("preflight", "-c", str(team), "--repo", str(clean_repo), "-o", "json", env=env)
    item = _item(after, "oncall.rotation")
    assert item["status"] == "pass" and "alice" in item["message"] and "PagerDuty: agent" in item["message"]
    expired = cli("preflight", "-c", str(team), "--repo", str(clean_repo), "-o", "json", "--max-age", "1ms",
                  "--require-attested", env=env)
    assert _item(expired, "oncall.rotation")["status"] == "fail" and expired.exit_code == 1
    team.write_text(CHECKLIST.replace("On-call scheduled", "On-call scheduled for the whole release week"))
    changed = cli("preflight", "-c", str(team), "--repo", str(clean_repo), "-o", "json", env=env)
    assert _item(changed, "oncall.rotation")["status"] == "manual"
    assert "older definition" in _item(changed, "oncall.rotation")["message"]


def _item(result, item_id):
    assert result.exit_code in (0, 1), result.output
    return next(i for i in json.loads(result.stdout)["items"] if i["id"] == item_id)


@pytest.mark.parametrize("args, message", [
    (["attest", "code.no-hardcoded-key", "--by", "bob"], "is proved by the check code.no-hardcoded-key"),
    (["attest", "no.such", "--by", "bob"], "no item 'no.such' in checklist team"),
    (["attest", "oncall.rotation", "--by", " "], "--by is empty"),
    (["--only", "secrts"], "did you mean 'secrets'?"),
    (["--skip", "nope"], "no item or section 'nope'"),
    (["--fail-on", "urgent"], "--fail-on 'urgent': use critical or warning"),
    (["--timeout", "soon"], "--timeout 'soon': invalid duration"),
    (["--max-age", "0s"], "--max-age '0s': must be more than zero"),
    (["-o", "pdf"], "unknown output format 'pdf'"),
    (["--output-file", "report.txt"], "cannot tell the format from '.txt'"),
    (["--repo", "/no/such/dir"], "--repo /no/such/dir: not a directory"),
    (["--manifests", "/no/such.yaml"], "--manifests /no/such.yaml: no such file or folder"),
])
def test_bad_input_is_one_line_and_exit_2(cli, team, args, message):
    result = cli("preflight", *args, "-c", str(team)) if args[0] == "attest" else \
        cli("preflight", "-c", str(team), *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Hint:" in result.stderr and "Traceback" not in result.output


def test_a_broken_checklist_is_exit_2_naming_file_line_and_item(cli, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(textwrap.dedent(CHECKLIST).replace("check: docs.runbooks", "check: docs.runbook"))
    result = cli("preflight", "-c", str(path))
    assert result.exit_code == 2
    assert f"{path}:15: item docs.runbooks: unknown check type 'docs.runbook'" in result.stderr


def test_checks_lists_every_type(cli):
    result = cli("preflight", "checks", "-o", "json")
    assert result.exit_code == 0
    types = {row["type"] for row in json.loads(result.stdout)}
    assert {"code.no-hardcoded-key", "k8s.probes", "http.health", "manual"} <= types


def test_write_baseline_then_the_same_findings_pass_and_a_new_key_fails(cli, team, leaky_repo, tmp_path):
    baseline = tmp_path / "baseline.json"
    written = cli("preflight", "-c", str(team), "--repo", str(leaky_repo), "--write-baseline", str(baseline))
    assert written.exit_code == 0, written.output  # this run already reads the baseline it wrote
    assert "Wrote 1 finding to the baseline" in written.stderr
    assert KEY not in baseline.read_text() and KEY[-4:] not in baseline.read_text()
    again = cli("preflight", "-c", str(team), "--repo", str(leaky_repo), "--baseline", str(baseline), "-o", "json")
    assert again.exit_code == 0 and "1 in the baseline" in _item(again, "code.no-hardcoded-key")["message"]
    other = "Wq9Lm3Np7Rt5Vx2Bc8Df4Gh6Jk0Ws1Yb"  # magent:allow (a second planted key)
    (leaky_repo / "app" / "more.py").write_text(f'mistral_key = "{other}"\n')
    new = cli("preflight", "-c", str(team), "--repo", str(leaky_repo), "--baseline", str(baseline))
    assert new.exit_code == 1 and "app/more.py:1" in new.stdout and other not in new.output


def test_a_broken_baseline_is_exit_2(cli, team, clean_repo, tmp_path):
    baseline = tmp_path / "baseline.json"
    baseline.write_text("{not json")
    result = cli("preflight", "-c", str(team), "--repo", str(clean_repo), "--baseline", str(baseline))
    assert result.exit_code == 2 and "is not JSON" in result.stderr and "Hint:" in result.stderr
