"""Judge what a key probe observed: one verdict per key, the model checks, and the exit code.

Verdicts, in the order they win when a key shows several problems:

    unreachable            3  no answer at all to the model listing (DNS, refused, timeout)
    invalid_key            1  401/403 on the model listing: the key is unknown, revoked or refused
    rate_limited           3  429 on the listing (with Retry-After when the server sent it)
    degraded               3  5xx on the listing: Mistral is degraded, the key could not be judged
    unexpected_response    3  any other answer to the listing (e.g. 404: a wrong base URL)
    payment_not_activated  1  the listing works but a chat completion answers 401
    forbidden_model        1  a named model answers 403 (lookup or completion)
    model_not_found        1  a named model does not exist (404)
    rate_limited/degraded/unreachable   3  on the completion: the payment check could not be made
    valid                  0

A definite finding about the key or the configuration (1) beats an inconclusive one (3): the overall exit
code is 1 when any key is not OK, else 3 when any key could not be checked, else 0.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from magent.core.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_UNREACHABLE
from magent.core.text import counted

if TYPE_CHECKING:
    from magent.services.mistral.client import ApiFailure
    from magent.services.mistral.probe import KeyProbe, ModelLookup

VALID = "valid"
INVALID_KEY = "invalid_key"
PAYMENT_NOT_ACTIVATED = "payment_not_activated"
FORBIDDEN_MODEL = "forbidden_model"
MODEL_NOT_FOUND = "model_not_found"
RATE_LIMITED = "rate_limited"
DEGRADED = "degraded"
UNREACHABLE = "unreachable"
UNEXPECTED = "unexpected_response"

VERDICT_EXIT = {
    VALID: EXIT_OK,
    INVALID_KEY: EXIT_CHECK_FAILED,
    PAYMENT_NOT_ACTIVATED: EXIT_CHECK_FAILED,
    FORBIDDEN_MODEL: EXIT_CHECK_FAILED,
    MODEL_NOT_FOUND: EXIT_CHECK_FAILED,
    RATE_LIMITED: EXIT_UNREACHABLE,
    DEGRADED: EXIT_UNREACHABLE,
    UNREACHABLE: EXIT_UNREACHABLE,
    UNEXPECTED: EXIT_UNREACHABLE,
}
VERDICT_LABELS = {
    VALID: "valid",
    INVALID_KEY: "INVALID KEY",
    PAYMENT_NOT_ACTIVATED: "PAYMENT NOT ACTIVATED",
    FORBIDDEN_MODEL: "FORBIDDEN MODEL",
    MODEL_NOT_FOUND: "MODEL NOT FOUND",
    RATE_LIMITED: "RATE LIMITED",
    DEGRADED: "MISTRAL DEGRADED",
    UNREACHABLE: "UNREACHABLE",
    UNEXPECTED: "UNEXPECTED RESPONSE",
}
# ApiFailure.kind (magent.services.mistral.client) → verdict, for a failure of the model listing.
_LISTING_VERDICTS = {"auth": INVALID_KEY, "forbidden": INVALID_KEY, "rate_limited": RATE_LIMITED,
                     "server": DEGRADED, "dns": UNREACHABLE, "refused": UNREACHABLE, "timeout": UNREACHABLE}
# … and for a failure of the 1-token completion, the listing having worked.
_COMPLETION_VERDICTS = {"auth": PAYMENT_NOT_ACTIVATED, "forbidden": FORBIDDEN_MODEL, "not_found": MODEL_NOT_FOUND,
                        "invalid_model": MODEL_NOT_FOUND,
                        "rate_limited": RATE_LIMITED, "server": DEGRADED, "dns": UNREACHABLE, "refused": UNREACHABLE,
                        "timeout": UNREACHABLE}
_PRECEDENCE = (PAYMENT_NOT_ACTIVATED, FORBIDDEN_MODEL, MODEL_NOT_FOUND, RATE_LIMITED, DEGRADED, UNREACHABLE, UNEXPECTED)
_HINTS = {
    VALID: None,
    INVALID_KEY: "create or copy a valid key in console.mistral.ai (API Keys) and update the source it came from",
    PAYMENT_NOT_ACTIVATED: "activate payments for the workspace in console.mistral.ai (Billing), then retry",
    FORBIDDEN_MODEL: "give the workspace access to the model, or change mistral.models",
    MODEL_NOT_FOUND: "fix the model name in mistral.models (or --model); `-o json` lists the key's available_models",
    RATE_LIMITED: "wait for Retry-After, lower the request rate, or ask Mistral for higher limits",
    DEGRADED: "Mistral answered 5xx: see https://status.mistral.ai and retry later",
    UNREACHABLE: "check the base URL (--base-url / MAGENT_MISTRAL_URL), DNS, proxies and the network",
    UNEXPECTED: "check the base URL (no /v1 suffix); run with --debug for details",
}
LOW_REMAINING_RATIO = 0.1
_DATED = re.compile(r"-\d{4}$")


@dataclass
class ModelCheck:
    model: str
    status: str  # ok | not_found | forbidden | error
    resolves_to: str | None = None  # for an alias: the model it points to now
    detail: str | None = None


@dataclass
class KeyReport:
    """The verdict on one key, ready to render (no secret in any field)."""

    source: str
    fingerprint: str
    verdict: str
    explanation: str
    hint: str | None = None
    models_count: int | None = None
    models_latency_ms: float | None = None
    payment: str = "unknown"  # activated | not_activated | not_checked | unknown
    completion_model: str | None = None
    completion_latency_ms: float | None = None
    model_checks: list[ModelCheck] = field(default_factory=list)
    rate_limits: dict[str, int | None] | None = None
    retry_after_s: float | None = None
    http_status: int | None = None
    warnings: list[str] = field(default_factory=list)
    available_models: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return VERDICT_EXIT[self.verdict]

    @property
    def ok(self) -> bool:
        return self.verdict == VALID

    @property
    def label(self) -> str:
        return VERDICT_LABELS[self.verdict]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ok=self.ok, exit_code=self.exit_code)
        return data


def evaluate_key(
    source: str,
    fingerprint: str,
    probe: KeyProbe,
    *,
    models: Sequence[str] = (),
    intentional_aliases: Sequence[str] = (),
    warnings: Sequence[str] = (),
) -> KeyReport:
    """The report for one key: verdict, explanation, hint, model checks and warnings."""
    listing = probe.listing
    report = KeyReport(source, fingerprint, VALID, "", models_latency_ms=listing.latency_ms, warnings=list(warnings))
    report.rate_limits = _limits_dict(probe)
    if not listing.ok:
        return _listing_failed(report, listing.failure)
    report.models_count = len(listing.models)
    report.available_models = [model.id for model in listing.models]
    report.model_checks = [_model_check(lookup) for lookup in probe.lookups]
    _judge_completion(report, probe)
    _judge(report, probe)
    report.warnings += alias_warnings(report.model_checks, models, intentional_aliases)
    report.warnings += _deprecation_warnings(probe.lookups) + _rate_limit_warnings(probe)
    return report


def overall_exit_code(reports: Sequence[KeyReport]) -> int:
    """1 if any key is not OK, else 3 if any key could not be checked, else 0."""
    codes = {report.exit_code for report in reports}
    if EXIT_CHECK_FAILED in codes:
        return EXIT_CHECK_FAILED
    return EXIT_UNREACHABLE if EXIT_UNREACHABLE in codes else EXIT_OK


def summary_line(reports: Sequence[KeyReport]) -> str:
    """`1 of 3 keys valid (1 could not be checked)`."""
    valid = sum(report.ok for report in reports)
    unchecked = sum(report.exit_code == EXIT_UNREACHABLE for report in reports)
    tail = f" ({unchecked} could not be checked)" if unchecked else ""
    return f"{valid} of {counted(len(reports), 'key')} valid{tail}"


def duplicate_warnings(fingerprints: Sequence[str], sources: Sequence[str]) -> list[list[str]]:
    """For each key, a warning when another source holds the very same key."""
    result: list[list[str]] = []
    for index, (print_, _source) in enumerate(zip(fingerprints, sources)):
        same = [src for j, (fp, src) in enumerate(zip(fingerprints, sources)) if fp == print_ and j != index]
        result.append([f"same key as {', '.join(same)}"] if same else [])
    return result


def alias_warnings(checks: Sequence[ModelCheck], models: Sequence[str], intentional: Sequence[str]) -> list[str]:
    """A `-latest` alias moves under the application's feet: warn unless marked intentional."""
    resolved = {check.model: check.resolves_to for check in checks}
    warnings = []
    for name in dict.fromkeys(models):
        if name.endswith("-latest") and name not in intentional:
            now = f" (now {resolved[name]})" if resolved.get(name) else ""
            warnings.append(f"{name} is a '-latest' alias{now}: pin a version, or list it in mistral.intentional_aliases")
    return warnings


