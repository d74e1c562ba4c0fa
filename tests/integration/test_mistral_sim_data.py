"""The Mistral simulator's seeded data: deterministic, shaped like the API's, spread as asked."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from magent.sandbox.mistral.data import Dataset

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ID_SHAPES = {
    "message.input": r"msg_[0-9a-f]{32}", "message.output": r"msg_[0-9a-f]{32}", "function.call": r"fc_[0-9a-f]{32}",
    "function.result": r"fr_[0-9a-f]{32}", "tool.execution": r"tool_exec_[0-9a-f]{32}",
    "agent.handoff": r"handoff_[0-9a-f]{32}",
}


def dataset(seed: int = 1, **sizes) -> Dataset:
    return Dataset(seed=seed, agents=sizes.get("agents", 4), conversations=sizes.get("conversations", 30),
                   days=sizes.get("days", 30), now=NOW)


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_same_seed_same_data_whatever_the_reading_order():
    first, second = dataset(), dataset()
    assert first.agents == second.agents and first.conversations == second.conversations
    ids = [c["id"] for c in first.conversations]
    assert [first.history(cid) for cid in ids] == [second.history(cid) for cid in reversed(ids)][::-1]


def test_another_seed_other_data():
    assert dataset(1).conversations != dataset(2).conversations
    assert [a["id"] for a in dataset(1).agents] != [a["id"] for a in dataset(2).agents]


def test_the_simulator_serves_its_seeded_data(mistral_sim):
    again = Dataset(seed=1, agents=3, conversations=12, days=30, now=mistral_sim.data.now)
    assert [c["id"] for c in again.conversations] == [c["id"] for c in mistral_sim.data.conversations]


def test_sizes_spread_and_order():
    data = dataset(agents=5, conversations=200, days=10)
    conversations = data.conversations
    assert len(data.agents) == 5 and len(conversations) == 200
    created = [parse(c["created_at"]) for c in conversations]
    assert all(NOW - timedelta(days=10) <= moment <= NOW for moment in created)
    assert max(created) - min(created) > timedelta(days=8)  # spread, not bunched
    updated = [c["updated_at"] for c in conversations]
    assert updated == sorted(updated, reverse=True)
    with_agent = sum(1 for c in conversations if "agent_id" in c)
    assert 0.5 < with_agent / len(conversations) < 0.9  # a mix of agent and model conversations


def test_histories_are_realistic_and_in_time_order():
    data = dataset(conversations=40)
    agent_ids = {a["id"] for a in data.agents}
    lengths = []
    for conversation in data.conversations:
        history = data.history(conversation["id"])
        lengths.append(len(history))
        assert history[0]["type"] == "message.input" and history[-1]["type"] == "message.output"
        stamps = [entry["created_at"] for entry in history]
        assert stamps == sorted(stamps)
        assert conversation["created_at"] <= stamps[0] and stamps[-1] <= conversation["updated_at"]
        for entry in history:
            assert re.fullmatch(ID_SHAPES[entry["type"]], entry["id"]), entry
            if entry.get("agent_id"):
                assert entry["agent_id"] in agent_ids
    assert 10 <= sum(lengths) / len(lengths) <= 30


def test_function_results_answer_their_calls():
    data = dataset(conversations=20)
    for conversation in data.conversations:
        history = data.history(conversation["id"])
        for index, entry in enumerate(history):
            if entry["type"] == "function.result":
                call = history[index - 1]
                assert call["type"] == "function.call" and call["tool_call_id"] == entry["tool_call_id"]
                assert re.fullmatch(r"[A-Za-z0-9]{9}", entry["tool_call_id"])


def test_agents_have_versions_tools_and_handoffs():
    data = dataset(agents=6, days=2)
    agents = data.agents
    assert all(agent["versions"] == list(range(agent["version"] + 1)) for agent in agents)
    first_conversation = min(c["created_at"] for c in data.conversations)
    assert all(agent["created_at"] <= agent["updated_at"] < first_conversation for agent in agents)
    assert any(agent["handoffs"] for agent in agents)
    tool_types = {tool["type"] for agent in agents for tool in agent["tools"]}
    assert {"function", "web_search"} <= tool_types


def test_unknown_conversation_raises_not_found():
    from magent.sandbox.mistral.data import NotFound

    with pytest.raises(NotFound):
        dataset().history("conv_00000000000000000000000000000000")


def test_big_datasets_generate_lazily():
    data = Dataset(seed=9, agents=20, conversations=2000, days=90, now=NOW)
    assert len(data) == 2000 and not data._histories  # nothing generated until read
    assert data.history(data.conversations[0]["id"]) and len(data._histories) == 1
