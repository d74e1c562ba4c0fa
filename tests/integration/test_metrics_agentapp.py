"""The whole analysis against the sample agent app (magent.sandbox.agentapp) scraped by a real Prometheus:
the default queries must fit the app's metric names and labels."""

from __future__ import annotations

import contextlib

import pytest

from magent.core.analysis_config import AnalysisTarget, parse_analysis
from magent.core.judge import Verdict, analyse
from magent.services.metrics import collect

CANARIES = {"healthy": "v2", "errors": "v2-5xx", "slow": "v2-slow"}


@pytest.fixture(scope="module")
def agent_apps(prometheus):
    """One app per canary version (6 stable pods, 4 canary pods, 5 rps each), scraped until Prometheus holds 3 s."""
    from magent.sandbox.agentapp import AgentApp, TrackPods, serve_agent_app

    found = {}
    with contextlib.ExitStack() as stack:
        for name, version in CANARIES.items():
            pods = [TrackPods("stable", "v1", 6), TrackPods("canary", version, 4)]
            url = stack.enter_context(serve_agent_app(AgentApp(traffic_source=lambda pods=pods: pods, seed=1)))
            selector = prometheus.scrape(f"{url}/metrics")
            stack.callback(prometheus.unscrape, selector)
            found[name] = (url, selector)
        for _, selector in found.values():
            prometheus.wait_for(f'count_over_time(http_requests_total{{{selector},track="canary"}}[1m]) >= 3')
        yield found


def _run(prometheus, agent_apps, name: str):
    url, selector = agent_apps[name]
    settings = parse_analysis({
        "web": {"url": f"{url}/health", "json_path": "mistral.status", "expect": "ok"},
        "prometheus": {"url": prometheus.url, "selector": selector, "min_window": "5s"},
        "statistics": {"min_requests": 40},
    })
    target = AnalysisTarget("demo", "web", "web-canary", "v1", CANARIES[name], window_s=5)
    # interval 10 s: a provider gets half of it to answer (5 s), room for a Prometheus slowed by a loaded CI machine
    return analyse(collect(settings, target, interval_s=10))


def test_healthy_canary_of_the_sample_app_passes(prometheus, agent_apps):
    outcome = _run(prometheus, agent_apps, "healthy")
    assert outcome.verdict is Verdict.PASS, outcome.summary()
    assert {m.provider for m in outcome.metrics} == {"web", "prometheus"} and len(outcome.metrics) == 8


def test_sample_app_5xx_canary_fails(prometheus, agent_apps):
    outcome = _run(prometheus, agent_apps, "errors")
    failed = {m.name for m in outcome.failed}
    assert {"errors_5xx_per_min", "error_rate_vs_stable"} <= failed, outcome.summary()
    # latency_vs_stable compares histogram buckets rebuilt from increase() over a 5 s window; on a machine
    # loaded enough to skew the scrapes it flagged this canary once in ~30 runs, so only the absolute
    # latency threshold is held to "not failed" here (the slow canary's test holds the comparison to account).
    assert "latency_p95_seconds" not in failed, outcome.summary()


def test_sample_app_slow_canary_fails_on_p95_and_distribution(prometheus, agent_apps):
    outcome = _run(prometheus, agent_apps, "slow")
    assert {m.name for m in outcome.failed} == {"latency_p95_seconds", "latency_vs_stable"}
