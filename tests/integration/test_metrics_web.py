"""The web provider (an HTTP health endpoint), and `collect()` running providers side by side."""

from __future__ import annotations

import time

import pytest

from magent.core.analysis_config import AnalysisTarget, parse_analysis
from magent.core.judge import Verdict
from magent.sandbox.server import ServerThread
from magent.services.metrics import collect

TARGET = AnalysisTarget("shop", "agent", "agent-canary", "v1", "v2", window_s=30)


@pytest.fixture(scope="module")
def health_url():
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    async def health(request):
        name = request.path_params["name"]
        if name == "down":
            return JSONResponse({"status": "error"}, status_code=503)
        if name == "text":
            return PlainTextResponse("OK")
        return JSONResponse({"status": "ok", "deployment": name, "mistral": {"status": "degraded", "latency_ms": 40},
                             "checks": [{"ready": True}]})

    with ServerThread(Starlette(routes=[Route("/{name}/health", health)])) as server:
        yield server.url


def _web(url: str, **extra):
    return parse_analysis({"web": {"url": url, **extra}})


def _verdicts(results):
    return {result.name: result.verdict for result in results}


def test_healthy_endpoint_passes_with_a_templated_url(health_url):
    results = collect(_web(f"{health_url}/$canary_deployment/health"), TARGET)
    assert _verdicts(results) == {"status_code": Verdict.PASS, "status": Verdict.PASS}
    assert results[0].value == 200 and "/agent-canary/health" in results[0].detail


@pytest.mark.parametrize(
    ("path", "expect", "verdict", "value"),
    [
        ("mistral.status", "ok", Verdict.FAIL, None),  # the app reports Mistral degraded
        ("mistral.latency_ms", 40, Verdict.PASS, 40.0),
        ("checks.0.ready", "true", Verdict.PASS, None),  # non-strings compare by their JSON text
        ("mistral.missing", "ok", Verdict.FAIL, None),
    ],
)
def test_json_path(health_url, path, expect, verdict, value):
    results = collect(_web(f"{health_url}/agent/health", json_path=path, expect=expect), TARGET)
    check = results[1]
    assert (check.name, check.verdict, check.value) == (path, verdict, value)


def test_wrong_status_and_non_json_body_fail(health_url):
    assert _verdicts(collect(_web(f"{health_url}/down/health"), TARGET)) == {
        "status_code": Verdict.FAIL, "status": Verdict.FAIL}
    results = collect(_web(f"{health_url}/text/health"), TARGET)
    assert _verdicts(results) == {"status_code": Verdict.PASS, "status": Verdict.FAIL}
    assert "not JSON" in results[1].detail
    assert _verdicts(collect(_web(f"{health_url}/text/health", json_path=None), TARGET)) == {"status_code": Verdict.PASS}


def test_unreachable_endpoint_is_inconclusive(unused_tcp_url):
    results = collect(_web(f"{unused_tcp_url}/health"), TARGET)
    assert [(r.name, r.verdict) for r in results] == [("status_code", Verdict.INCONCLUSIVE)]
    assert "unreachable" in results[0].detail


def test_providers_run_concurrently_and_a_hung_one_is_cut(health_url, hanging_server):
    settings = parse_analysis({"web": {"url": f"{health_url}/agent/health"},
                               "prometheus": {"url": hanging_server}, "timeout": "0.6s"})
    started = time.monotonic()
    results = collect(settings, TARGET, interval_s=10)
    elapsed = time.monotonic() - started
    assert elapsed < 0.6 + 0.25 + 0.4
    by_provider = {(r.provider, r.verdict) for r in results}
    assert ("web", Verdict.PASS) in by_provider and ("prometheus", Verdict.INCONCLUSIVE) in by_provider
    assert ("prometheus", Verdict.PASS) not in by_provider


def test_no_provider_enabled_gives_no_results():
    assert collect(parse_analysis({"web": {"enabled": False}}), TARGET) == []
