"""The simulator validates chat requests as the API does: 422 in the spec's HTTPValidationError shape."""

from __future__ import annotations

import httpx
import pytest
from fixtures.mistral import SIM_API_KEY

GOOD = {"model": "mistral-small-latest", "messages": [{"role": "user", "content": "hi"}]}


def chat(url: str, body: dict, key: str | None = SIM_API_KEY) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(url + "/v1/chat/completions", json=body, headers=headers, timeout=10)


@pytest.mark.parametrize(
    ("change", "loc", "kind"),
    [
        ({"temperature": 2.0}, ["body", "temperature"], "less_than_equal"),
        ({"temperature": -0.1}, ["body", "temperature"], "greater_than_equal"),
        ({"top_p": 0}, ["body", "top_p"], "greater_than"),
        ({"n": 0}, ["body", "n"], "greater_than_equal"),
        ({"temprature": 0.5}, ["body", "temprature"], "extra_forbidden"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, ["body", "messages", 0], "union_tag_invalid"),
    ],
)
def test_invalid_request_is_422_in_the_spec_shape(mistral_sim, change, loc, kind):
    response = chat(mistral_sim.url, {**GOOD, **change})
    assert response.status_code == 422, response.text
    (detail,) = response.json()["detail"]
    assert (detail["loc"], detail["type"]) == (loc, kind)
    assert isinstance(detail["msg"], str) and detail["msg"]


def test_validation_comes_after_authentication(mistral_sim):
    assert chat(mistral_sim.url, {**GOOD, "temperature": 9}, key=None).status_code == 401


def test_valid_request_still_answers(mistral_sim):
    response = chat(mistral_sim.url, {**GOOD, "temperature": 1.5, "top_p": 1, "n": 1, "random_seed": 3})
    assert response.status_code == 200, response.text
