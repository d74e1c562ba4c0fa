"""The Mistral provider (API health through the SDK) against the Mistral API simulator."""

from __future__ import annotations

from dataclasses import replace

from fixtures.mistral import SIM_API_KEY

from magent.core.analysis_config import AnalysisTarget, parse_analysis
from magent.core.judge import Verdict
from magent.core.redact import fingerprint
from magent.services.metrics import collect

SETTINGS = parse_analysis({"mistral": {"enabled": True}})
TARGET = AnalysisTarget("shop", "agent", "agent-canary", "v1", "v2", window_s=30)


def test_api_listing_models_passes(mistral_sim):
    [result] = collect(SETTINGS, replace(TARGET, mistral_base_url=mistral_sim.url, mistral_api_key=SIM_API_KEY))
    assert (result.provider, result.name, result.verdict) == ("mistral", "api", Verdict.PASS)
    assert "models in" in result.detail and result.value >= 0


def test_refused_key_fails_without_showing_it(mistral_sim):
    key = "Wrong" + "k" * 27
    [result] = collect(SETTINGS, replace(TARGET, mistral_base_url=mistral_sim.url, mistral_api_key=key))
    assert result.verdict is Verdict.FAIL and "401" in result.detail
    assert key not in result.detail and key not in repr(result)
    assert key not in repr(replace(TARGET, mistral_api_key=key))


def test_unreachable_api_or_missing_key_is_inconclusive(unused_tcp_url):
    [down] = collect(SETTINGS, replace(TARGET, mistral_base_url=unused_tcp_url, mistral_api_key=SIM_API_KEY))
    assert down.verdict is Verdict.INCONCLUSIVE and SIM_API_KEY not in down.detail
    [no_key] = collect(SETTINGS, replace(TARGET, mistral_base_url=unused_tcp_url))
    assert no_key.verdict is Verdict.INCONCLUSIVE and "no Mistral base URL or API key" in no_key.detail
    assert fingerprint(SIM_API_KEY) not in no_key.detail
