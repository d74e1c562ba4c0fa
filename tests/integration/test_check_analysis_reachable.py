"""deploy.analysis-reachable against real backends: Prometheus, the sample agent app (web), moto (CloudWatch),
the Mistral simulator; and dead ends (a closed port, a server that never answers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixtures.mistral import SIM_API_KEY
from fixtures.preflight import PreflightOptions, run_check

from magent.sandbox.agentapp import AgentApp, serve_agent_app

BAD_KEY = "NoSuchKey0aB1cD2eF3gH4iJ5kL6mN7o"


@pytest.fixture(scope="module")
def web_url() -> Iterator[str]:
    with serve_agent_app(AgentApp(traffic_source=lambda: [])) as url:
        yield url


def cloudwatch_section(endpoint: str) -> dict:
    return {"namespace": "Agent", "endpoint_url": endpoint, "region": "us-east-1",
            "metrics": [{"name": "errors", "metric_name": "Errors", "max": 0}]}


def reachable(analysis: dict, *, mistral_url: str | None = None, key_from: list[str] | None = None,
              deployment: str | None = None):
    settings: dict = {"deploy": {"analysis": analysis}}
    if mistral_url:
        settings["mistral"] = {"base_url": mistral_url, "key_from": key_from or ["env:APP_KEY"]}
    options = PreflightOptions(deployment=deployment, namespace="shop")
    return run_check("deploy.analysis-reachable", options=options, settings=settings)


def test_every_backend_answers(prometheus, web_url, moto_server, mistral_sim, monkeypatch):
    monkeypatch.setenv("APP_KEY", SIM_API_KEY)
    analysis = {"timeout": "5s", "prometheus": {"url": prometheus.url}, "web": {"url": f"{web_url}/health"},
                "cloudwatch": cloudwatch_section(moto_server), "mistral": {"enabled": True}}
    result = reachable(analysis, mistral_url=mistral_sim.url)
    assert result.status == "pass", result.message
    for words in ("prometheus http://", "answered vector(1) in", "web http://", "answered HTTP 200",
                  "cloudwatch ListMetrics", "mistral http://", "models in"):
        assert words in result.message
    assert SIM_API_KEY not in result.message


def test_web_answering_an_error_status_is_still_reachable(web_url):
    result = reachable({"web": {"url": f"{web_url}/no-such-page"}})
    assert result.status == "pass"
    assert "HTTP 404" in result.message


def test_canary_url_is_checked_as_the_stable_one(web_url):
    url = f"{web_url}/$canary_deployment"  # the app serves /health: a deployment named "health" lands there
    result = reachable({"web": {"url": url}}, deployment="health")
    assert result.status == "pass", result.message
    assert "HTTP 200" in result.message
    unresolved = reachable({"web": {"url": url}})
    assert unresolved.status == "fail"
    assert "$canary_deployment (pass --deployment)" in unresolved.findings[0].message


def test_dead_backends_fail_one_finding_each(unused_tcp_url, hanging_server, mistral_sim, monkeypatch):
    monkeypatch.setenv("APP_KEY", BAD_KEY)
    analysis = {"timeout": "1s", "prometheus": {"url": unused_tcp_url}, "web": {"url": f"{hanging_server}/health"},
                "cloudwatch": cloudwatch_section(unused_tcp_url), "mistral": {"enabled": True}}
    result = reachable(analysis, mistral_url=mistral_sim.url)
    assert result.status == "fail"
    assert "4 of 4 analysis backends not answering: web, prometheus, cloudwatch, mistral" in result.message
    found = {f.rule: f.message for f in result.findings}
    assert "unreachable" in found["analysis-prometheus"]
    assert "ReadTimeout" in found["analysis-web"] or "no answer" in found["analysis-web"]
    assert "unreachable" in found["analysis-cloudwatch"]
    assert "HTTP 401" in found["analysis-mistral"]
    assert BAD_KEY not in result.message


def test_some_backends_down(prometheus, unused_tcp_url):
    result = reachable({"prometheus": {"url": prometheus.url}, "web": {"url": unused_tcp_url}})
    assert result.status == "fail"
    assert [f.rule for f in result.findings] == ["analysis-web"]


def test_no_analysis_warns():
    result = reachable({})
    assert result.status == "warn"
    assert "pod health only" in result.message
    disabled = reachable({"web": {"enabled": False}, "mistral": {"enabled": False}})
    assert disabled.status == "warn"


def test_mistral_without_key_is_an_error(mistral_sim):
    result = reachable({"mistral": {"enabled": True}}, mistral_url=mistral_sim.url, key_from=["env:UNSET_KEY_VAR"])
    assert result.status == "error"
    assert "UNSET_KEY_VAR is not set" in result.message


def test_bad_analysis_config_is_an_error():
    result = reachable({"prometheus": {"url": "not-a-url"}})
    assert result.status == "error"
    assert "deploy.analysis.prometheus" in result.message
