"""Chat completions honour `response_format` (json_object, json_schema) and `n`, plain and streamed, in the
spec's shapes; malformed formats are the API's 422."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator

import httpx
import jsonschema
import pytest
from fixtures.mistral import SIM_API_KEY

BOOK = {  # the spec's own ResponseFormat example, plus an enum, a number, a boolean and a nested object
    "type": "object", "additionalProperties": False, "required": ["name", "authors", "genre", "price", "in_print"],
    "properties": {
        "name": {"type": "string", "minLength": 3},
        "authors": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "genre": {"enum": ["novel", "essay", "poetry"]},
        "price": {"type": "number", "minimum": 1, "maximum": 60},
        "in_print": {"type": "boolean"},
        "publisher": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
JSON_SCHEMA = {"type": "json_schema", "json_schema": {"name": "book", "schema": BOOK, "strict": True}}
ASK = {"model": "mistral-small-latest", "messages": [{"role": "user", "content": "A book, as JSON"}]}


@pytest.fixture
def api(mistral_sim) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {SIM_API_KEY}"}
    with httpx.Client(base_url=mistral_sim.url, headers=headers, timeout=10) as http:
        yield http


def streamed(api: httpx.Client, body: dict) -> tuple[dict[int, str], dict[int, str], dict]:
    """Text and finish reason per choice index, and the usage, from a streamed completion."""
    text: dict[int, str] = defaultdict(str)
    finish: dict[int, str] = {}
    usage: dict = {}
    response = api.post("/v1/chat/completions", json={**body, "stream": True})
    for line in response.text.splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        chunk = json.loads(line[len("data: "):])
        (choice,) = chunk["choices"]
        text[choice["index"]] += choice["delta"].get("content") or ""
        if choice["finish_reason"]:
            finish[choice["index"]] = choice["finish_reason"]
        usage = chunk.get("usage") or usage
    return dict(text), finish, usage


def test_json_object_answers_a_json_object(api, mistral_schemas):
    reply = api.post("/v1/chat/completions", json={**ASK, "response_format": {"type": "json_object"}}).json()
    mistral_schemas.validate_response("/v1/chat/completions", "post", reply)
    assert isinstance(json.loads(reply["choices"][0]["message"]["content"]), dict)
    text, finish, _ = streamed(api, {**ASK, "response_format": {"type": "json_object"}})
    assert isinstance(json.loads(text[0]), dict) and finish == {0: "stop"}


def test_json_schema_answers_validate_against_the_schema(api, mistral_schemas):
    reply = api.post("/v1/chat/completions", json={**ASK, "response_format": JSON_SCHEMA, "n": 3}).json()
    mistral_schemas.validate_response("/v1/chat/completions", "post", reply)
    for choice in reply["choices"]:
        jsonschema.validate(json.loads(choice["message"]["content"]), BOOK)
    text, finish, _ = streamed(api, {**ASK, "response_format": JSON_SCHEMA, "n": 2})
    assert sorted(text) == [0, 1] and finish == {0: "stop", 1: "stop"}
    for content in text.values():
        jsonschema.validate(json.loads(content), BOOK)


def test_n_choices_are_indexed_and_counted_once_for_the_prompt(api):
    one = api.post("/v1/chat/completions", json=ASK).json()
    three = api.post("/v1/chat/completions", json={**ASK, "n": 3}).json()
    assert [c["index"] for c in three["choices"]] == [0, 1, 2]
    assert three["usage"]["prompt_tokens"] == one["usage"]["prompt_tokens"]
    words = sum(len(c["message"]["content"].split()) for c in three["choices"])
    assert three["usage"]["completion_tokens"] == words
    assert three["usage"]["total_tokens"] == three["usage"]["prompt_tokens"] + words
    text, finish, usage = streamed(api, {**ASK, "n": 3, "max_tokens": 2})
    assert sorted(finish) == [0, 1, 2] and all(len(t.split()) <= 2 for t in text.values())
    assert usage["completion_tokens"] == sum(len(t.split()) for t in text.values())


@pytest.mark.parametrize(
    ("response_format", "loc", "kind"),
    [
        ({"type": "yaml"}, ["body", "response_format", "type"], "enum"),
        ({"type": "json_schema"}, ["body", "response_format", "json_schema"], "missing"),
        ({"type": "json_schema", "json_schema": {"name": "x"}}, ["body", "response_format", "json_schema", "schema"],
         "missing"),
        ({"type": "json_object", "schema": {}}, ["body", "response_format", "schema"], "extra_forbidden"),
        ("json", ["body", "response_format"], "model_attributes_type"),
    ],
)
def test_malformed_response_format_is_422(api, response_format, loc, kind):
    response = api.post("/v1/chat/completions", json={**ASK, "response_format": response_format})
    assert response.status_code == 422, response.text
    (detail,) = response.json()["detail"]
    assert (detail["loc"], detail["type"]) == (loc, kind)


def test_n_beyond_the_simulator_bound_is_422(api):
    response = api.post("/v1/chat/completions", json={**ASK, "n": 10_000})
    assert response.status_code == 422 and response.json()["detail"][0]["type"] == "less_than_equal"
