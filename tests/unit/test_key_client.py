"""The Mistral service layer in units: SDK and transport exceptions → ApiFailure / MagentError, and parallel probes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx2
import pytest
from mistralai.client import errors

from magent.core.errors import CredentialsRefused, MagentError, Unreachable, UsageError
from magent.core.redact import SECRETS
from magent.services.mistral.client import (
    default_retry_config,
    describe_failure,
    parse_retry_after,
    server_message,
    translate_error,
)

KEY = "Zz9yXx8wVv7uTt6sRr5qPp4oNn3mMl2k"
URL = "http://127.0.0.1:9/v1/models"


def sdk_error(status: int, body: dict | str, headers: dict | None = None) -> errors.SDKError:
    text = body if isinstance(body, str) else json.dumps(body)
    response = httpx2.Response(status, text=text, headers={"content-type": "application/json", **(headers or {})},
                               request=httpx2.Request("GET", URL))
    return errors.SDKError("API error occurred", response, text)


def api_body(message: str, type_: str = "error") -> dict:
    return {"object": "error", "message": message, "type": type_, "param": None, "code": "1"}


@pytest.mark.parametrize(
    ("status", "body", "kind", "error_type", "exit_code"),
    [
        (401, api_body("Unauthorized"), "auth", CredentialsRefused, 3),
        (403, api_body("Forbidden: no access"), "forbidden", CredentialsRefused, 3),
        (404, api_body("Model not found"), "not_found", UsageError, 2),
        (400, api_body("Invalid model: x", "invalid_model"), "invalid_model", UsageError, 2),
        (422, {"detail": [{"msg": "bad"}]}, "bad_request", UsageError, 2),
        (429, api_body("Rate limit exceeded", "rate_limited"), "rate_limited", Unreachable, 3),
        (503, "upstream connect error", "server", Unreachable, 3),
    ],
)
def test_http_errors(status, body, kind, error_type, exit_code):
    exc = sdk_error(status, body, {"Retry-After": "3", "x-ratelimit-remaining-req-minute": "0"})
    failure = describe_failure(exc)
    assert (failure.kind, failure.status, failure.url) == (kind, status, URL)
    assert failure.retry_after_s == 3.0 and failure.headers["x-ratelimit-remaining-req-minute"] == "0"
    error = translate_error(exc)
    assert type(error) is error_type and error.exit_code == exit_code and error.hint
    assert str(status) in error.message and "\n" not in error.message


def test_the_url_in_an_error_has_no_query_string():
    request = httpx2.Request("GET", "http://127.0.0.1:9/v1/agents/pages?page_size=100&metadata=%22~unset~%22")
    failure = describe_failure(httpx2.ConnectError("[Errno 111] Connection refused", request=request))
    assert failure.url == "http://127.0.0.1:9/v1/agents/pages"
    assert "?" not in translate_error(httpx2.ConnectError("refused", request=request)).message


def test_server_message_is_kept_short_and_masked():
    SECRETS.add(KEY)
    error = translate_error(sdk_error(401, api_body(f"key {KEY} revoked  \n twice")))
    assert KEY not in error.message
    assert "revoked twice" in error.message
    assert len(server_message("x" * 5000)) <= 200


@pytest.mark.parametrize(
    ("exc", "kind", "words"),
    [
        (httpx2.ConnectError("[Errno 111] Connection refused"), "refused", "Connection refused"),
        (httpx2.ConnectError("[Errno -2] Name or service not known"), "dns", "DNS lookup failed"),
        (httpx2.ReadTimeout("timed out"), "timeout", "timed out"),
        (httpx2.RemoteProtocolError("Server disconnected"), "refused", "Server disconnected"),
        (errors.NoResponseError(), "refused", "no response"),
    ],
)
def test_transport_errors_are_unreachable(exc, kind, words):
    failure = describe_failure(exc)
    assert failure.kind == kind and failure.transport and words in failure.message
    assert isinstance(translate_error(exc), Unreachable)


def test_anything_else_is_a_plain_magent_error():
    error = translate_error(ValueError("odd"))
    assert type(error) is MagentError and "ValueError: odd" in error.message


def test_retry_after_forms():
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after({"Retry-After": later}) <= 30
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


def test_default_retry_config_retries_connection_errors():
    config = default_retry_config(max_elapsed_s=5)
    assert config.strategy == "backoff" and config.retry_connection_errors
    assert config.backoff.max_elapsed_time == 5000


def test_probe_keys_runs_keys_in_parallel_and_keeps_their_order(monkeypatch):
    """Three probes meet at a barrier: that only works if they run at the same time."""
    import threading

    from magent.services.mistral import probe

    barrier = threading.Barrier(3, timeout=5)

    def fake_probe_key(base_url, api_key, **options):
        barrier.wait()
        return (api_key, options)

    monkeypatch.setattr(probe, "probe_key", fake_probe_key)
    results = probe.probe_keys("http://x", ["k1", "k2", "k3"], spend=False)
    assert results == [("k1", {"spend": False}), ("k2", {"spend": False}), ("k3", {"spend": False})]
