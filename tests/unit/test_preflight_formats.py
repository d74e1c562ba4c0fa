"""Preflight report formats: JUnit against Jenkins' junit-10.xsd, SARIF against the official 2.1.0 schema,
the PR comment, GitHub annotations; and no planted key in any of them."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from hypothesis import given
from hypothesis import strategies as st

from magent.core.checklist import Checklist, ChecklistSection
from magent.core.preflight import CheckResult, Finding, ItemResult, PreflightReport
from magent.core.preflight_formats import FORMATS, render, render_github
from magent.core.preflight_formats.github import Annotation, escape_data, escape_property, unescape
from magent.core.preflight_formats.markdown import GITHUB_COMMENT_LIMIT, cell, render_markdown
from magent.core.preflight_formats.sarif import artifact_location
from magent.core.redact import SECRETS
from tests.fixtures.preflight import make_item

DATA = Path(__file__).resolve().parent.parent / "data"
JUNIT_XSD = xmlschema.XMLSchema(DATA / "junit" / "junit-10.xsd")
SARIF_SCHEMA = json.loads((DATA / "sarif" / "sarif-schema-2.1.0.json").read_text())
# Every format jsonschema knows, not Draft4Validator.FORMAT_CHECKER: draft 4 has no `uri-reference`, the format of
# artifactLocation.uri, so its checker would let an unencoded path through.
FORMATS_CHECKED = jsonschema.FormatChecker()
assert "uri-reference" in FORMATS_CHECKED.checkers, "install rfc3986-validator"
RULES = {"code.no-hardcoded-key": "No Mistral or generic API key in the repository",
         "k8s.probes": "Liveness and readiness probes", "http.health": "Health endpoint answers"}
SECURITY = {"code.no-hardcoded-key"}


def report_of(*entries: tuple[str, str, CheckResult], fail_on: str = "critical") -> PreflightReport:
    """entries: (section id, item check/id, result); severity from the check's name for variety."""
    sections: dict[str, list] = {}
    placed_results = []
    for section_id, check, result, *rest in entries:
        item = make_item(check, severity=rest[0] if rest else "critical", runbook="incident")
        sections.setdefault(section_id, []).append((item, result))
    built = {sid: ChecklistSection(id=sid, title=sid.title(), items=[i for i, _ in pairs])
             for sid, pairs in sections.items()}
    checklist = Checklist("production", "", "builtin:production", tuple(built.values()), "a" * 64)
    for placed in checklist.items:
        result = next(r for i, r in sections[placed.section.id] if i.id == placed.item.id)
        placed_results.append(ItemResult(placed, result, duration_s=0.25))
    return PreflightReport(checklist, placed_results, fail_on=fail_on, started_at="2026-01-02T03:04:05Z",
                           duration_s=1.5, context={"repo": "/src/app", "deployment": "web"})


def mixed_report() -> PreflightReport:
    return report_of(
        ("secrets", "code.no-hardcoded-key", CheckResult.failed("2 keys in the repository", [
            Finding("Mistral API key", "app/settings.py", 12, 9, fingerprint="…wxyz (sha256:1a2b3c4d)",
                    rule="mistral-api-key"),
            Finding("generic key", "my docs/read me.md", 3, None)])),
        ("infrastructure", "k8s.probes", CheckResult.warned("no readinessProbe", [
            Finding("container app has no readinessProbe", "deploy/web.yaml", 20, 5)]), "warning"),
        ("infrastructure", "k8s.pdb", CheckResult.failed("no PodDisruptionBudget"), "warning"),
        ("resilience", "http.health", CheckResult.errored("http://app:8080/health unreachable: refused")),
        ("resilience", "mistral.key-valid", CheckResult.passed("key …abcd valid")),
        ("resilience", "resilience.circuit-breaker", CheckResult("manual", "not attested")),
        ("resilience", "store.ready", CheckResult.skipped("no store: set MAGENT_DATABASE_URL"), "info"),
    )


