"""Preflight results and the verdict: pure data, no I/O.

A check returns a `CheckResult`:

    pass    the item is proved                      fail    the item is not met (with findings)
    warn    met, but with something to look at      error   the check could not run (why), never a fail
    skip    the check does not apply here (why)     manual  a person must attest it (`preflight attest`)

`verdict()` turns the results into ready / not ready and the exit code: 0 ready; 1 an item at or above
`--fail-on` failed; 3 none failed but one of those could not be checked (a system unreachable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from magent.core.checklist import SEVERITY_RANK, Checklist, PlacedItem

Status = Literal["pass", "fail", "warn", "error", "skip", "manual"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "warn", "error", "skip", "manual")
SYMBOLS: dict[str, str] = {"pass": "✓", "fail": "✗", "warn": "!", "error": "!", "skip": "–", "manual": "?"}


@dataclass(frozen=True)
class Attestation:
    """A person's word that a manual item holds, bound to the item's definition at that time."""

    item_id: str
    item_hash: str
    attested_by: str
    note: str
    attested_at: datetime
    checklist_sha256: str


@dataclass(frozen=True)
class Finding:
    """One place where an item is not met. `fingerprint` identifies a secret without revealing it."""

    message: str
    file: str | None = None  # relative to the repository root (or the manifest path given)
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    fingerprint: str | None = None
    rule: str | None = None  # a sub-rule (e.g. `mistral-api-key`, `generic-api-key`)
    severity: str | None = None  # overrides the item's severity for this finding (e.g. a live key: critical)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "message": self.message,
                "fingerprint": self.fingerprint, **({"rule": self.rule} if self.rule else {})}


@dataclass(frozen=True)
class CheckResult:
    status: Status
    message: str
    findings: tuple[Finding, ...] = ()

    @classmethod
    def passed(cls, message: str) -> CheckResult:
        return cls("pass", message)

    @classmethod
    def failed(cls, message: str, findings: list[Finding] | tuple[Finding, ...] = ()) -> CheckResult:
        return cls("fail", message, tuple(findings))

    @classmethod
    def warned(cls, message: str, findings: list[Finding] | tuple[Finding, ...] = ()) -> CheckResult:
        return cls("warn", message, tuple(findings))

    @classmethod
    def skipped(cls, why: str) -> CheckResult:
        return cls("skip", why)

    @classmethod
    def errored(cls, why: str) -> CheckResult:
        return cls("error", why)


@dataclass(frozen=True)
class ItemResult:
    placed: PlacedItem
    result: CheckResult
    duration_s: float = 0.0
    unreachable: bool = False  # an `error` because an outside system could not be reached

    @property
    def status(self) -> Status:
        return self.result.status

    def to_dict(self) -> dict[str, Any]:
        item = self.placed.item
        return {
            "id": item.id, "title": item.title, "section": self.placed.section.id,
            "section_title": self.placed.section.title, "severity": item.severity, "check": item.check,
            "status": self.status, "message": self.result.message, "remediation": item.remediation,
            "runbook": f"runbooks/{item.runbook}.md" if item.runbook else None,
            "duration_ms": round(self.duration_s * 1000, 1),
            "findings": [finding.to_dict() for finding in self.result.findings],
        }


@dataclass
class PreflightReport:
    checklist: Checklist
    items: list[ItemResult]
    fail_on: str = "critical"
    require_attested: bool = False
    started_at: str = ""
    duration_s: float = 0.0
    context: dict[str, Any] = field(default_factory=dict)  # what was checked: repo, deployment, … (no secrets)

    def blocking(self, item: ItemResult) -> bool:
        """Does this item count towards the verdict (its severity is at or above --fail-on; with
        --require-attested, a manual item always does: the user asked for it)?"""
        if self.require_attested and item.placed.item.manual:
            return True
        return SEVERITY_RANK[item.placed.item.severity] >= SEVERITY_RANK[self.fail_on]

    @property
    def failures(self) -> list[ItemResult]:
        return [item for item in self.items if item.status == "fail" and self.blocking(item)]

    @property
    def errors(self) -> list[ItemResult]:
        return [item for item in self.items if item.status == "error" and self.blocking(item)]

    @property
    def ready(self) -> bool:
        return not self.failures and not self.errors

    @property
    def exit_code(self) -> int:
        if self.failures:
            return 1
        if self.errors:
            return 3 if any(item.unreachable for item in self.errors) else 1
        return 0

    def counts(self) -> dict[str, int]:
        return {status: sum(item.status == status for item in self.items) for status in STATUSES}

    def summary(self) -> str:
        counts = self.counts()
        parts = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
        verdict = "READY" if self.ready else "NOT READY"
        return f"{verdict}: {parts} (fail on {self.fail_on})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ready": self.ready, "exit_code": self.exit_code, "summary": self.summary(),
            "fail_on": self.fail_on, "started_at": self.started_at, "duration_s": round(self.duration_s, 3),
            "checklist": self.checklist.to_dict(), "context": self.context, "counts": self.counts(),
            "items": [item.to_dict() for item in self.items],
        }