def _listing_failed(report: KeyReport, failure: ApiFailure | None) -> KeyReport:
    assert failure is not None
    report.verdict = _LISTING_VERDICTS.get(failure.kind, UNEXPECTED)
    report.http_status, report.retry_after_s = failure.status, failure.retry_after_s
    report.payment = "unknown"
    report.explanation = _explain(report.verdict, failure, "GET /v1/models")
    report.hint = _HINTS[report.verdict]
    return report


def _judge_completion(report: KeyReport, probe: KeyProbe) -> None:
    if not probe.spend:
        report.payment = "not_checked"
        return
    if not probe.completions:
        report.payment = "unknown"
        report.warnings.append("no chat model available to this key: payment activation not checked")
        return
    successes = [c for c in probe.completions if c.ok]
    first = successes[0] if successes else probe.completions[0]
    report.completion_model, report.completion_latency_ms = first.model, first.latency_ms
    if successes:
        report.payment = "activated"
    elif probe.completions[-1].failure and probe.completions[-1].failure.kind == "auth":
        report.payment = "not_activated"


def _judge(report: KeyReport, probe: KeyProbe) -> None:
    """Collect every finding, keep the one that wins, and explain it."""
    findings: list[tuple[str, str, str, ApiFailure]] = []  # (verdict, model, call, failure)
    for lookup in probe.lookups:
        if lookup.failure is not None:
            verdict = _COMPLETION_VERDICTS.get(lookup.failure.kind, UNEXPECTED)
            findings.append((verdict, lookup.model, f"GET /v1/models/{lookup.model}", lookup.failure))
    for completion in probe.completions:
        if completion.failure is not None:
            verdict = _COMPLETION_VERDICTS.get(completion.failure.kind, UNEXPECTED)
            call = f"a 1-token chat completion on {completion.model}"
            findings.append((verdict, completion.model, call, completion.failure))
            _mark_forbidden(report.model_checks, completion.model, completion.failure)
    if not findings:
        report.explanation = _valid_explanation(report)
        return
    findings.sort(key=lambda item: _PRECEDENCE.index(item[0]))
    verdict, _model, call, failure = findings[0]
    report.verdict, report.hint = verdict, _HINTS[verdict]
    report.http_status, report.retry_after_s = failure.status, failure.retry_after_s
    models = list(dict.fromkeys(model for v, model, _c, _f in findings if v == verdict))
    report.explanation = _explain(verdict, failure, call, models=models)
    if verdict == MODEL_NOT_FOUND:
        report.hint = _did_you_mean(models, report.available_models) + (report.hint or "")


