"""Seeded generation of agents, conversations and histories.

Every conversation draws from its own RNG (seeded from the run's seed and its index), so that its history
can be generated lazily, on first read, and still be the same in every run with the same seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from magent.core.timeutil import isoformat
from magent.sandbox.mistral import entries as E
from magent.sandbox.mistral import text as T
from magent.sandbox.mistral.models import DATA_MODELS

AGENT_SHARE = 0.7  # share of conversations held with an agent rather than a bare model


@dataclass
class AgentRecord:
    """An agent's versions (API-shaped dicts) and which one is current."""

    versions: dict[int, dict]
    current: int

    @property
    def latest(self) -> dict:
        return self.versions[self.current]

    @property
    def id(self) -> str:
        return self.latest["id"]


@dataclass
class ConversationSeed:
    """What is needed to generate a conversation's history later."""

    index: int
    conversation: dict
    tools: list[dict] = field(default_factory=list)


def conversation_rng(seed: int, index: int, part: int) -> random.Random:
    return random.Random((seed << 40) ^ (index << 2) ^ part)


def function_tool(name: str) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": f"Call {name.replace('_', ' ')} in the back office.",
            "strict": False,
            "parameters": {"type": "object", "properties": {"id": {"type": "string"}}, "required": []},
        },
    }


def _agent_tools(rng: random.Random, force_all: bool) -> list[dict]:
    names = [name for name, _, _ in T.FUNCTIONS]
    chosen = rng.sample(names, k=2) if force_all else rng.sample(names, k=rng.randint(0, 2))
    tools = [function_tool(name) for name in chosen]
    if force_all or rng.random() < 0.5:
        tools.append({"type": "web_search"})
    if rng.random() < 0.3:
        tools.append({"type": "code_interpreter"})
    return tools


def generate_agents(seed: int, count: int, now: datetime, days: int) -> list[AgentRecord]:
    """`count` agents, created before the conversations start, each with one to four versions."""
    rng = random.Random(seed * 7919 + 17)
    ids = [E.new_id("agent", rng) for _ in range(count)]
    records = []
    for index, agent_id in enumerate(ids):
        role, purpose = T.AGENT_ROLES[index % len(T.AGENT_ROLES)]
        name = role if index < len(T.AGENT_ROLES) else f"{role}-{index // len(T.AGENT_ROLES) + 1}"
        handoffs = [ids[(index + 1) % count]] if count > 1 and (index == 0 or rng.random() < 0.4) else None
        base = {
            "instructions": f"You are {name}. {purpose} Be concise and polite.",
            "tools": _agent_tools(rng, force_all=index == 0),
            "completion_args": {"temperature": rng.choice([0.2, 0.3, 0.7]), "tool_choice": "auto"},
            "guardrails": None,
            "model": rng.choice(DATA_MODELS[:5]),
            "name": name,
            "description": purpose,
            "handoffs": handoffs,
            "metadata": {"team": rng.choice(["support", "sales", "platform"])},
            "object": "agent",
            "id": agent_id,
            "deployment_chat": False,
            "source": "api",
        }
        created = now - timedelta(days=days + rng.uniform(1, 90))
        records.append(_with_versions(rng, base, created, now - timedelta(days=days), rng.randint(0, 3)))
    return records


def _with_versions(rng: random.Random, base: dict, created: datetime, ready: datetime, last: int) -> AgentRecord:
    """Versions 0..last, all made between `created` and `ready` (before the first conversation)."""
    versions: dict[int, dict] = {}
    updated, step = created, (ready - created) / (last + 1)
    for version in range(last + 1):
        versions[version] = {
            **base,
            "version": version,
            "versions": list(range(version + 1)),
            "created_at": isoformat(created),
            "updated_at": isoformat(updated),
            "version_message": None if version == 0 else f"Tuned instructions (v{version})",
        }
        updated += step * rng.uniform(0.5, 1.0)
    return AgentRecord(versions=versions, current=last)


def generate_conversation(
    seed: int, index: int, agents: list[AgentRecord], now: datetime, days: int
) -> ConversationSeed:
    """The conversation object (ModelConversation or AgentConversation shape) of conversation `index`."""
    rng = conversation_rng(seed, index, 1)
    created = now - timedelta(seconds=rng.uniform(0, days * 86400))
    updated = min(created + timedelta(seconds=rng.uniform(30, 3 * 3600)), now)
    channel = rng.choice(T.CHANNELS)
    common = {
        "name": rng.choice(T.CONVERSATION_NAMES),
        "description": None,
        "metadata": {"channel": channel} if rng.random() < 0.8 else None,
        "object": "conversation",
        "id": E.new_id("conversation", rng),
        "created_at": isoformat(created),
        "updated_at": isoformat(updated),
    }
    if agents and (index == 0 or rng.random() < AGENT_SHARE):
        agent = agents[0] if index == 0 else rng.choice(agents)
        version = rng.choice(list(agent.versions))
        return ConversationSeed(index, {**common, "agent_id": agent.id, "agent_version": version})
    tools = [function_tool(rng.choice(T.FUNCTIONS)[0])] if rng.random() < 0.4 else []
    conversation = {
        "instructions": "You are a helpful assistant." if rng.random() < 0.6 else None,
        "tools": tools,
        "completion_args": {"temperature": 0.3},
        "guardrails": None,
        **common,
        "model": rng.choice(DATA_MODELS),
    }
    return ConversationSeed(index, conversation, tools)
