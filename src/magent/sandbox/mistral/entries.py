"""Conversation entries in their API shape (the six entry types), ids of the Mistral shape, token estimates."""

from __future__ import annotations

import random
import string
from datetime import datetime

from magent.core.timeutil import isoformat

# Id prefixes per object, followed by 32 hex digits.
ID_PREFIX = {
    "conversation": "conv",
    "agent": "ag",
    "message.input": "msg",
    "message.output": "msg",
    "function.call": "fc",
    "function.result": "fr",
    "tool.execution": "tool_exec",
    "agent.handoff": "handoff",
}

_TOOL_CALL_ALPHABET = string.ascii_letters + string.digits


def new_id(kind: str, rng: random.Random) -> str:
    return f"{ID_PREFIX[kind]}_{rng.getrandbits(128):032x}"


def completion_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def tool_call_id(rng: random.Random) -> str:
    """Function call ids are 9 alphanumeric characters."""
    return "".join(rng.choices(_TOOL_CALL_ALPHABET, k=9))


def estimate_tokens(text: str) -> int:
    """About four characters per token: close enough for usage and rate limits in a simulator."""
    return max(1, (len(text) + 3) // 4)


def content_text(content: object) -> str:
    """The text of an entry's or message's content (a string or a list of chunks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(chunk.get("text", "")) for chunk in content if isinstance(chunk, dict))
    return ""


def entry_text(entry: dict) -> str:
    """All text an entry carries, for token estimates."""
    parts = [content_text(entry.get("content")), str(entry.get("arguments") or ""), str(entry.get("result") or "")]
    return " ".join(part for part in parts if part)


def _base(kind: str, rng: random.Random, at: datetime, done: datetime | None) -> dict:
    return {
        "object": "entry",
        "type": kind,
        "created_at": isoformat(at),
        "completed_at": isoformat(done) if done else None,
        "id": new_id(kind, rng),
    }


def message_input(rng: random.Random, at: datetime, content: str | list, role: str = "user") -> dict:
    entry = _base("message.input", rng, at, None)
    entry.update(role=role, content=content, prefix=False)
    return entry


def message_output(
    rng: random.Random, at: datetime, done: datetime, content: str | list, *, model: str, agent_id: str | None
) -> dict:
    entry = _base("message.output", rng, at, done)
    entry.update(agent_id=agent_id, model=model, role="assistant", content=content)
    return entry


def function_call(
    rng: random.Random, at: datetime, done: datetime, name: str, arguments: str, *, model: str, agent_id: str | None
) -> dict:
    entry = _base("function.call", rng, at, done)
    entry.update(agent_id=agent_id, model=model, tool_call_id=tool_call_id(rng), name=name, arguments=arguments)
    return entry


def function_result(rng: random.Random, at: datetime, call_id: str, result: str) -> dict:
    entry = _base("function.result", rng, at, None)
    entry.update(tool_call_id=call_id, result=result)
    return entry


def tool_execution(
    rng: random.Random, at: datetime, done: datetime, name: str, arguments: str, *, model: str, agent_id: str | None
) -> dict:
    entry = _base("tool.execution", rng, at, done)
    entry.update(agent_id=agent_id, model=model, name=name, arguments=arguments, info={"duration_ms": 850})
    return entry


def agent_handoff(rng: random.Random, at: datetime, done: datetime, previous: dict, following: dict) -> dict:
    entry = _base("agent.handoff", rng, at, done)
    entry.update(
        previous_agent_id=previous["id"],
        previous_agent_name=previous["name"],
        next_agent_id=following["id"],
        next_agent_name=following["name"],
    )
    return entry
