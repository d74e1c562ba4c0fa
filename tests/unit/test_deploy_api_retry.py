"""The API-retry window of a deploy: its backoff, its bounds in magent.yaml, and the retry loop itself."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from magent.core.config import DeploySettings
from magent.core.errors import Unreachable
from magent.workflows.deploy.api_retry import MAX_DELAY_S, ApiOutage, ApiRetry, backoff_delays


@given(st.floats(min_value=0, max_value=3600, allow_nan=False))
def test_backoff_grows_is_capped_and_fits_the_window(window):
    delays = backoff_delays(window)
    assert math.isclose(sum(delays), window, abs_tol=1e-6) or (window == 0 and delays == [])
    assert all(0 < d <= MAX_DELAY_S for d in delays)
    if window >= 7.5:
        assert delays[:5] == [0.5, 1.0, 2.0, 4.0, min(5.0, window - 7.5)]


@pytest.mark.parametrize("value", [-1, ".inf", ".nan", "1000000h", "soon", []])
def test_the_window_is_a_finite_bounded_duration(value):
    with pytest.raises(ValidationError):
        DeploySettings.model_validate({"api_retry_window": value})


def test_default_window_and_duration_strings():
    assert DeploySettings().api_retry_window == 30
    assert DeploySettings.model_validate({"api_retry_window": "2m"}).api_retry_window == 120


def test_retry_carries_on_when_the_api_answers_again_and_gives_up_after_the_window():
    slept, seen = [], []
    answers = iter([Unreachable("down"), Unreachable("down"), "ok"])

    def work():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    retry = ApiRetry(10, sleep=slept.append, on_down=lambda e: seen.append("down"), on_up=lambda s: seen.append("up"))
    assert retry.call(work, gone=lambda exc, s: ApiOutage("gone")) == "ok"
    assert slept == [0.5, 1.0] and seen == ["down", "up"]

    never = ApiRetry(0, sleep=slept.append)
    with pytest.raises(ApiOutage, match="gone"):
        never.call(lambda: (_ for _ in ()).throw(Unreachable("down")), gone=lambda exc, s: ApiOutage("gone"))
