"""Fidelity: every response shape the Mistral simulator serves validates against the official OpenAPI schemas."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from fixtures.mistral import SIM_API_KEY, SIM_LIMITED_KEY, SIM_UNPAID_KEY, sim_keys

from magent.sandbox.mistral import FaultConfig, KeySpec, MistralSimulator, SimulatorConfig
from magent.sandbox.mistral.models import CATALOGUE

ENTRY_TYPES = {"message.input", "message.output", "function.call", "function.result", "tool.execution", "agent.handoff"}


def client(url: str, key: str = SIM_API_KEY) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10)


@pytest.fixture(scope="module")
def writable_sim() -> Iterator[MistralSimulator]:
    """A private simulator for the tests that create, change and delete."""
    with MistralSimulator(SimulatorConfig(keys=sim_keys(), agents=3, conversations=4, seed=7)) as sim:
        yield sim


@pytest.fixture
def api(mistral_sim) -> Iterator[httpx.Client]:
    with client(mistral_sim.url) as http:
        yield http


@pytest.fixture
def wapi(writable_sim) -> Iterator[httpx.Client]:
    with client(writable_sim.url) as http:
        yield http


def sse_events(response: httpx.Response) -> list[tuple[str | None, str]]:
    """(event, data) of each server-sent event."""
    events = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields.get("event"), fields["data"]))
    return events


def test_models_list_and_every_card_validate(api, mistral_schemas):
    listing = api.get("/v1/models")
    assert listing.status_code == 200
    mistral_schemas.validate_response("/v1/models", "get", listing.json())
    names = [m["id"] for m in listing.json()["data"]]
    assert {"mistral-large-latest", "mistral-large-2411", "mistral-embed"} <= set(names)
    assert {m["type"] for m in listing.json()["data"]} == {"base", "fine-tuned"}
    for spec in CATALOGUE:
        retrieved = api.get(f"/v1/models/{spec.id}")
        assert retrieved.status_code == 200, spec.id
        mistral_schemas.validate_response("/v1/models/{model_id}", "get", retrieved.json())


def test_chat_completion_validates(api, mistral_schemas):
    body = {"model": "mistral-small-latest", "messages": [{"role": "user", "content": "Say hi"}]}
    response = api.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    mistral_schemas.validate_response("/v1/chat/completions", "post", response.json())
    one_token = api.post("/v1/chat/completions", json={**body, "max_tokens": 1}).json()
    mistral_schemas.validate_response("/v1/chat/completions", "post", one_token)
    assert one_token["usage"]["completion_tokens"] == 1
    assert one_token["choices"][0]["finish_reason"] == "length"


def test_chat_tool_calls_validate(api, mistral_schemas):
    tools = [{"type": "function", "function": {"name": "get_order_status", "parameters": {"type": "object"}}}]
    body = {"model": "mistral-large-latest", "messages": [{"role": "user", "content": "Where is 48213?"}],
            "tools": tools, "tool_choice": "any"}
    reply = api.post("/v1/chat/completions", json=body).json()
    mistral_schemas.validate_response("/v1/chat/completions", "post", reply)
    assert reply["choices"][0]["finish_reason"] == "tool_calls"
    assert reply["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_order_status"
    streamed = api.post("/v1/chat/completions", json={**body, "stream": True})
    for _, data in sse_events(streamed)[:-1]:
        mistral_schemas.validate_response("/v1/chat/completions", "post", {"data": json.loads(data)},
                                          content_type="text/event-stream")


def test_chat_stream_chunks_validate(api, mistral_schemas):
    body = {"model": "mistral-small-latest", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    response = api.post("/v1/chat/completions", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response)
    assert events[-1] == (None, "[DONE]")
    chunks = [json.loads(data) for _, data in events[:-1]]
    for chunk in chunks:
        mistral_schemas.validate_response(
            "/v1/chat/completions", "post", {"data": chunk}, content_type="text/event-stream"
        )
    assert "usage" in chunks[-1] and chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in chunk for chunk in chunks[:-1])


def test_conversations_list_get_history_messages_validate(api, mistral_sim, mistral_schemas):
    listing = api.get("/v1/conversations", params={"page": 0, "page_size": 100})
    mistral_schemas.validate_response("/v1/conversations", "get", listing.json())
    seen_types: set[str] = set()
    for conversation in listing.json():
        cid = conversation["id"]
        got = api.get(f"/v1/conversations/{cid}").json()
        mistral_schemas.validate_response("/v1/conversations/{conversation_id}", "get", got)
        history = api.get(f"/v1/conversations/{cid}/history").json()
        mistral_schemas.validate_response("/v1/conversations/{conversation_id}/history", "get", history)
        seen_types |= {entry["type"] for entry in history["entries"]}
        messages = api.get(f"/v1/conversations/{cid}/messages").json()
        mistral_schemas.validate_response("/v1/conversations/{conversation_id}/messages", "get", messages)
    assert seen_types == ENTRY_TYPES
    assert len(listing.json()) == len(mistral_sim.data.conversations)


def test_agents_read_endpoints_validate(api, mistral_schemas):
    listing = api.get("/v1/agents", params={"page": 0, "page_size": 10}).json()
    mistral_schemas.validate_response("/v1/agents", "get", listing)
    pages = api.get("/v1/agents/pages", params={"page_size": 2}).json()
    mistral_schemas.validate_response("/v1/agents/pages", "get", pages)
    agent_id = listing[0]["id"]
    mistral_schemas.validate_response("/v1/agents/{agent_id}", "get", api.get(f"/v1/agents/{agent_id}").json())
    versions = api.get(f"/v1/agents/{agent_id}/versions").json()
    mistral_schemas.validate_response("/v1/agents/{agent_id}/versions", "get", versions)
    first = api.get(f"/v1/agents/{agent_id}/versions/0").json()
    mistral_schemas.validate_response("/v1/agents/{agent_id}/versions/{version}", "get", first)


def test_agent_writes_validate(wapi, mistral_schemas):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}},
             {"type": "web_search"}]
    created = wapi.post("/v1/agents", json={"model": "mistral-medium-latest", "name": "schema-check", "tools": tools})
    assert created.status_code == 200
    mistral_schemas.validate_response("/v1/agents", "post", created.json())
    agent_id = created.json()["id"]
    updated = wapi.patch(f"/v1/agents/{agent_id}", json={"instructions": "Be brief."})
    mistral_schemas.validate_response("/v1/agents/{agent_id}", "patch", updated.json())
    assert updated.json()["version"] == 1 and updated.json()["versions"] == [0, 1]
    switched = wapi.patch(f"/v1/agents/{agent_id}/version", params={"version": 0})
    mistral_schemas.validate_response("/v1/agents/{agent_id}/version", "patch", switched.json())
    assert wapi.delete(f"/v1/agents/{agent_id}").status_code == 204
    assert wapi.get(f"/v1/agents/{agent_id}").status_code == 404


def test_conversation_writes_validate(wapi, writable_sim, mistral_schemas):
    agent_id = writable_sim.data.agents[0]["id"]
    for start in ({"inputs": "Hello", "model": "mistral-small-latest"}, {"inputs": "Hello", "agent_id": agent_id}):
        started = wapi.post("/v1/conversations", json=start)
        assert started.status_code == 200, started.text
        mistral_schemas.validate_response("/v1/conversations", "post", started.json())
    cid = started.json()["conversation_id"]
    appended = wapi.post(f"/v1/conversations/{cid}", json={"inputs": [{"role": "user", "content": "More"}]})
    mistral_schemas.validate_response("/v1/conversations/{conversation_id}", "post", appended.json())
    first_entry = wapi.get(f"/v1/conversations/{cid}/history").json()["entries"][0]["id"]
    restarted = wapi.post(f"/v1/conversations/{cid}/restart", json={"inputs": "Again", "from_entry_id": first_entry})
    mistral_schemas.validate_response("/v1/conversations/{conversation_id}/restart", "post", restarted.json())
    assert restarted.json()["conversation_id"] != cid
    assert wapi.delete(f"/v1/conversations/{cid}").status_code == 204


@pytest.mark.parametrize(
    ("path_key", "url", "body"),
    [
        ("/v1/conversations#stream", "/v1/conversations", {"inputs": "Hi", "model": "mistral-small-latest"}),
        ("/v1/conversations/{conversation_id}#stream", "/v1/conversations/{cid}", {"inputs": "Hi"}),
        ("/v1/conversations/{conversation_id}/restart#stream", "/v1/conversations/{cid}/restart", {"inputs": "Hi"}),
    ],
)
def test_conversation_streams_validate(wapi, writable_sim, mistral_schemas, path_key, url, body):
    """The spec's `#stream` path keys are the same wire path with "stream": true (a known spec quirk)."""
    cid = writable_sim.data.conversations[-1]["id"]
    if "restart" in url:
        body = {**body, "from_entry_id": writable_sim.data.history(cid)[0]["id"]}
    response = wapi.post(url.format(cid=cid), json={**body, "stream": True})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response)
    for event, data in events:
        payload = {"event": event, "data": json.loads(data)}
        mistral_schemas.validate_response(path_key, "post", payload, content_type="text/event-stream")
    assert events[0][0] == "conversation.response.started" and events[-1][0] == "conversation.response.done"


