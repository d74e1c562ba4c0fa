"""The analysis judge: combining verdicts, absolute thresholds, and the canary-vs-stable statistics."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from magent.core.judge import (
    DEFAULT_THRESHOLDS,
    AnalysisResult,
    Comparison,
    MetricResult,
    Threshold,
    TrackCounts,
    Verdict,
    analyse,
    bucket_median,
    check_threshold,
    combine,
    compare_error_rates,
    compare_latencies,
    histogram_samples,
)


def result(verdict: Verdict, name: str = "m") -> MetricResult:
    return MetricResult("test", name, 1.0 if verdict is not Verdict.INCONCLUSIVE else None, "-", verdict, "")


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([], Verdict.INCONCLUSIVE),  # no data is inconclusive, never a pass
        ([Verdict.PASS], Verdict.PASS),
        ([Verdict.PASS, Verdict.INCONCLUSIVE], Verdict.INCONCLUSIVE),
        ([Verdict.INCONCLUSIVE, Verdict.FAIL, Verdict.PASS], Verdict.FAIL),
    ],
)
def test_combine(verdicts, expected):
    assert combine(result(v) for v in verdicts) is expected


@given(st.lists(st.sampled_from(list(Verdict)), max_size=8), st.randoms())
def test_combine_properties(verdicts, rng):
    results = [result(v) for v in verdicts]
    shuffled = results[:]
    rng.shuffle(shuffled)
    combined = combine(results)
    assert combined is combine(shuffled)
    assert (combined is Verdict.FAIL) == (Verdict.FAIL in verdicts)
    assert (combined is Verdict.PASS) == (bool(verdicts) and set(verdicts) == {Verdict.PASS})


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("errors_5xx_per_min", 10.0, Verdict.PASS),
        ("errors_5xx_per_min", 10.5, Verdict.FAIL),
        ("latency_p95_seconds", 5.01, Verdict.FAIL),
        ("rate_limited_429_per_min", 4.0, Verdict.PASS),
        ("unauthorized_401", 0.0, Verdict.PASS),
        ("unauthorized_401", 1.0, Verdict.FAIL),  # any 401
        ("errors_5xx_per_min", None, Verdict.INCONCLUSIVE),
        ("latency_p95_seconds", math.nan, Verdict.INCONCLUSIVE),  # histogram_quantile without traffic
    ],
)
def test_default_thresholds_follow_the_alert_table(name, value, expected):
    assert DEFAULT_THRESHOLDS[name].verdict(value) is expected


def test_check_threshold_reports_value_threshold_and_context():
    failed = check_threshold("prometheus", "errors_5xx_per_min", 42.0, DEFAULT_THRESHOLDS["errors_5xx_per_min"],
                             track="canary", context="stable 0")
    assert failed == MetricResult("prometheus", "errors_5xx_per_min", 42.0, "<= 10/min", Verdict.FAIL,
                                  "42/min (stable 0)", "canary")
    empty = check_threshold("web", "x", math.nan, Threshold(min=1, max=3))
    assert (empty.value, empty.verdict, empty.detail, empty.threshold) == (None, Verdict.INCONCLUSIVE, "no data",
                                                                            ">= 1 and <= 3")


# --- error proportions (Fisher) -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("canary", "stable", "expected"),
    [
        (TrackCounts(30, 300), TrackCounts(10, 3000), Verdict.FAIL),  # 10 % vs 0.3 %
        (TrackCounts(3, 300), TrackCounts(30, 3000), Verdict.PASS),  # same proportion
        (TrackCounts(0, 300), TrackCounts(90, 3000), Verdict.PASS),  # canary better
        (TrackCounts(2000, 1_000_000), TrackCounts(1000, 1_000_000), Verdict.PASS),  # significant, but +0.1 pp only
        (TrackCounts(2, 3), TrackCounts(0, 3000), Verdict.INCONCLUSIVE),  # too few canary requests
        (TrackCounts(20, 300), TrackCounts(0, 10), Verdict.INCONCLUSIVE),  # too few stable requests
    ],
)
def test_compare_error_rates(canary, stable, expected):
    outcome = compare_error_rates(canary, stable)
    assert outcome.verdict is expected
    assert outcome.track == "canary" and outcome.name == "error_rate_vs_stable"
    assert (outcome.value is None) == (expected is Verdict.INCONCLUSIVE)


def test_error_comparison_detail_names_both_tracks():
    outcome = compare_error_rates(TrackCounts(30, 300), TrackCounts(10, 3000))
    assert outcome.detail.startswith("canary 10.00% (30/300) vs stable 0.33% (10/3000), p=")
    assert outcome.value < 1e-10


# --- latency (Mann-Whitney U) -------------------------------------------------------------------------

def lognormal(rng: random.Random, n: int, median: float) -> list[float]:
    return [median * rng.lognormvariate(0, 0.5) for _ in range(n)]


def test_slower_canary_fails_and_equal_canary_passes():
    rng = random.Random(7)
    stable = lognormal(rng, 400, 0.100)
    slower = compare_latencies(lognormal(rng, 100, 0.200), stable)
    assert slower.verdict is Verdict.FAIL and slower.value < 0.001
    same = compare_latencies(lognormal(rng, 100, 0.100), stable)
    assert same.verdict is Verdict.PASS
    faster = compare_latencies(lognormal(rng, 100, 0.050), stable)
    assert faster.verdict is Verdict.PASS and faster.value > 0.99


def test_tiny_slowdown_on_a_large_sample_is_significant_but_not_material():
    rng = random.Random(11)
    outcome = compare_latencies(lognormal(rng, 5000, 0.104), lognormal(rng, 5000, 0.100))
    assert outcome.value < 0.05  # significant …
    assert outcome.verdict is Verdict.PASS  # … but P(canary slower) is well below 0.6


def test_too_few_latency_samples_is_inconclusive():
    outcome = compare_latencies([1.0] * 5, [0.1] * 500, Comparison(min_samples=20))
    assert outcome.verdict is Verdict.INCONCLUSIVE and "too few canary latency samples (5 < 20)" in outcome.detail


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.001, 10), min_size=20, max_size=200), st.floats(0.1, 1.0))
def test_an_identical_or_faster_canary_never_fails(stable, factor):
    assert compare_latencies(stable, stable).verdict is Verdict.PASS
    assert compare_latencies([v * factor for v in stable], stable).verdict is Verdict.PASS


# --- histograms -----------------------------------------------------------------------------------------

def test_histogram_samples_are_bucket_ranks():
    assert histogram_samples({0.1: 5, 0.5: 8, math.inf: 10}) == [0] * 5 + [1] * 3 + [2] * 2
    assert histogram_samples({0.1: 5.4, 0.5: 5.1, math.inf: 7.6}) == [0] * 5 + [2] * 2  # extrapolation noise
    assert histogram_samples({}) == []
    capped = histogram_samples({0.1: 50_000, math.inf: 100_000}, max_samples=1000)
    assert capped.count(0) == 500 and capped.count(1) == 500


def test_bucket_median():
    assert bucket_median({0.1: 2, 0.25: 6, math.inf: 10}) == 0.25
    assert bucket_median({0.1: 0, math.inf: 0}) is None


def test_histogram_comparison_detects_a_shift_of_one_bucket():
    stable = histogram_samples({0.05: 100, 0.1: 900, 0.25: 990, math.inf: 1000})
    canary = histogram_samples({0.05: 5, 0.1: 30, 0.25: 90, math.inf: 100})
    assert compare_latencies(canary, stable).verdict is Verdict.FAIL
    assert compare_latencies(stable[::10], stable).verdict is Verdict.PASS


# --- results ----------------------------------------------------------------------------------------------

def test_analysis_result_round_trips_and_summarises():
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    outcome = analyse([result(Verdict.PASS, "a"), result(Verdict.FAIL, "b")], at=at)
    data = outcome.to_dict()
    assert data["verdict"] == "fail" and data["at"] == "2026-01-02T03:04:05Z"
    assert data["metrics"][1]["verdict"] == "fail"
    assert AnalysisResult.from_dict(data) == outcome
    assert outcome.summary() == "fail: test/b ()"
    assert analyse([]).summary() == "inconclusive: no analysis data"
    assert analyse([result(Verdict.PASS)]).summary() == "pass: 1 metrics within thresholds"


@settings(max_examples=60, deadline=None)
@given(st.integers(50, 5000), st.integers(50, 5000), st.floats(0, 1), st.floats(0, 1))
def test_a_canary_failing_no_more_often_than_stable_never_fails(canary_total, stable_total, canary_rate, stable_rate):
    canary_rate = min(canary_rate, stable_rate)
    canary = TrackCounts(round(canary_total * canary_rate), canary_total)
    stable = TrackCounts(round(stable_total * stable_rate), stable_total)
    if canary.proportion <= stable.proportion:
        assert compare_error_rates(canary, stable).verdict is Verdict.PASS
