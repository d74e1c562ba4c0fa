"""Keys, payment activation, model access and per-key rate limits of the Mistral simulator, over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from fixtures.mistral import SIM_API_KEY, SIM_LIMITED_KEY, SIM_UNPAID_KEY

from magent.sandbox.mistral import KeySpec

RATE_HEADERS = (
    "x-ratelimit-limit-req-minute", "x-ratelimit-remaining-req-minute", "x-ratelimit-limit-tokens-minute",
    "x-ratelimit-remaining-tokens-minute", "x-ratelimit-tokens-query-cost",
)
CHAT = {"model": "mistral-small-latest", "messages": [{"role": "user", "content": "hi"}]}


def call(url: str, method: str, path: str, key: str | None = SIM_API_KEY, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.request(method, url + path, headers=headers, timeout=10, **kwargs)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer NoSuchKey000000000000000000000000"}, {"Authorization": f"Basic {SIM_API_KEY}"},
     {"Authorization": "Bearer"}],
    ids=["missing", "unknown", "wrong-scheme", "empty"],
)
def test_unknown_or_missing_key_is_401_without_rate_headers(mistral_sim, headers):
    response = httpx.get(mistral_sim.url + "/v1/models", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"object": "error", "message": "Unauthorized", "type": "unauthorized", "param": None,
                               "code": "1000"}
    assert not any(name in response.headers for name in RATE_HEADERS)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("POST", "/v1/chat/completions", CHAT),
     ("POST", "/v1/conversations", {"inputs": "hi", "model": "mistral-small-latest"})],
)
def test_unpaid_key_is_401_on_paid_calls(mistral_sim, method, path, body):
    response = call(mistral_sim.url, method, path, SIM_UNPAID_KEY, json=body)
    assert response.status_code == 401
    assert response.json()["type"] == "payment_not_activated" and "Payment not activated" in response.json()["message"]


def test_unpaid_key_may_list_models_agents_and_conversations(mistral_sim):
    for path in ("/v1/models", "/v1/agents", "/v1/conversations"):
        assert call(mistral_sim.url, "GET", path, SIM_UNPAID_KEY).status_code == 200, path


def test_restricted_key_gets_403_on_other_models_and_200_on_its_own(mistral_sim):
    forbidden = call(mistral_sim.url, "POST", "/v1/chat/completions", SIM_LIMITED_KEY,
                     json={**CHAT, "model": "mistral-large-latest"})
    assert forbidden.status_code == 403 and forbidden.json()["param"] == "model"
    for allowed in ("mistral-small-latest", "mistral-small-2506"):  # an alias and its dated id
        body = {**CHAT, "model": allowed}
        response = call(mistral_sim.url, "POST", "/v1/chat/completions", SIM_LIMITED_KEY, json=body)
        assert response.status_code == 200 and response.json()["model"] == allowed


def test_unknown_or_non_chat_model_is_400_invalid_model(mistral_sim):
    for model in ("gpt-4o", "mistral-embed"):
        response = call(mistral_sim.url, "POST", "/v1/chat/completions", json={**CHAT, "model": model})
        assert response.status_code == 400 and response.json()["type"] == "invalid_model"


def test_rate_headers_on_every_authenticated_response(mistral_sim):
    for response in (call(mistral_sim.url, "GET", "/v1/models"),
                     call(mistral_sim.url, "GET", "/v1/conversations/conv_nope"),
                     call(mistral_sim.url, "POST", "/v1/chat/completions", json=CHAT)):
        assert all(name in response.headers for name in RATE_HEADERS), response.headers
    chat = call(mistral_sim.url, "POST", "/v1/chat/completions", json=CHAT)
    assert int(chat.headers["x-ratelimit-tokens-query-cost"]) == chat.json()["usage"]["total_tokens"]


def test_requests_per_minute_limit_is_429_with_retry_after(make_mistral_sim):
    sim = make_mistral_sim(keys=[KeySpec(SIM_API_KEY, rpm=2)], conversations=0)
    first, second, third = (call(sim.url, "GET", "/v1/models") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert third.json() == {"object": "error", "message": "Rate limit exceeded", "type": "rate_limited", "param": None,
                            "code": "1300"}
    assert int(third.headers["Retry-After"]) in range(1, 61)
    assert third.headers["x-ratelimit-remaining-req-minute"] == "0"
    assert second.headers["x-ratelimit-remaining-req-minute"] == "0"
    assert first.headers["x-ratelimit-remaining-req-minute"] == "1"


def test_tokens_per_minute_limit_refuses_big_prompts_only(make_mistral_sim):
    sim = make_mistral_sim(keys=[KeySpec(SIM_API_KEY, tpm=100)], conversations=0)
    big = {**CHAT, "messages": [{"role": "user", "content": "word " * 200}]}
    refused = call(sim.url, "POST", "/v1/chat/completions", json=big)
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert call(sim.url, "GET", "/v1/models").status_code == 200  # costs no tokens
    small = call(sim.url, "POST", "/v1/chat/completions", json={**CHAT, "max_tokens": 5})
    assert small.status_code == 200
    assert int(small.headers["x-ratelimit-remaining-tokens-minute"]) == 100 - small.json()["usage"]["total_tokens"]


def test_limits_are_per_key(make_mistral_sim):
    other = "OtherKey0000000000000000000000ab"
    sim = make_mistral_sim(keys=[KeySpec(SIM_API_KEY, rpm=1), KeySpec(other, rpm=1)], conversations=0)
    assert call(sim.url, "GET", "/v1/models").status_code == 200
    assert call(sim.url, "GET", "/v1/models").status_code == 429
    assert call(sim.url, "GET", "/v1/models", other).status_code == 200
