"""Injected faults as the real API shows them: after authentication, with the rate-limit headers, and the
capacity 429 (`service_tier_capacity_exceeded`); what magent's own readers make of that 429."""

from __future__ import annotations

import httpx
import pytest
from fixtures.mistral import SIM_API_KEY

from magent.sandbox.mistral import FaultConfig, KeySpec

RATE_HEADERS = ("x-ratelimit-limit-req-minute", "x-ratelimit-remaining-req-minute",
                "x-ratelimit-limit-tokens-minute", "x-ratelimit-remaining-tokens-minute")
# The body the real API sends (seen in SDKError messages quoted in public bug reports, 2025-2026).
CAPACITY_BODY = {"object": "error", "message": "Service tier capacity exceeded for this model.",
                 "type": "service_tier_capacity_exceeded", "param": None, "code": "3505"}
EVERY_FAULT = [FaultConfig(error_rate=1.0), FaultConfig(rate_limit_rate=1.0), FaultConfig(capacity_rate=1.0),
               FaultConfig(reset_rate=1.0)]


def get_models(url: str, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.get(url + "/v1/models", headers=headers, timeout=10)


@pytest.mark.parametrize("faults", EVERY_FAULT, ids=["error", "rate_limit", "capacity", "reset"])
def test_a_bad_key_is_a_401_whatever_fault_is_armed(make_mistral_sim, faults):
    sim = make_mistral_sim(agents=0, conversations=0, faults=faults)
    for key in ("NoSuchKey0000000000000000000000x", None):
        response = get_models(sim.url, key)
        assert response.status_code == 401 and response.json()["type"] == "unauthorized"
    assert sim.fault_counts == {}  # nothing was injected into the refused requests


def test_capacity_429_has_the_real_body_retry_after_and_rate_headers(make_mistral_sim):
    sim = make_mistral_sim(keys=[KeySpec(SIM_API_KEY, rpm=50)], agents=0, conversations=0,
                           faults=FaultConfig(capacity_rate=1.0, retry_after_s=4))
    first, second = get_models(sim.url, SIM_API_KEY), get_models(sim.url, SIM_API_KEY)
    assert first.status_code == 429 and first.json() == CAPACITY_BODY
    assert first.headers["Retry-After"] == "4"
    assert all(name in first.headers for name in RATE_HEADERS)
    # the gateway counted the request before the model's capacity refused it
    assert [r.headers["x-ratelimit-remaining-req-minute"] for r in (first, second)] == ["49", "48"]
    assert sim.fault_counts == {"capacity": 2}


def test_server_errors_count_against_the_key_and_carry_its_headers(make_mistral_sim):
    sim = make_mistral_sim(keys=[KeySpec(SIM_API_KEY, rpm=2)], agents=0, conversations=0,
                           faults=FaultConfig(error_rate=1.0, error_statuses=(503,)))
    first = get_models(sim.url, SIM_API_KEY)
    assert first.status_code == 503 and first.headers["x-ratelimit-remaining-req-minute"] == "1"
    get_models(sim.url, SIM_API_KEY)
    over = get_models(sim.url, SIM_API_KEY)  # the key's own limit comes before the upstream failure
    assert over.status_code == 429 and over.json()["type"] == "rate_limited" and "Retry-After" in over.headers


def test_injected_rate_limit_reports_no_requests_left_and_is_not_counted(make_mistral_sim):
    sim = make_mistral_sim(keys=[KeySpec(SIM_API_KEY, rpm=10)], agents=0, conversations=0,
                           faults=FaultConfig(rate_limit_rate=1.0, retry_after_s=2))
    refused = get_models(sim.url, SIM_API_KEY)
    assert refused.status_code == 429 and refused.json()["code"] == "1300" and refused.headers["Retry-After"] == "2"
    assert refused.headers["x-ratelimit-remaining-req-minute"] == "0"
    sim.set_faults(FaultConfig())
    assert get_models(sim.url, SIM_API_KEY).headers["x-ratelimit-remaining-req-minute"] == "9"


def test_capacity_is_a_fault_kind_like_the_others():
    assert FaultConfig(capacity_rate=0.5).capacity_rate == 0.5
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultConfig(capacity_rate=-0.1)
    with pytest.raises(ValueError, match="must not exceed 1"):
        FaultConfig(error_rate=0.5, capacity_rate=0.6)


def test_magent_treats_the_capacity_429_as_a_retryable_refusal(make_mistral_sim):
    """The SDK without retries sees a 429; magent's classifier calls it rate limited (exit 3, not a key
    problem), the deploy analysis holds the step instead of failing it, and the export's source retries
    through it."""
    from mistralai.client import Mistral

    from magent.core.analysis_config import AnalysisTarget
    from magent.core.judge import Verdict
    from magent.services.metrics import mistral as mistral_metric
    from magent.services.mistral.client import RATE_LIMITED, describe_failure, translate_error
    from magent.services.mistral.conversations import open_source

    sim = make_mistral_sim(agents=1, conversations=4, seed=5, faults=FaultConfig(capacity_rate=1.0, retry_after_s=0))
    with pytest.raises(Exception) as caught:
        Mistral(api_key=SIM_API_KEY, server_url=sim.url).models.list()
    assert describe_failure(caught.value).kind == RATE_LIMITED and caught.value.status_code == 429
    error = translate_error(caught.value)
    assert error.exit_code == 3 and "at capacity for this model" in error.message
    assert "service tier" in error.hint and "higher limits" not in error.hint  # not the key's limit
    target = AnalysisTarget("ns", "app", "app-canary", "v1", "v2", 60, mistral_base_url=sim.url,
                            mistral_api_key=SIM_API_KEY)
    (result,) = mistral_metric.check(None, target, timeout=5)
    assert result.verdict is Verdict.INCONCLUSIVE and "3505" not in result.detail

    refused_before = sim.fault_counts["capacity"]
    sim.set_faults(FaultConfig(capacity_rate=0.3, retry_after_s=0))  # the SDK then backs off from 0.5 s
    source, client = open_source(sim.url, SIM_API_KEY, max_retry_s=20)
    with client:
        conversations = [c for page in source.conversation_pages(page_size=10) for c in page]
        histories = [source.history(c["id"]) for c in conversations]
    assert len(conversations) == 4 and all(histories)
    assert sim.fault_counts["capacity"] - refused_before >= 1, "no capacity 429 reached the export's source"