# --- JUnit -------------------------------------------------------------------------------------------------

def test_junit_is_valid_for_jenkins_and_counts_like_the_verdict() -> None:
    text = render(mixed_report(), "junit")
    JUNIT_XSD.validate(text)
    suite = ET.fromstring(text).find("testsuite")
    assert suite.get("name") == "magent preflight: production"
    # the warning-severity fail is below --fail-on critical: it does not fail CI, as it does not fail the verdict
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == \
        ("7", "1", "1", "2")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    failed = cases["code.no-hardcoded-key: code.no-hardcoded-key holds"]
    assert failed.get("classname") == "secrets"
    failure = failed.find("failure")
    assert failure.get("type") == "critical" and failure.get("message") == "2 keys in the repository"
    assert "app/settings.py:12:9: Mistral API key" in failure.text and "runbook: runbooks/incident.md" in failure.text
    assert cases["http.health: http.health holds"].find("error") is not None
    assert cases["resilience.circuit-breaker: resilience.circuit-breaker holds"].find("skipped").get(
        "message") == "manual: not attested"
    assert "below --fail-on" in cases["k8s.pdb: k8s.pdb holds"].find("system-out").text
    assert cases["k8s.probes: k8s.probes holds"].find("system-out").text.startswith("WARN")


def test_junit_escapes_markup_and_control_characters() -> None:
    nasty = 'a <b> & "c"\x00\x07\x1b\ud800 end\nnext'
    report = report_of(("s", "k8s.probes", CheckResult.failed(nasty, [Finding(nasty, "f]]>.py", 1)])))
    text = render(report, "junit")
    JUNIT_XSD.validate(text)
    failure = ET.fromstring(text).find("testsuite/testcase/failure")
    assert failure.get("message") == 'a <b> & "c"\\x00\\x07\\x1b\\xd800 end\nnext'


@given(st.text(max_size=60))
def test_junit_any_message_stays_valid_xml(message: str) -> None:
    report = report_of(("s", "k8s.probes", CheckResult.failed(message, [Finding(message, message or "f", 1)])))
    assert JUNIT_XSD.is_valid(render(report, "junit"))


# --- SARIF -------------------------------------------------------------------------------------------------

def sarif_of(report: PreflightReport) -> dict:
    document = json.loads(render(report, "sarif", rules=RULES, security=SECURITY))
    validator = jsonschema.Draft4Validator(SARIF_SCHEMA, format_checker=FORMATS_CHECKED)
    errors = sorted(validator.iter_errors(document), key=str)
    assert not errors, errors[0]
    return document


def test_sarif_is_valid_and_has_what_github_needs() -> None:
    run = sarif_of(mixed_report())["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "magent" and driver["version"]
    rules = {rule["id"]: rule for rule in driver["rules"]}
    assert set(rules) == {"code.no-hardcoded-key", "k8s.probes", "k8s.pdb", "http.health"}
    key_rule = rules["code.no-hardcoded-key"]
    assert key_rule["properties"]["security-severity"] == "9.0" and "security" in key_rule["properties"]["tags"]
    assert "No Mistral or generic API key" in key_rule["fullDescription"]["text"]
    assert key_rule["help"]["text"].startswith("fix it") and "runbooks/incident.md" in key_rule["help"]["markdown"]
    assert "security-severity" not in rules["k8s.probes"]["properties"]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"] and rule["help"]["text"]
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("code.no-hardcoded-key", "error"), ("code.no-hardcoded-key", "error"), ("k8s.probes", "warning")]
    for result in results:
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%" and location["region"]["startLine"] >= 1
        assert result["partialFingerprints"]["primaryLocationLineHash"]
    first = results[0]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"]["uri"] == "app/settings.py" and first["region"]["startColumn"] == 9
    assert results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "my%20docs/read%20me.md"
    # what has no place in the repository is a notification, not a location-less result GitHub would refuse
    notes = {n["associatedRule"]["id"]: n for n in run["invocations"][0]["toolExecutionNotifications"]}
    assert set(notes) == {"k8s.pdb", "http.health"} and notes["http.health"]["level"] == "error"
    assert run["invocations"][0]["executionSuccessful"] is False


