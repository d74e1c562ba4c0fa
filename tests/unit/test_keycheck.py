"""Verdicts, model checks, warnings and exit codes of `magent key verify`, from probe data alone."""

from __future__ import annotations

import pytest

from magent.core import keycheck as kc
from magent.services.mistral.client import ApiFailure
from magent.services.mistral.probe import (
    CompletionProbe,
    KeyProbe,
    ModelInfo,
    ModelLookup,
    ModelsListing,
    RateLimits,
)

URL = "http://127.0.0.1:9"
SMALL = ModelInfo("mistral-small-2506", aliases=("mistral-small-latest",))
LARGE = ModelInfo("mistral-large-2411", aliases=("mistral-large-latest",), deprecation="2026-12-31",
                  replacement="mistral-large-2512")
LISTING = ModelsListing(12.0, (SMALL, LARGE))


def fail(kind: str, status: int | None = None, message: str = "boom", retry_after: float | None = None) -> ApiFailure:
    return ApiFailure(kind, message, status, retry_after, url=f"{URL}/v1/models")


def probe(listing=LISTING, lookups=(), completions=None, limits=None, spend=True) -> KeyProbe:
    if completions is None:
        completions = (CompletionProbe("mistral-small-2506", 40.0, total_tokens=2),) if spend else ()
    return KeyProbe(URL, listing, tuple(lookups), tuple(completions), limits, spend)


def evaluate(p: KeyProbe, models=(), aliases=(), warnings=()) -> kc.KeyReport:
    return kc.evaluate_key("env:K", "…abcd (sha256:00)", p, models=models, intentional_aliases=aliases,
                           warnings=warnings)


def test_valid_key():
    report = evaluate(probe(lookups=[ModelLookup("mistral-small-2506", SMALL)]), models=["mistral-small-2506"])
    assert (report.verdict, report.exit_code, report.ok) == ("valid", 0, True)
    assert report.models_count == 2 and report.models_latency_ms == 12.0
    assert report.payment == "activated" and report.completion_model == "mistral-small-2506"
    assert report.model_checks == [kc.ModelCheck("mistral-small-2506", "ok")]
    assert report.hint is None and report.warnings == []
    assert "lists 2 models" in report.explanation and "payment activated" in report.explanation


@pytest.mark.parametrize(
    ("failure", "verdict", "code", "words"),
    [
        (fail("auth", 401, "Unauthorized"), "invalid_key", 1, "refused the key"),
        (fail("forbidden", 403, "Forbidden"), "invalid_key", 1, "refused the key"),
        (fail("rate_limited", 429, "Rate limit exceeded", 7), "rate_limited", 3, "retry after 7 s"),
        (fail("server", 503, "upstream down"), "degraded", 3, "Mistral is degraded"),
        (fail("refused", None, "cannot connect: refused"), "unreachable", 3, "no answer from the API"),
        (fail("dns", None, "DNS lookup failed"), "unreachable", 3, "DNS lookup failed"),
        (fail("timeout", None, "timed out"), "unreachable", 3, "timed out"),
        (fail("not_found", 404, "Not Found"), "unexpected_response", 3, "unexpected answer"),
    ],
)
def test_listing_failures(failure, verdict, code, words):
    report = evaluate(probe(listing=ModelsListing(5.0, failure=failure), completions=()))
    assert (report.verdict, report.exit_code) == (verdict, code)
    assert words in report.explanation
    assert report.hint and report.models_count is None and report.payment == "unknown"
    assert report.http_status == failure.status


def test_rate_limited_keeps_retry_after_and_headers():
    limits = RateLimits(60, 0, 2_000_000, 1_000_000, None)
    report = evaluate(probe(listing=ModelsListing(5.0, failure=fail("rate_limited", 429, "Rate limit exceeded", 30.0)),
                            completions=(), limits=limits))
    assert report.retry_after_s == 30.0
    assert report.rate_limits["limit_req_minute"] == 60 and report.rate_limits["remaining_req_minute"] == 0


def test_payment_not_activated():
    completions = [CompletionProbe("mistral-small-2506", 9.0, failure=fail("auth", 401, "Payment required"))]
    report = evaluate(probe(completions=completions))
    assert (report.verdict, report.exit_code, report.payment) == ("payment_not_activated", 1, "not_activated")
    assert "payment is not activated" in report.explanation and "Billing" in report.hint


def test_forbidden_model_on_completion_marks_the_check():
    lookups = [ModelLookup("mistral-small-2506", SMALL), ModelLookup("mistral-large-2411", LARGE)]
    completions = [CompletionProbe("mistral-small-2506", 9.0),
                   CompletionProbe("mistral-large-2411", 9.0, failure=fail("forbidden", 403, "no access"))]
    report = evaluate(probe(lookups=lookups, completions=completions), models=["mistral-small-2506", "mistral-large-2411"])
    assert (report.verdict, report.exit_code, report.payment) == ("forbidden_model", 1, "activated")
    assert "no access to mistral-large-2411" in report.explanation
    assert [c.status for c in report.model_checks] == ["ok", "forbidden"]