def _did_you_mean(missing: Sequence[str], available: Sequence[str]) -> str:
    guesses = [match for name in missing for match in difflib.get_close_matches(name, available, n=1, cutoff=0.6)]
    return f"did you mean {', '.join(dict.fromkeys(guesses))}? " if guesses else ""


def _mark_forbidden(checks: list[ModelCheck], model: str, failure: ApiFailure) -> None:
    """A model that is listed but refuses chat (403) fails its model check too."""
    if failure.kind != "forbidden":
        return
    for check in checks:
        if check.model == model:
            check.status, check.detail = "forbidden", failure.message


def _explain(verdict: str, failure: ApiFailure | None, call: str, models: Sequence[str] = ()) -> str:
    status = f"{failure.status} " if failure and failure.status else ""
    said = f'{call} answered {status}"{failure.message}"' if failure else call
    names = ", ".join(models)
    if verdict == INVALID_KEY:
        return f"the API refused the key: {said}"
    if verdict == PAYMENT_NOT_ACTIVATED:
        return f"the key lists models but cannot run them, payment is not activated: {said}"
    if verdict == FORBIDDEN_MODEL:
        return f"the key has no access to {names}: {said}"
    if verdict == MODEL_NOT_FOUND:
        return f"no model named {names} for this key: {said}"
    if verdict == RATE_LIMITED:
        wait = f"; retry after {failure.retry_after_s:g} s" if failure and failure.retry_after_s is not None else ""
        return f"the key is rate limited: {said}{wait}"
    if verdict == DEGRADED:
        return f"Mistral is degraded, the key could not be judged: {said}"
    if verdict == UNREACHABLE:
        where = f" ({failure.url})" if failure and failure.url else ""
        return f"no answer from the API{where}: {failure.message if failure else 'no response'}"
    return f"unexpected answer: {said}"


