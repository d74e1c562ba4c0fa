"""Fault injection of the Mistral simulator, and the official SDK's RetryConfig getting through it."""

from __future__ import annotations

import time

import httpx
import pytest
from fixtures.mistral import SIM_API_KEY

from magent.sandbox.mistral import FaultConfig


def sdk(url: str, *, retries: bool):
    from mistralai.client import Mistral
    from mistralai.client.utils import BackoffStrategy, RetryConfig

    retry = RetryConfig("backoff", BackoffStrategy(5, 50, 1.5, 20_000), retry_connection_errors=True)
    return Mistral(api_key=SIM_API_KEY, server_url=url, retry_config=retry) if retries else \
        Mistral(api_key=SIM_API_KEY, server_url=url)


def test_sdk_with_retries_gets_through_5xx_429_and_resets(make_mistral_sim):
    faults = FaultConfig(error_rate=0.25, rate_limit_rate=0.15, reset_rate=0.1, retry_after_s=0)
    sim = make_mistral_sim(conversations=5, faults=faults)
    client = sdk(sim.url, retries=True)
    for _ in range(12):
        assert client.models.list().data
        reply = client.chat.complete(model="mistral-small-latest", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content
    counts = sim.fault_counts
    assert counts.get("error", 0) and counts.get("rate_limit", 0) and counts.get("reset", 0), counts
    assert sim.request_count == 24 + sum(counts.values())


def test_sdk_honours_retry_after_of_an_injected_429(make_mistral_sim):
    sim = make_mistral_sim(conversations=0, seed=4, faults=FaultConfig(rate_limit_rate=0.5, retry_after_s=1))
    client = sdk(sim.url, retries=True)
    started = time.monotonic()
    for _ in range(3):
        client.models.list()
    limited = sim.fault_counts.get("rate_limit", 0)
    assert limited >= 1
    assert time.monotonic() - started >= limited * 1.0 - 0.05


@pytest.mark.parametrize(("faults", "status"), [(FaultConfig(error_rate=1.0), (500, 502, 503)),
                                                (FaultConfig(rate_limit_rate=1.0, retry_after_s=3), (429,))])
def test_sdk_without_retries_sees_the_error(make_mistral_sim, faults, status):
    from mistralai.client.errors import SDKError

    sim = make_mistral_sim(conversations=0, faults=faults)
    with pytest.raises(SDKError) as caught:
        sdk(sim.url, retries=False).models.list()
    assert caught.value.status_code in status
    if status == (429,):
        assert caught.value.raw_response.headers["Retry-After"] == "3"
        assert '"code":"1300"' in caught.value.body


def test_reset_closes_the_connection_without_a_response(make_mistral_sim):
    sim = make_mistral_sim(conversations=0, faults=FaultConfig(reset_rate=1.0))
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(sim.url + "/v1/models", headers={"Authorization": f"Bearer {SIM_API_KEY}"})


def test_latency_and_slow_responses_delay_requests(make_mistral_sim):
    sim = make_mistral_sim(conversations=0, faults=FaultConfig(latency_ms=60))
    headers = {"Authorization": f"Bearer {SIM_API_KEY}"}
    with httpx.Client(base_url=sim.url, headers=headers) as http:
        started = time.monotonic()
        http.get("/v1/models")
        assert time.monotonic() - started >= 0.06
        sim.set_faults(FaultConfig(slow_rate=1.0, slow_ms=150))
        started = time.monotonic()
        http.get("/v1/models")
        assert time.monotonic() - started >= 0.15
        sim.set_faults(FaultConfig())
        assert http.get("/v1/models").status_code == 200
    assert sim.fault_counts == {"slow": 1}


def test_fault_config_rejects_impossible_rates():
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultConfig(error_rate=1.5)
    with pytest.raises(ValueError, match="must not exceed 1"):
        FaultConfig(error_rate=0.6, reset_rate=0.6)
