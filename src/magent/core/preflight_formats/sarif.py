"""SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer).

Rules are checklist items (ruleId = item id: what users see, exclude and baseline), described by the item's
title, its check type's summary and its remediation. A result is a finding with a file: GitHub rejects results
without a location, so what has no place in the repository (a key refused by Mistral, a check that could not run)
is a `toolExecutionNotification` of the run's invocation instead, where viewers still show it.

    status  fail / warn   → one result per finding with a file (warn at most level "warning")
    status  error         → notification (the check could not run: not an alert about the code)
    level   critical → error, warning → warning, info → note (a finding's own severity wins)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

import magent
from magent.core.preflight import Finding, ItemResult, PreflightReport
from magent.core.preflight_formats._common import finding_severity, mask, runbook_path

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"critical": "error", "warning": "warning", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.0", "warning": "5.0", "info": "2.0"}
_MAX_TAGS = 20  # GitHub keeps 20 tags per rule


def render_sarif(report: PreflightReport, *, rules: Mapping[str, Any], security: Collection[str] = ()) -> str:
    """`rules` maps check types to their summary, or to their CheckType (whose `.security` then counts too)."""
    security = {*security, *(name for name, rule in rules.items() if getattr(rule, "security", False))}
    rules = {name: rule if isinstance(rule, str) else str(getattr(rule, "summary", "") or "")
             for name, rule in rules.items()}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    reported: list[ItemResult] = []
    for item in report.items:
        if item.status not in ("fail", "warn", "error"):
            continue
        located = [f for f in item.result.findings if f.file] if item.status != "error" else []
        results.extend(_results(item, located))
        if item.status == "error" or not located or len(located) < len(item.result.findings):
            notifications.append(_notification(item, located))
        reported.append(item)
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "magent", "version": magent.__version__, "semanticVersion": magent.__version__,
            "rules": [_rule(item, rules, security) for item in reported],
        }},
        "automationDetails": {"id": f"magent-preflight/{report.checklist.name}/"},
        "invocations": [{
            "executionSuccessful": not any(item.status == "error" for item in report.items),
            "toolExecutionNotifications": notifications,
            **({"startTimeUtc": report.started_at} if report.started_at else {}),
        }],
        "results": results,
        "properties": {"ready": report.ready, "summary": mask(report.summary()),
                       "checklist": report.checklist.to_dict()},
    }
    document = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return mask(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"


def _rule(item: ItemResult, rules: Mapping[str, str], security: Collection[str]) -> dict[str, Any]:
    placed = item.placed.item
    summary = rules.get(placed.check) or placed.title
    runbook = runbook_path(item)
    help_text = placed.remediation + (f"\n\nRunbook: {runbook}" if runbook else "")
    help_md = f"**Remediation:** {placed.remediation}" + (f"\n\n**Runbook:** [`{runbook}`]({runbook})"
                                                           if runbook else "")
    tags = ["magent", "preflight", item.placed.section.id, placed.check, placed.severity]
    properties: dict[str, Any] = {"check": placed.check, "section": item.placed.section.id,
                                  "severity": placed.severity}
    if placed.check in security:
        tags.append("security")
        properties["security-severity"] = SECURITY_SEVERITY[placed.severity]
    properties["tags"] = list(dict.fromkeys(mask(tag) for tag in tags))[:_MAX_TAGS]
    return {
        "id": placed.id,
        "name": _rule_name(placed.id),
        "shortDescription": {"text": mask(placed.title)},
        "fullDescription": {"text": mask(f"{placed.title}. {summary}" if summary != placed.title else summary)},
        "help": {"text": mask(help_text), "markdown": mask(help_md)},
        "defaultConfiguration": {"level": LEVELS[placed.severity]},
        "properties": properties,
    }


def _rule_name(item_id: str) -> str:
    # SARIF suggests a PascalCase name next to the opaque id (viewers show it as a heading)
    return "".join(part.capitalize() for part in item_id.replace("-", ".").replace("_", ".").split(".") if part)


def _results(item: ItemResult, located: list[Finding]) -> list[dict[str, Any]]:
    results = []
    seen: dict[str, int] = {}
    for finding in located:
        base = _line_hash(item, finding)
        seen[base] = seen.get(base, 0) + 1
        level = LEVELS[finding_severity(item, finding)]
        if item.status == "warn" and level == "error":
            level = "warning"  # met, with something to look at: never an error alert
        result: dict[str, Any] = {
            "ruleId": item.placed.item.id,
            "level": level,
            "message": {"text": mask(finding.message or item.result.message)},
            "locations": [{"physicalLocation": _physical(finding)}],
            # `hash:occurrence`, as GitHub computes it: stable when lines move, distinct for repeats in a file
            "partialFingerprints": {"primaryLocationLineHash": f"{base}:{seen[base]}"},
        }
        if finding.rule or finding.fingerprint:
            result["properties"] = {key: mask(value) for key, value in
                                    (("rule", finding.rule), ("fingerprint", finding.fingerprint)) if value}
        results.append(result)
    return results


def _line_hash(item: ItemResult, finding: Finding) -> str:
    """Stable identity of a finding without its line: item, file, and what was found (a secret's
    fingerprint when there is one, which is already safe to show; else the message)."""
    what = finding.fingerprint or finding.message
    key = "\x1f".join([item.placed.item.id, finding.rule or "", finding.file or "", mask(what)])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _physical(finding: Finding) -> dict[str, Any]:
    artifact = artifact_location(finding.file or "")
    location: dict[str, Any] = {"artifactLocation": artifact}
    region: dict[str, Any] = {"startLine": finding.line if finding.line and finding.line > 0 else 1}
    if finding.column and finding.column > 0:
        region["startColumn"] = finding.column
    location["region"] = region
    return location


def artifact_location(path: str) -> dict[str, str]:
    """A file as a SARIF artifactLocation: repository-relative paths as percent-encoded URI references
    against %SRCROOT%; absolute paths (a manifest given outside the repository) as file: URIs."""
    path = mask(path)
    if PureWindowsPath(path).drive or "\\" in path:
        path = PureWindowsPath(path).as_posix()
    if path.startswith("/") or PureWindowsPath(path).drive:
        return {"uri": "file://" + quote(path if path.startswith("/") else "/" + path, safe="/")}
    relative = str(PurePosixPath(path)).removeprefix("./")
    return {"uri": quote(relative, safe="/"), "uriBaseId": "%SRCROOT%"}


def _notification(item: ItemResult, located: list[Finding]) -> dict[str, Any]:
    placed = item.placed.item
    unlocated = [f for f in item.result.findings if not f.file]
    text = item.result.message
    if unlocated:
        text += " — " + "; ".join(f.message for f in unlocated[:20])
    level = "error" if item.status == "error" or (item.status == "fail" and placed.severity == "critical") \
        else "warning" if placed.severity != "info" else "note"
    return {
        "level": level,
        "message": {"text": mask(f"{placed.id} ({item.status}): {text}")},
        "associatedRule": {"id": placed.id},
    }