def test_error_bodies_have_the_documented_shape(mistral_sim, make_mistral_sim, mistral_schemas):
    chat = {"model": "mistral-large-latest", "messages": [{"role": "user", "content": "hi"}]}
    with client(mistral_sim.url, "NoSuchKey0000000000000000000000x") as stranger:
        assert_error(stranger.get("/v1/models"), 401, mistral_schemas)
    with client(mistral_sim.url, SIM_UNPAID_KEY) as unpaid:
        assert_error(unpaid.post("/v1/chat/completions", json=chat), 401, mistral_schemas)
    with client(mistral_sim.url, SIM_LIMITED_KEY) as limited:
        assert_error(limited.post("/v1/chat/completions", json=chat), 403, mistral_schemas)
    with client(mistral_sim.url) as api:
        assert_error(api.get("/v1/conversations/conv_missing/history"), 404, mistral_schemas)
        assert_error(api.post("/v1/chat/completions", json={**chat, "model": "gpt-4"}), 400, mistral_schemas)
        invalid = api.post("/v1/chat/completions", json={"messages": []})
        assert invalid.status_code == 422
        mistral_schemas.validate_response("/v1/chat/completions", "post", invalid.json(), status=422)
    sim = make_mistral_sim(keys=[KeySpec(SIM_API_KEY, rpm=1), KeySpec(SIM_UNPAID_KEY)], conversations=0)
    with client(sim.url) as api:
        api.get("/v1/models")
        assert_error(api.get("/v1/models"), 429, mistral_schemas)
    sim.set_faults(FaultConfig(error_rate=1.0))
    with client(sim.url, SIM_UNPAID_KEY) as other:  # a key under its limit: the injected 5xx shows
        assert_error(other.get("/v1/models"), (500, 502, 503), mistral_schemas)


def assert_error(response: httpx.Response, status: int | tuple[int, ...], schemas) -> None:
    assert response.status_code in (status if isinstance(status, tuple) else (status,)), response.text
    schemas.validate_error(response.json())
