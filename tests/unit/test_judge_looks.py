"""The statistical judge over a step's repeated analyses: alpha is shared between them (Bonferroni).

A step analyses its canary every interval during its pause, each time on a fresh window. Testing each at
alpha = 0.05 aborted healthy canaries on flukes: in the sandbox, a canary identical to stable failed on
`latency_vs_stable` (P(canary slower) = 0.61, p = 0.0225, n = 24 vs 100) at its sixth analysis.
"""

from __future__ import annotations

import random

import pytest

from magent.core.analysis_config import StatisticsSettings
from magent.core.judge import TrackCounts, Verdict, compare_error_rates, compare_latencies

# Bucket indices of a histogram whose boundary sits at the median: the sandbox's sample app (median 0.05 s)
FLUKE_CANARY = [0] * 7 + [1] * 17
FLUKE_STABLE = [0] * 50 + [1] * 50


def test_a_fluke_that_fails_one_test_passes_when_the_step_makes_several():
    alone = compare_latencies(FLUKE_CANARY, FLUKE_STABLE, StatisticsSettings().comparison())
    assert alone.verdict is Verdict.FAIL and 0.01 < alone.value < 0.05, alone  # the fluke, as seen
    shared = compare_latencies(FLUKE_CANARY, FLUKE_STABLE, StatisticsSettings().comparison(looks=10))
    assert shared.verdict is Verdict.PASS, shared
    assert shared.threshold.startswith("p >= 0.005 (0.05 over 10 analyses)"), shared.threshold


@pytest.mark.parametrize("looks", [1, 10, 100])
def test_a_clearly_slower_or_failing_canary_still_fails(looks):
    comparison = StatisticsSettings().comparison(looks=looks)
    slow = compare_latencies([3] * 60 + [2] * 20, [1] * 300 + [2] * 100, comparison)
    assert slow.verdict is Verdict.FAIL, slow
    errors = compare_error_rates(TrackCounts(24, 80), TrackCounts(1, 400), comparison)
    assert errors.verdict is Verdict.FAIL, errors


def test_identical_canaries_are_rarely_aborted_over_a_whole_step():
    # 150 steps of 10 analyses each, canary and stable drawn from one distribution with a bucket boundary at its
    # median: a step aborts if any of its analyses fails. Shared, alpha bounds that; per test, it was ~1 in 3.
    rng = random.Random(7)
    per_test, shared = StatisticsSettings().comparison(), StatisticsSettings().comparison(looks=10)
    aborted = {"per test": 0, "shared": 0}
    for _ in range(150):
        results = [compare_latencies([rng.randint(0, 1) for _ in range(24)], [rng.randint(0, 1) for _ in range(100)],
                                     per_test) for _ in range(10)]
        failed = [result for result in results if result.verdict is Verdict.FAIL]
        aborted["per test"] += bool(failed)
        aborted["shared"] += any(result.value < shared.alpha for result in failed)  # same p, alpha / 10
    assert aborted["shared"] / 150 <= 0.08 and aborted["per test"] / 150 >= 0.2, aborted


def test_looks_below_one_are_one():
    assert StatisticsSettings().comparison(looks=0).alpha == 0.05


@pytest.mark.parametrize(("pause_s", "interval_s", "looks"), [
    (300, 30, 10), (3, 1, 3), (0, 1, 1), (0.4, 1, 1), (95, 30, 4), (float("inf"), 1, 1), (10, 0, 1)])
def test_a_step_makes_one_analysis_per_interval_of_its_pause(pause_s, interval_s, looks):
    from magent.core.analysis_config import analyses_per_step

    assert analyses_per_step(pause_s, interval_s) == looks


@pytest.mark.parametrize(("max_inconclusive", "looks"), [(1, 10), (3, 12), (5, 14)])
def test_a_step_that_holds_after_its_pause_shares_alpha_with_those_analyses_too(max_inconclusive, looks):
    """After the pause, a step holds on inconclusive results (each a new look that could fail it) until the
    max_inconclusive-th, counting the pause's last analysis: pause 5m at 30s makes 10, then up to 2 more at 3."""
    from magent.core.analysis_config import analyses_per_step

    assert analyses_per_step(300, 30, max_inconclusive) == looks