def test_missing_and_forbidden_lookups():
    lookups = [ModelLookup("nope-1", failure=fail("not_found", 404, "Model not found")),
               ModelLookup("secret-model", failure=fail("forbidden", 403, "Forbidden"))]
    report = evaluate(probe(lookups=lookups), models=["nope-1", "secret-model"])
    assert report.verdict == "forbidden_model"  # forbidden wins over not found
    assert [c.status for c in report.model_checks] == ["not_found", "forbidden"]
    only_missing = evaluate(probe(lookups=lookups[:1]), models=["nope-1"])
    assert (only_missing.verdict, only_missing.exit_code) == ("model_not_found", 1)
    assert "no model named nope-1" in only_missing.explanation
    typo = evaluate(probe(lookups=[ModelLookup("mistral-smal-2506", failure=fail("not_found", 404))]))
    assert typo.hint.startswith("did you mean mistral-small-2506? ")
    assert typo.available_models == ["mistral-small-2506", "mistral-large-2411"]


def test_payment_wins_over_a_missing_model():
    lookups = [ModelLookup("nope-1", failure=fail("not_found", 404))]
    completions = [CompletionProbe("mistral-small-2506", 9.0, failure=fail("auth", 401))]
    assert evaluate(probe(lookups=lookups, completions=completions)).verdict == "payment_not_activated"


@pytest.mark.parametrize(("kind", "status", "verdict"), [("rate_limited", 429, "rate_limited"),
                                                         ("server", 502, "degraded"), ("timeout", None, "unreachable")])
def test_completion_could_not_be_judged(kind, status, verdict):
    report = evaluate(probe(completions=[CompletionProbe("mistral-small-2506", 9.0, failure=fail(kind, status))]))
    assert (report.verdict, report.exit_code, report.payment) == (verdict, 3, "unknown")


def test_no_spend():
    report = evaluate(probe(spend=False))
    assert (report.verdict, report.payment) == ("valid", "not_checked")
    assert "--no-spend" in report.explanation


def test_no_chat_model_warns():
    report = evaluate(probe(listing=ModelsListing(3.0, ()), completions=()))
    assert report.verdict == "valid" and report.payment == "unknown"
    assert any("payment activation not checked" in w for w in report.warnings)


def test_latest_alias_warns_unless_intentional():
    lookups = [ModelLookup("mistral-small-latest", SMALL)]
    report = evaluate(probe(lookups=lookups), models=["mistral-small-latest"])
    assert report.model_checks[0].resolves_to == "mistral-small-2506"
    assert report.warnings == ["mistral-small-latest is a '-latest' alias (now mistral-small-2506): pin a version, "
                               "or list it in mistral.intentional_aliases"]
    quiet = evaluate(probe(lookups=lookups), models=["mistral-small-latest"], aliases=["mistral-small-latest"])
    assert quiet.warnings == []


def test_deprecated_model_and_low_rate_limits_warn():
    limits = RateLimits(limit_req_minute=100, remaining_req_minute=3, limit_tokens_minute=1000,
                        remaining_tokens_minute=900)
    report = evaluate(probe(lookups=[ModelLookup("mistral-large-2411", LARGE)], limits=limits),
                      models=["mistral-large-2411"], warnings=["same key as env:OTHER"])
    assert report.verdict == "valid"
    assert report.warnings == [
        "same key as env:OTHER",
        "mistral-large-2411 is deprecated (retires 2026-12-31); replacement: mistral-large-2512",
        "only 3 of 100 requests/min left in this minute",
    ]


@pytest.mark.parametrize(("codes", "expected"), [([], 0), ([0, 0], 0), ([0, 3], 3), ([3, 1, 0], 1), ([1], 1)])
def test_overall_exit_code(codes, expected):
    verdict_for = {0: "valid", 1: "invalid_key", 3: "unreachable"}
    reports = [kc.KeyReport("env:K", "fp", verdict_for[code], "") for code in codes]
    assert kc.overall_exit_code(reports) == expected


def test_duplicate_warnings_and_summary():
    assert kc.duplicate_warnings(["a", "b", "a"], ["env:A", "env:B", "file:c"]) == [
        ["same key as file:c"], [], ["same key as env:A"]]
    reports = [kc.KeyReport("env:K", "fp", "valid", ""), kc.KeyReport("env:L", "fp", "invalid_key", "")]
    assert kc.summary_line(reports) == "1 of 2 keys valid"
    assert kc.summary_line([kc.KeyReport("env:M", "fp", "degraded", "")]) == "0 of 1 key valid (1 could not be checked)"
    assert reports[1].to_dict()["exit_code"] == 1 and reports[1].to_dict()["ok"] is False


@pytest.mark.parametrize(
    ("name", "card_id", "aliases", "expected"),
    [
        ("mistral-small-latest", "mistral-small-latest", ("mistral-small-2506",), "mistral-small-2506"),
        ("mistral-small-latest", "mistral-small-2506", ("mistral-small-latest",), "mistral-small-2506"),
        ("mistral-medium", "mistral-medium", ("mistral-medium-latest", "mistral-medium-2508"), "mistral-medium-2508"),
        ("mistral-small-2506", "mistral-small-2506", ("mistral-small-latest",), None),
        ("mistral-embed", "mistral-embed", (), None),
    ],
)
def test_pinned_name(name, card_id, aliases, expected):
    assert kc.pinned_name(name, card_id, aliases) == expected
