"""mistral.key-valid and mistral.models-exist against the Mistral API simulator (real HTTP)."""

from __future__ import annotations

import socket

import pytest
from fixtures.mistral import SIM_API_KEY, SIM_LIMITED_KEY, SIM_UNPAID_KEY
from fixtures.preflight import PreflightOptions, run_check

from magent.sandbox.mistral import FaultConfig

BAD_KEY = "NoSuchKey0aB1cD2eF3gH4iJ5kL6mN7o"  # magent:allow (no simulator accepts it)
KEY_FROM = ["env:APP_MISTRAL_KEY"]


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def check(monkeypatch, mistral_sim):
    """Run a mistral.* check with `key` in $APP_MISTRAL_KEY against `url` (the shared simulator by default)."""

    def run(name: str, key: str | None = SIM_API_KEY, *, url: str | None = None, models: list[str] | None = None,
            params: dict | None = None, intentional: list[str] | None = None):
        if key is not None:
            monkeypatch.setenv("APP_MISTRAL_KEY", key)
        settings = {"mistral": {"base_url": url or mistral_sim.url, "models": models or [],
                                "intentional_aliases": intentional or [], "timeout": 5}}
        return run_check(name, params=params, options=PreflightOptions(key_from=list(KEY_FROM)), settings=settings)

    return run


def test_key_valid_and_paid(check):
    result = check("mistral.key-valid")
    assert result.status == "pass", result.message
    assert "…dF5g (sha256:" in result.message and "payment activated (1 token on" in result.message
    assert "models listed in" in result.message
    assert SIM_API_KEY not in result.message


def test_key_valid_without_spending(check):
    result = check("mistral.key-valid", params={"spend": False})
    assert result.status == "pass"
    assert "payment not checked" in result.message


@pytest.mark.parametrize(("key", "words"), [(BAD_KEY, "refused the key"), (SIM_UNPAID_KEY, "payment is not activated")])
def test_key_invalid_or_unpaid_fails(check, key, words):
    result = check("mistral.key-valid", key)
    assert result.status == "fail", result.message
    assert words in result.message
    assert key not in result.message


def test_key_valid_unreachable_is_an_error(check):
    result = check("mistral.key-valid", url=closed_port_url())
    assert result.status == "error"
    assert "no answer from the API" in result.message


def test_key_valid_degraded_is_an_error(check, make_mistral_sim):
    sim = make_mistral_sim(faults=FaultConfig(error_rate=1.0))
    result = check("mistral.key-valid", url=sim.url)
    assert result.status == "error"
    assert "degraded" in result.message


def test_missing_key_is_an_error_with_hint(check):
    result = check("mistral.key-valid", key=None)
    assert result.status == "error"
    assert "APP_MISTRAL_KEY is not set" in result.message and "hint:" in result.message


def test_models_exist_pass(check):
    result = check("mistral.models-exist", models=["mistral-small-2506"], params={"models": ["ministral-8b-2410"]})
    assert result.status == "pass", result.message
    assert "2 models found" in result.message


def test_models_exist_skips_without_models(check):
    result = check("mistral.models-exist")
    assert result.status == "skip"
    assert "mistral.models" in result.message


def test_missing_model_fails_with_close_matches(check):
    result = check("mistral.models-exist", models=["mistral-small-2506", "mistral-smal-2506"])
    assert result.status == "fail", result.message
    assert "mistral-smal-2506" in result.message
    [finding] = result.findings
    assert "not found" in finding.message and "did you mean mistral-small-2506" in finding.message


def test_forbidden_model_fails(check):
    result = check("mistral.models-exist", SIM_LIMITED_KEY, models=["mistral-small-latest", "mistral-large-2411"],
                   intentional=["mistral-small-latest"])
    assert result.status == "fail", result.message
    assert [f.rule for f in result.findings] == ["model-forbidden"]
    assert "mistral-large-2411" in result.findings[0].message


def test_latest_alias_warns_unless_intentional(check):
    warned = check("mistral.models-exist", models=["mistral-small-latest"])
    assert warned.status == "warn"
    assert "'-latest' alias" in warned.findings[0].message
    assert check("mistral.models-exist", models=["mistral-small-latest"],
                 intentional=["mistral-small-latest"]).status == "pass"


def test_models_exist_unreachable_is_an_error(check):
    result = check("mistral.models-exist", models=["mistral-small-2506"], url=closed_port_url())
    assert result.status == "error"


def test_models_exist_refused_key_is_an_error(check):
    result = check("mistral.models-exist", BAD_KEY, models=["mistral-small-2506"])
    assert result.status == "error"
    assert "refused the key" in result.message
