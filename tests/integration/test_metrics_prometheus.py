"""The Prometheus provider against a real Prometheus scraping synthetic canary/stable traffic."""

from __future__ import annotations

import time

import pytest
from fixtures.prometheus import SyntheticTraffic, TrafficProfile

from magent.core.analysis_config import AnalysisTarget, parse_analysis
from magent.core.judge import Verdict, analyse
from magent.sandbox.server import ServerThread
from magent.services.metrics import collect

HEALTHY = TrafficProfile()
SCENARIOS = {
    "healthy": {"stable": ("v1", HEALTHY), "canary": ("v2", HEALTHY)},
    "errors": {"stable": ("v1", HEALTHY), "canary": ("v2", TrafficProfile(ratio_5xx=0.5))},
    "slow": {"stable": ("v1", HEALTHY), "canary": ("v2", TrafficProfile(latency_s=(0.3, 0.9)))},
    "refused": {"stable": ("v1", HEALTHY), "canary": ("v2", TrafficProfile(ratio_401=0.02, ratio_429=0.2))},
    "quiet": {"stable": ("v1", HEALTHY)},
}
TARGET = AnalysisTarget("shop", "agent", "agent-canary", "v1", "v2", window_s=5)


def _routes(apps: dict[str, SyntheticTraffic]):
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def metrics(request):
        return PlainTextResponse(apps[request.path_params["name"]].render())

    return Starlette(routes=[Route("/{name}/metrics", metrics)])


@pytest.fixture(scope="module")
def selectors(prometheus):
    """One scraped endpoint per scenario; waits until Prometheus holds a few seconds of each."""
    apps = {name: SyntheticTraffic(tracks) for name, tracks in SCENARIOS.items()}
    with ServerThread(_routes(apps)) as server:
        found = {name: prometheus.scrape(f"{server.url}/{name}/metrics") for name in apps}
        for selector in found.values():
            prometheus.wait_for(f'count_over_time(http_requests_total{{{selector},track="stable"}}[1m]) >= 3')
        yield found
        for selector in found.values():
            prometheus.unscrape(selector)


def _settings(prometheus, selector: str, **extra):
    section = {"url": prometheus.url, "selector": selector, "min_window": "5s", **extra}
    return parse_analysis({"prometheus": section, "statistics": {"min_requests": 40, "min_samples": 20}})


def _by_name(results):
    return {result.name: result for result in results}


def test_healthy_canary_passes_every_check(prometheus, selectors):
    results = collect(_settings(prometheus, selectors["healthy"]), TARGET)
    found = _by_name(results)
    assert set(found) == {"errors_5xx_per_min", "rate_limited_429_per_min", "unauthorized_401",
                          "latency_p95_seconds", "error_rate_vs_stable", "latency_vs_stable"}
    assert {r.name: r.verdict for r in results if r.verdict is not Verdict.PASS} == {}
    assert found["errors_5xx_per_min"].value == 0 and found["errors_5xx_per_min"].track == "canary"
    assert 0.05 <= found["latency_p95_seconds"].value <= 0.1  # the 50-100 ms bucket, interpolated
    assert analyse(results).verdict is Verdict.PASS


def test_canary_with_5xx_fails_threshold_and_comparison(prometheus, selectors):
    found = _by_name(collect(_settings(prometheus, selectors["errors"]), TARGET))
    errors = found["errors_5xx_per_min"]
    assert errors.verdict is Verdict.FAIL
    assert 500 <= errors.value <= 2000  # 50 rps x 50 % x 60 = 1500, give or take rate() extrapolation
    assert errors.threshold == "<= 10/min" and "stable 0" in errors.detail
    assert found["error_rate_vs_stable"].verdict is Verdict.FAIL
    assert found["latency_vs_stable"].verdict is Verdict.PASS


def test_slower_canary_is_caught_by_mann_whitney_under_the_absolute_threshold(prometheus, selectors):
    found = _by_name(collect(_settings(prometheus, selectors["slow"]), TARGET))
    assert found["latency_p95_seconds"].verdict is Verdict.PASS  # < 5 s: the alert table would not see it
    latency = found["latency_vs_stable"]
    assert latency.verdict is Verdict.FAIL
    assert "P(canary slower)=1.00" in latency.detail and latency.value < 0.001


def test_401_and_429_fail(prometheus, selectors):
    found = _by_name(collect(_settings(prometheus, selectors["refused"]), TARGET))
    assert found["unauthorized_401"].verdict is Verdict.FAIL and found["unauthorized_401"].value > 0
    assert found["rate_limited_429_per_min"].verdict is Verdict.FAIL
    assert found["errors_5xx_per_min"].verdict is Verdict.PASS


def test_canary_without_traffic_is_inconclusive_never_a_pass(prometheus, selectors):
    results = collect(_settings(prometheus, selectors["quiet"]), TARGET)
    assert {r.verdict for r in results} == {Verdict.INCONCLUSIVE}
    found = _by_name(results)
    assert "no series with track=canary" in found["errors_5xx_per_min"].detail
    assert "too few canary requests" in found["error_rate_vs_stable"].detail
    assert analyse(results).verdict is Verdict.INCONCLUSIVE


def test_user_queries_with_variables_and_without_per(prometheus, selectors):
    queries = [
        {"name": "canary_rps", "query": 'sum(rate(http_requests_total{$selector,version="$canary_version"}[$window]))',
         "min": 5, "unit": "/s"},
        {"name": "errors_5xx_per_min", "query": "vector(3)", "max": 2},  # replaces the default of that name
        {"name": "broken", "query": "sum(rate(", "max": 1},
    ]
    settings = _settings(prometheus, selectors["healthy"], queries=queries, compare=False)
    found = _by_name(collect(settings, TARGET))
    # rate() extrapolates over a few 1 s scrapes: the value is near the synthetic 50 req/s, not exact
    assert 10 <= found["canary_rps"].value <= 100 and found["canary_rps"].verdict is Verdict.PASS
    assert found["errors_5xx_per_min"].value == 3 and found["errors_5xx_per_min"].verdict is Verdict.FAIL
    assert found["broken"].verdict is Verdict.INCONCLUSIVE and "bad_data" in found["broken"].detail
    assert "error_rate_vs_stable" not in found


def test_unreachable_prometheus_is_inconclusive_quickly(unused_tcp_url):
    settings = parse_analysis({"prometheus": {"url": unused_tcp_url}, "timeout": "2s"})
    started = time.monotonic()
    results = collect(settings, TARGET)
    assert time.monotonic() - started < 2
    assert results and {r.verdict for r in results} == {Verdict.INCONCLUSIVE}
    assert "unreachable" in results[0].detail


def test_a_hanging_prometheus_is_cut_at_the_provider_timeout(hanging_server):
    settings = parse_analysis({"prometheus": {"url": hanging_server}, "timeout": "5s"})
    started = time.monotonic()
    results = collect(settings, TARGET, interval_s=1.0)  # capped at half the interval
    elapsed = time.monotonic() - started
    assert elapsed < 0.5 + 0.25 + 0.3
    assert {r.verdict for r in results} == {Verdict.INCONCLUSIVE}
    assert "timed out" in results[0].detail or "no answer" in results[0].detail