def test_sarif_fingerprints_survive_moved_lines_and_tell_repeats_apart() -> None:
    def hashes(line: int) -> list[str]:
        report = report_of(("s", "code.no-hardcoded-key", CheckResult.failed("2 keys", [
            Finding("key", "a.py", line, fingerprint="…wxyz (sha256:1)"),
            Finding("key", "a.py", line + 5, fingerprint="…wxyz (sha256:1)")])))
        return [r["partialFingerprints"]["primaryLocationLineHash"] for r in sarif_of(report)["runs"][0]["results"]]

    assert hashes(3) == hashes(40)
    assert len(set(hashes(3))) == 2


def test_a_path_with_a_space_unencoded_would_fail_the_schema() -> None:
    """The format checker is live (rfc3986-validator installed): the encoding in artifact_location matters."""
    document = json.loads(render(mixed_report(), "sarif", rules=RULES))
    document["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "my docs/x"
    validator = jsonschema.Draft4Validator(SARIF_SCHEMA, format_checker=FORMATS_CHECKED)
    assert list(validator.iter_errors(document))


@pytest.mark.parametrize(("path", "expected"), [
    ("./src/a b.py", {"uri": "src/a%20b.py", "uriBaseId": "%SRCROOT%"}),
    ("src\\win\\x.py", {"uri": "src/win/x.py", "uriBaseId": "%SRCROOT%"}),
    ("/abs/k8s/web.yaml", {"uri": "file:///abs/k8s/web.yaml"}),
    ("dir/ü%#?.yaml", {"uri": "dir/%C3%BC%25%23%3F.yaml", "uriBaseId": "%SRCROOT%"}),
])
def test_artifact_locations(path: str, expected: dict) -> None:
    assert artifact_location(path) == expected


# --- Markdown ----------------------------------------------------------------------------------------------

def test_markdown_comment_leads_with_the_verdict_and_failures() -> None:
    text = render(mixed_report(), "markdown", runbook_url="https://github.com/o/r/blob/abc/runbooks/")
    assert text.startswith("## ❌ Not ready")
    attention = text.split("### Needs attention")[1].split("### All items")[0]
    order = [attention.index(f"**{item}**") for item in
             ("code.no-hardcoded-key", "k8s.pdb", "http.health", "k8s.probes", "resilience.circuit-breaker")]
    assert order == sorted(order)
    assert "`app/settings.py:12:9` Mistral API key" in attention
    assert "[`runbooks/incident.md`](https://github.com/o/r/blob/abc/runbooks/incident.md)" in attention
    assert "**Fix:** fix it" in attention and "_fail, warning (below fail-on)_" in attention
    assert "| ⏭️ | `store.ready` |" in text


def test_markdown_ready_report() -> None:
    text = render(report_of(("s", "k8s.probes", CheckResult.passed("ok"))), "markdown")
    assert text.startswith("## ✅ Ready") and "Needs attention" not in text


def test_markdown_cells_keep_the_table_shape() -> None:
    assert cell("a|b\nc\r\nd <img>") == "a\\|b<br>c<br>d &lt;img>"
    report = report_of(("s", "k8s.probes", CheckResult.failed("x | y\n| z |")))
    row = next(line for line in render(report, "markdown").splitlines() if line.startswith("| ❌"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 5


def test_markdown_stays_under_githubs_comment_limit() -> None:
    findings = [Finding(f"key number {n} " + "x" * 150, f"src/file_{n}.py", n) for n in range(1, 400)]
    entries = [("s", f"item-{n}", CheckResult.failed("many keys " * 50, findings)) for n in range(60)]
    text = render_markdown(report_of(*entries))
    assert len(text) <= GITHUB_COMMENT_LIMIT
    assert "Truncated to stay within GitHub's comment size limit" in text and text.startswith("## ❌ Not ready")


# --- GitHub annotations ------------------------------------------------------------------------------------

def test_github_annotations_levels_and_escaping() -> None:
    lines = render(mixed_report(), "github").splitlines()
    assert lines[0] == ("::error file=app/settings.py,line=12,col=9,title=code.no-hardcoded-key%3A "
                        "code.no-hardcoded-key holds::Mistral API key")
    levels = [line.split(" ", 1)[0] for line in lines]
    assert levels == ["::error", "::error", "::warning", "::error", "::warning", "::notice"]
    assert "::error title=http.health%3A http.health holds::http%3A//app" not in render(mixed_report(), "github")
    assert any(line.startswith("::error title=http.health") and line.endswith("::http://app:8080/health "
                                                                              "unreachable: refused")
               for line in lines)


def test_github_keeps_ten_per_level_and_summarises_the_rest() -> None:
    findings = [Finding(f"key {n}", f"src/f{n}.py", n) for n in range(1, 16)]
    warnings = [Finding(f"probe {n}", f"k8s/{n}.yaml", n) for n in range(1, 4)]
    report = report_of(("s", "code.no-hardcoded-key", CheckResult.failed("15 keys", findings)),
                       ("s", "k8s.probes", CheckResult.warned("3 probes", warnings), "warning"))
    output = render_github(report)
    levels = [line.split(" ", 1)[0] for line in output.annotations.splitlines()]
    assert levels.count("::error") == 10 and levels.count("::warning") == 3
    assert output.summary.startswith("## ❌ Not ready") and "### 5 more annotations" in output.summary
    assert "`src/f15.py:15`" in output.summary.split("### 5 more annotations")[1]


@given(st.text())
def test_github_escaping_round_trips(text: str) -> None:
    data, prop = escape_data(text), escape_property(text)
    assert unescape(data) == text and unescape(prop) == text
    assert "\n" not in data + prop and "\r" not in data + prop and "::" not in prop and "," not in prop


@given(st.text(min_size=1, max_size=30), st.text(max_size=30))
def test_github_annotation_line_parses_back(title: str, message: str) -> None:
    line = Annotation("warning", message, title, "a,b:c.py", 3, 4).command()
    assert "\n" not in line
    head, body = line[2:].split("::", 1)
    props = dict(pair.split("=", 1) for pair in head.split(" ", 1)[1].split(","))
    assert unescape(props["file"]) == "a,b:c.py" and unescape(props["title"]) == title and unescape(body) == message


# --- the planted-key rule ----------------------------------------------------------------------------------

def test_no_planted_key_in_any_format() -> None:
    key = "PLANTEDkey0123456789abcdefABCDEF"
    SECRETS.add(key)
    try:
        report = report_of(
            ("s", "code.no-hardcoded-key", CheckResult.failed(f"found {key}", [
                Finding(f"literal {key}", f"src/{key}.py", 1, fingerprint=key, rule=key)])),
            ("s", "k8s.probes", CheckResult.errored(f"cannot reach http://u:{key}@host/")),
            ("s", "http.health", CheckResult.warned(f"a%{key}\n", [Finding(key, "x.py", 2)]), "warning"))
        report.context["token"] = key
        outputs = [render(report, fmt, rules={"k8s.probes": key}) for fmt in FORMATS]
        outputs.append(render_github(report).summary)
        for text in outputs:
            assert key not in text
            assert key[:12] not in text.replace("%", "")  # not even split by an escape
    finally:
        SECRETS.clear()


def test_sarif_takes_check_types_as_rules() -> None:
    from magent.checks import CheckType

    check = CheckType("code.no-hardcoded-key", lambda ctx: None, summary="No key in the repository", security=True)
    document = json.loads(render(mixed_report(), "sarif", rules={"code.no-hardcoded-key": check}))
    rule = document["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["properties"]["security-severity"] == "9.0" and "No key in the repository" in \
        rule["fullDescription"]["text"]
