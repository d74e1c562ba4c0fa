"""`magent deploy` judged by a real Prometheus scraping the sample agent app, whose traffic follows the
simulator's ready pods: a canary answering 5xx is aborted; a canary nobody calls is held, then aborted."""

from __future__ import annotations

import json

import pytest
import yaml
from fixtures.deploy import cluster, web  # noqa: F401 - fixtures

from magent.sandbox.agentapp import AgentApp, serve_agent_app


@pytest.fixture
def scraped_app(web, prometheus):  # noqa: F811
    """The sample app for `web`, scraped by Prometheus; magent.yaml points the analysis at it."""
    app = AgentApp(sim=web.sim, namespace=web.namespace, deployment="web", seed=7)
    with serve_agent_app(app) as url:
        selector = prometheus.scrape(f"{url}/metrics")
        prometheus.wait_for(f'http_requests_total{{{selector},track="stable"}}')
        config = {"deploy": {"analysis": {
            "prometheus": {"url": prometheus.url, "selector": selector, "min_window": "3s"},
            "statistics": {"min_requests": 20, "min_samples": 10},
        }}}
        with open("magent.yaml", "w") as handle:  # the test's cwd is its own temporary home
            yaml.safe_dump(config, handle)
        yield app
        prometheus.unscrape(selector)


def _events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_canary_answering_5xx_is_aborted(cli, web, scraped_app):  # noqa: F811
    result = cli("deploy", "app:v2-5xx", "-d", "web", "--steps", "50", "--pause", "20s", "--interval", "1s",
                 "--yes", "-o", "json")
    assert result.exit_code == 1, result.stderr
    events = _events(result.stdout)
    last = [e for e in events if e["event"] == "analysis"][-1]
    failed = {m["name"] for m in last["metrics"] if m["verdict"] == "fail"}
    assert "errors_5xx_per_min" in failed
    assert {m["provider"] for m in last["metrics"]} >= {"kubernetes", "prometheus"}
    assert events[-1]["event"] == "aborted"
    assert web.image() == "app:v1" and web.deployment("web-canary") is None


def test_canary_without_traffic_is_held_as_inconclusive_then_aborted(cli, web, scraped_app):  # noqa: F811
    result = cli("deploy", "app:v2-idle", "-d", "web", "--steps", "50", "--pause", "1s", "--interval", "1s",
                 "--max-inconclusive", "3", "--yes", "-o", "json")
    assert result.exit_code == 1, result.stderr
    analyses = [e for e in _events(result.stdout) if e["event"] == "analysis"]
    assert {e["verdict"] for e in analyses} == {"inconclusive"}
    assert [e["action"] for e in analyses][-3:] == ["hold", "hold", "abort"]
    kube_checks = {m["name"]: m["verdict"] for m in analyses[-1]["metrics"] if m["provider"] == "kubernetes"}
    assert kube_checks["pods_ready"] == "pass"  # the pods are fine: only the traffic is missing
    assert web.image() == "app:v1" and web.state().phase.value == "aborted"
    hint = result.stderr.split("Hint: ", 1)[1]  # what to change, not only where to look
    assert "too little traffic" in hint and "deploy.analysis.statistics.min_requests" in hint, hint
