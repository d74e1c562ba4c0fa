"""The official SDK (`mistralai` 3.x) drives every endpoint of the Mistral simulator over real HTTP."""

from __future__ import annotations

import warnings

import pytest
from fixtures.mistral import SIM_API_KEY

from magent.sandbox.mistral import MistralSimulator


@pytest.fixture(scope="module")
def sdk_sim(request) -> MistralSimulator:
    """A private simulator: these tests create and delete agents and conversations."""
    from fixtures.mistral import sim_keys

    from magent.sandbox.mistral import SimulatorConfig

    sim = MistralSimulator(SimulatorConfig(keys=sim_keys(), agents=4, conversations=12, seed=3)).start()
    request.addfinalizer(sim.stop)
    return sim


@pytest.fixture
def sdk(sdk_sim):
    from mistralai.client import Mistral

    return Mistral(api_key=SIM_API_KEY, server_url=sdk_sim.url)


def test_models_list_and_retrieve(sdk):
    listed = sdk.models.list()
    ids = {model.id for model in listed.data}
    assert {"mistral-large-2411", "mistral-large-latest", "codestral-2508", "mistral-embed"} <= ids
    large = sdk.models.retrieve(model_id="mistral-large-2411")
    assert "mistral-large-latest" in large.aliases and large.capabilities.completion_chat


def test_chat_complete_and_stream(sdk):
    messages = [{"role": "user", "content": "Hello there"}]
    reply = sdk.chat.complete(model="mistral-small-latest", messages=messages)
    assert reply.choices[0].message.content and reply.choices[0].finish_reason == "stop"
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens > 0
    events = list(sdk.chat.stream(model="mistral-small-latest", messages=messages))
    text = "".join(event.data.choices[0].delta.content or "" for event in events)
    assert text and events[-1].data.usage.completion_tokens == len(text.split())


def test_chat_tool_call_when_forced(sdk):
    tools = [{"type": "function", "function": {"name": "lookup_invoice", "parameters": {"type": "object"}}}]
    reply = sdk.chat.complete(model="mistral-large-latest", messages=[{"role": "user", "content": "My invoice?"}],
                              tools=tools, tool_choice="any")
    assert reply.choices[0].finish_reason == "tool_calls"
    assert reply.choices[0].message.tool_calls[0].function.name == "lookup_invoice"


def test_agents_lifecycle(sdk, sdk_sim):
    agent = sdk.beta.agents.create(model="mistral-medium-latest", name="sdk-agent", instructions="Be kind.")
    assert agent.id.startswith("ag_") and agent.version == 0
    assert sdk.beta.agents.get(agent_id=agent.id).instructions == "Be kind."
    updated = sdk.beta.agents.update(agent_id=agent.id, instructions="Be kinder.")
    assert (updated.version, updated.instructions) == (1, "Be kinder.")
    assert sdk.beta.agents.get(agent_id=agent.id, agent_version=0).instructions == "Be kind."
    with warnings.catch_warnings():  # the SDK marks GET /v1/agents deprecated; the simulator still serves it
        warnings.simplefilter("ignore", DeprecationWarning)
        listed = {a.id for a in sdk.beta.agents.list(page=0, page_size=100)}
    assert agent.id in listed and len(listed) == len(sdk_sim.data.agents)
    sdk.beta.agents.delete(agent_id=agent.id)
    assert agent.id not in {a["id"] for a in sdk_sim.data.agents}


def test_agents_cursor_pages_cover_every_agent(sdk, sdk_sim):
    page, seen = sdk.beta.agents.list_pages(page_size=3), []
    while page is not None:
        seen += [agent.id for agent in page.result.data]
        page = page.next()
    assert seen == [agent["id"] for agent in sdk_sim.data.agents]


def test_conversations_list_pages_until_a_short_page(sdk, sdk_sim):
    seen, page = [], 0
    while True:
        batch = sdk.beta.conversations.list(page=page, page_size=5)
        seen += [conversation.id for conversation in batch]
        if len(batch) < 5:
            break
        page += 1
    assert seen == [conversation["id"] for conversation in sdk_sim.data.conversations]


def test_conversation_get_history_and_messages(sdk, sdk_sim):
    conversation = sdk_sim.data.conversations[0]
    got = sdk.beta.conversations.get(conversation_id=conversation["id"])
    assert got.id == conversation["id"]
    history = sdk.beta.conversations.get_history(conversation_id=conversation["id"])
    assert [entry.id for entry in history.entries] == [e["id"] for e in sdk_sim.data.history(conversation["id"])]
    messages = sdk.beta.conversations.get_messages(conversation_id=conversation["id"])
    assert {m.type for m in messages.messages} <= {"message.input", "message.output"} and messages.messages


def test_conversation_start_append_restart_delete(sdk, sdk_sim):
    from mistralai.client.errors import SDKError

    agent_id = sdk_sim.data.agents[0]["id"]
    started = sdk.beta.conversations.start(inputs="Where is my parcel?", agent_id=agent_id)
    assert started.usage.total_tokens > 0 and started.outputs[0].agent_id == agent_id
    appended = sdk.beta.conversations.append(conversation_id=started.conversation_id, inputs="Thanks!")
    assert appended.usage.prompt_tokens > started.usage.prompt_tokens  # the whole conversation is the prompt
    history = sdk.beta.conversations.get_history(conversation_id=started.conversation_id).entries
    assert [e.type for e in history] == ["message.input", "message.output"] * 2
    restarted = sdk.beta.conversations.restart(
        conversation_id=started.conversation_id, inputs="Let me rephrase.", from_entry_id=history[1].id
    )
    restarted_history = sdk.beta.conversations.get_history(conversation_id=restarted.conversation_id).entries
    assert [e.id for e in restarted_history[:2]] == [e.id for e in history[:2]] and len(restarted_history) == 4
    sdk.beta.conversations.delete(conversation_id=started.conversation_id)
    with pytest.raises(SDKError) as caught:
        sdk.beta.conversations.get(conversation_id=started.conversation_id)
    assert caught.value.status_code == 404


def test_conversation_start_stream(sdk):
    events = list(sdk.beta.conversations.start_stream(inputs="Hi", model="mistral-small-latest"))
    kinds = [event.event for event in events]
    assert kinds[0] == "conversation.response.started" and kinds[-1] == "conversation.response.done"
    assert "message.output.delta" in kinds and events[-1].data.usage.total_tokens > 0
