"""http.health against real HTTP servers: the sample agent app, and small apps in the seed's /health shape."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from fixtures.preflight import PreflightOptions, run_check

from magent.sandbox.agentapp import AgentApp, serve_agent_app
from magent.sandbox.server import ServerThread


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def seed_app():
    """`/health` in the seed's shape, `/degraded` (Mistral down, still 200), `/slow`, `/plain`, `/redirect`."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse
    from starlette.routing import Route

    async def health(request):
        return JSONResponse({"status": "healthy", "services": {"mistral": "ok", "database": "ok"}})

    async def degraded(request):
        return JSONResponse({"status": "ok", "services": {"mistral": {"status": "down", "error": "timeout"}}})

    async def silent(request):
        return JSONResponse({"status": "ok"})

    async def slow(request):
        await asyncio.sleep(2)
        return JSONResponse({"status": "ok", "services": {"mistral": "ok"}})

    async def plain(request):
        return PlainTextResponse("OK")

    async def redirect(request):
        return RedirectResponse("/health")

    return Starlette(routes=[Route("/health", health), Route("/degraded", degraded), Route("/silent", silent),
                             Route("/slow", slow), Route("/plain", plain), Route("/redirect", redirect)])


@pytest.fixture(scope="module")
def seed_url() -> Iterator[str]:
    with ServerThread(seed_app()) as server:
        yield server.url


@pytest.fixture
def agent_app() -> Iterator[tuple[AgentApp, str]]:
    app = AgentApp(traffic_source=lambda: [])
    with serve_agent_app(app) as url:
        yield app, url


def health(url: str | None = None, *, staging: str | None = None, params: dict | None = None):
    return run_check("http.health", params=params, options=PreflightOptions(health_url=url, staging_url=staging))


def test_seed_shape_passes(seed_url):
    result = health(f"{seed_url}/health")
    assert result.status == "pass", result.message
    assert "200 in" in result.message and "Mistral ok" in result.message


def test_sample_agent_app_passes_then_fails_when_mistral_is_down(agent_app):
    app, url = agent_app
    assert health(f"{url}/health").status == "pass"
    app.set_mistral_down()
    result = health(f"{url}/health")
    assert result.status == "fail"
    assert "HTTP 503" in result.message and "'degraded'" in result.message and "Mistral 'down'" in result.message


@pytest.mark.parametrize(("path", "words"), [
    ("/degraded", "Mistral is reported 'down'"),
    ("/silent", "does not report Mistral"),
    ("/plain", "not JSON"),
    ("/redirect", "HTTP 307"),
    ("/missing", "HTTP 404"),
])
def test_unhealthy_answers_fail(seed_url, path, words):
    result = health(f"{seed_url}{path}")
    assert result.status == "fail"
    assert words in result.message


def test_mistral_not_required(seed_url):
    assert health(f"{seed_url}/silent", params={"require_mistral": False}).status == "pass"


def test_slow_endpoint_times_out(seed_url):
    result = health(f"{seed_url}/slow", params={"timeout": 0.3})
    assert result.status == "fail"
    assert "no answer within 0.3 s" in result.message
    assert health(f"{seed_url}/slow", params={"timeout": 5}).status == "pass"


def test_connection_refused_is_the_app_down(seed_url):
    result = health(closed_port_url())
    assert result.status == "fail"
    assert "unreachable: ConnectError" in result.message


def test_staging_url_checked_too_and_named(seed_url):
    both = health(f"{seed_url}/health", staging=f"{seed_url}/health")
    assert both.status == "pass"
    assert "staging http://" in both.message
    result = health(f"{seed_url}/health", staging=f"{seed_url}/degraded", params={"urls": [f"{seed_url}/silent"]})
    assert result.status == "fail"
    assert [f.rule for f in result.findings] == ["health-staging", "health-urls"]
    assert result.findings[0].message.startswith("staging http://")


def test_url_password_is_masked(seed_url):
    url = seed_url.replace("http://", "http://probe:s3cretPassw0rd@") + "/missing"
    result = health(url)
    assert result.status == "fail"
    assert "s3cretPassw0rd" not in result.message and "probe:***@" in result.message


def test_no_url_skips():
    result = health()
    assert result.status == "skip"
    assert "--health-url" in result.message


def test_bad_url_is_an_error():
    result = health("localhost:8080/health")
    assert result.status == "error"
    assert "not an http(s) URL" in result.message
