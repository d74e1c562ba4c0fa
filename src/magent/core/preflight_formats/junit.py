"""JUnit XML, as Jenkins (xUnit junit-10.xsd), GitLab and most CI test reporters read it.

One <testsuite name="magent preflight: CHECKLIST"> in a <testsuites>; one <testcase> per item (classname = the
section, name = "ID: title"). The counts mirror the verdict, so that CI and `magent preflight`'s exit code agree:

    fail  at or above --fail-on   <failure message type="SEVERITY">   message, remediation, runbook, findings
    error at or above --fail-on   <error message type="SEVERITY">
    skip / manual                 <skipped message>
    warn, and fail/error below --fail-on    a passing testcase whose <system-out> says what to look at
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from magent.core.preflight import ItemResult, PreflightReport
from magent.core.preflight_formats._common import mask, place, runbook_path

# XML 1.0 forbids most C0 controls, lone surrogates and U+FFFE/U+FFFF even as character references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str | None) -> str:
    """Masked text that XML 1.0 can carry: forbidden characters become visible `\\xNN` escapes."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", mask(text))


def render_junit(report: PreflightReport) -> str:
    counted = [_counted_status(report, item) for item in report.items]
    suite_attrs = {
        "name": xml_text(f"magent preflight: {report.checklist.name}"),
        "tests": str(len(report.items)),
        "failures": str(counted.count("fail")),
        "errors": str(counted.count("error")),
        "skipped": str(counted.count("skip")),
        "time": _seconds(report.duration_s),
    }
    if report.started_at:
        suite_attrs["timestamp"] = xml_text(report.started_at)
    root = ET.Element("testsuites", {key: suite_attrs[key] for key in ("name", "tests", "failures", "errors",
                                                                       "time")})
    suite = ET.SubElement(root, "testsuite", suite_attrs)
    properties = ET.SubElement(suite, "properties")
    for name, value in _properties(report).items():
        ET.SubElement(properties, "property", {"name": name, "value": xml_text(value)})
    for item, status in zip(report.items, counted, strict=True):
        _testcase(suite, item, status)
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode", xml_declaration=False)
    return mask('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")


def _counted_status(report: PreflightReport, item: ItemResult) -> str:
    """How the item counts in JUnit: a fail or error below --fail-on does not block, so it does not fail CI."""
    if item.status in ("fail", "error"):
        return item.status if report.blocking(item) else "pass"
    if item.status in ("skip", "manual"):
        return "skip"
    return "pass"


def _properties(report: PreflightReport) -> dict[str, str]:
    found = {"checklist": report.checklist.name, "checklist.source": report.checklist.source,
             "checklist.sha256": report.checklist.sha256, "fail_on": report.fail_on,
             "ready": str(report.ready).lower(), "exit_code": str(report.exit_code)}
    for key, value in sorted(report.context.items()):
        if value is not None and not isinstance(value, dict | list):
            found[f"context.{key}"] = str(value)
    return found


def _testcase(suite: ET.Element, item: ItemResult, counted: str) -> None:
    placed = item.placed.item
    case = ET.SubElement(suite, "testcase", {
        "classname": xml_text(item.placed.section.id),
        "name": xml_text(f"{placed.id}: {placed.title}"),
        "time": _seconds(item.duration_s),
    })
    message = xml_text(item.result.message)
    details = xml_text(_details(item))
    if counted in ("fail", "error"):
        tag = "failure" if counted == "fail" else "error"
        element = ET.SubElement(case, tag, {"message": message, "type": placed.severity})
        element.text = details
    elif counted == "skip":
        label = "manual: " if item.status == "manual" else ""
        ET.SubElement(case, "skipped", {"message": xml_text(label) + message})
    elif item.status != "pass":
        # warn, or a fail/error below --fail-on: the case passes, the text says what to look at
        out = ET.SubElement(case, "system-out")
        out.text = xml_text(f"{item.status.upper()} ({placed.severity}, below --fail-on)\n"
                            if item.status in ("fail", "error") else "WARN\n") + details


def _details(item: ItemResult) -> str:
    lines = [item.result.message, f"remediation: {item.placed.item.remediation}"]
    if runbook_path(item):
        lines.append(f"runbook: {runbook_path(item)}")
    for finding in item.result.findings:
        where = place(finding)
        lines.append(f"  {where}: {finding.message}" if where else f"  {finding.message}")
    return "\n".join(lines) + "\n"


def _seconds(value: float) -> str:
    # SUREFIRE_TIME in junit-10.xsd: plain decimal, no exponent, no sign
    return f"{max(0.0, value):.3f}"