def _valid_explanation(report: KeyReport) -> str:
    parts = [f"the key lists {report.models_count} models"]
    if report.model_checks:
        parts.append(f"the {len(report.model_checks)} configured models exist")
    if report.payment == "activated":
        parts.append(f"a 1-token chat on {report.completion_model} succeeded (payment activated)")
    elif report.payment == "not_checked":
        parts.append("payment not checked (--no-spend)")
    return ", ".join(parts)


def _model_check(lookup: ModelLookup) -> ModelCheck:
    if lookup.info is not None:
        return ModelCheck(lookup.model, "ok", pinned_name(lookup.model, lookup.info.id, lookup.info.aliases))
    failure = lookup.failure
    kind = failure.kind if failure else "error"
    status = {"not_found": "not_found", "invalid_model": "not_found", "forbidden": "forbidden"}.get(kind, "error")
    return ModelCheck(lookup.model, status, detail=failure.message if failure else None)


def pinned_name(name: str, card_id: str, aliases: Sequence[str]) -> str | None:
    """The dated model an alias points to now (`mistral-small-latest` → `mistral-small-2506`); None if dated."""
    if _DATED.search(name):
        return None
    names = [n for n in (card_id, *aliases) if n != name and not n.endswith("-latest")]
    dated = [n for n in names if _DATED.search(n)]
    return (dated or names or [None])[0]


def _deprecation_warnings(lookups: Sequence[ModelLookup]) -> list[str]:
    warnings = []
    for lookup in lookups:
        info = lookup.info
        if info is not None and info.deprecation:
            instead = f"; replacement: {info.replacement}" if info.replacement else ""
            warnings.append(f"{lookup.model} is deprecated (retires {info.deprecation}){instead}")
    return warnings


def _rate_limit_warnings(probe: KeyProbe) -> list[str]:
    limits = probe.rate_limits
    if limits is None:
        return []
    warnings = []
    for what, limit, remaining in (
        ("requests/min", limits.limit_req_minute, limits.remaining_req_minute),
        ("tokens/min", limits.limit_tokens_minute, limits.remaining_tokens_minute),
    ):
        if limit and remaining is not None and remaining < limit * LOW_REMAINING_RATIO:
            warnings.append(f"only {remaining} of {limit} {what} left in this minute")
    return warnings


def _limits_dict(probe: KeyProbe) -> dict[str, int | None] | None:
    return asdict(probe.rate_limits) if probe.rate_limits is not None else None
