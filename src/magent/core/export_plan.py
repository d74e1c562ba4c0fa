"""Pure logic of `conversations export`: API objects (dicts) → table rows, token counts and the cost model.

Cost model: a conversation re-sends its context on every turn, so for each model output (`message.output`
and `function.call`) `prompt_tokens` is the number of tokens of everything before it in the conversation
(the instructions plus all earlier entries), and its completion tokens are its own `token_count`.

An entry's text (the `content` column, and what is counted) is the message text, the function call's
arguments, the function result, or the tool execution's arguments; an agent handoff has none. Everything
else of the entry except the common columns is kept in `content_json`, so the API object can be rebuilt
from the row (`entry_from_row`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from magent.core.tokens import TokenCount, count_tokens, count_tokens_cached

AGENT_COLUMNS = ("id", "name", "model", "description", "instructions", "tools", "version", "created_at",
                 "updated_at", "metadata", "extra")
CONVERSATION_COLUMNS = ("id", "agent_id", "model", "name", "description", "instructions", "created_at",
                        "updated_at", "metadata", "extra")
ENTRY_COLUMNS = ("id", "conversation_id", "position", "type", "role", "content", "content_json", "token_count",
                 "token_count_method", "prompt_tokens", "created_at", "completed_at", "agent_id", "model",
                 "tool_name", "tool_call_id", "parent_entry_id", "metadata")
JSON_COLUMNS = frozenset({"tools", "metadata", "extra", "content_json"})
TIME_COLUMNS = frozenset({"created_at", "updated_at", "completed_at"})

OUTPUT_TYPES = frozenset({"message.output", "function.call"})
ENTRY_TYPES = ("message.input", "message.output", "function.call", "function.result", "tool.execution",
               "agent.handoff")
# The field of each entry type that holds its text (the `content` column).
CONTENT_FIELD = {"message.input": "content", "message.output": "content", "function.call": "arguments",
                 "function.result": "result", "tool.execution": "arguments"}
_ENVELOPE = frozenset({"id", "object", "type", "created_at", "completed_at", "role", "agent_id", "model"})
# Keys of content_json that are identifiers, not user data: kept as is by --redact-content. Agent names
# are people's words like the agents' own `name` column, so handoffs hash them too; `name` here is a tool's.
_NOT_CONTENT = frozenset({"type", "name", "tool_call_id", "id", "object", "previous_agent_id", "next_agent_id",
                          "confirmation_status", "prefix"})

Counter = Callable[[str | None, str | None], TokenCount]


@dataclass
class ExportBatch:
    """Rows to write together: some agents, and whole conversations with all their entries."""

    agents: list[dict[str, Any]] = field(default_factory=list)
    conversations: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.conversations)


@dataclass(frozen=True)
class ExportTarget:
    kind: str  # "postgres", "jsonl" or "csv"
    path: str | None = None


def parse_target(text: str) -> ExportTarget:
    """`postgres`, `jsonl:PATH` or `csv:DIR`; ValueError otherwise."""
    kind, _, path = text.partition(":")
    if kind == "postgres" and not path:
        return ExportTarget("postgres")
    if kind in ("jsonl", "csv") and path:
        return ExportTarget(kind, path)
    raise ValueError(f"invalid --to {text!r} (use postgres, jsonl:PATH or csv:DIR)")


def parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value if type(value) is str else str(value))  # Python ≥ 3.11 reads "Z" too


def _rest(obj: Mapping[str, Any], taken: Sequence[str]) -> dict[str, Any] | None:
    rest = {k: v for k, v in obj.items() if k not in taken and k != "object" and v is not None}
    return rest or None


# Columns of agents and conversations that people write (prompts, titles, tags): hashed by --redact-content.
# Ids, model, version and times stay: the usage report and joins need them, and they hold no user text.
REDACTED_TEXT_COLUMNS = ("name", "description", "instructions")
REDACTED_JSON_COLUMNS = ("metadata", "extra")


def agent_row(agent: Mapping[str, Any], *, redact: bool = False) -> dict[str, Any]:
    row = {column: agent.get(column) for column in AGENT_COLUMNS if column != "extra"}
    row["created_at"], row["updated_at"] = parse_time(row["created_at"]), parse_time(row["updated_at"])
    row["extra"] = _rest(agent, AGENT_COLUMNS)
    return _redacted(row) if redact else row


def conversation_row(conversation: Mapping[str, Any], *, redact: bool = False) -> dict[str, Any]:
    row = {column: conversation.get(column) for column in CONVERSATION_COLUMNS if column != "extra"}
    row["created_at"], row["updated_at"] = parse_time(row["created_at"]), parse_time(row["updated_at"])
    row["extra"] = _rest(conversation, CONVERSATION_COLUMNS)
    return _redacted(row) if redact else row


def _redacted(row: dict[str, Any]) -> dict[str, Any]:
    for column in REDACTED_TEXT_COLUMNS:
        if isinstance(row.get(column), str):
            row[column] = sha256_text(row[column])
    for column in REDACTED_JSON_COLUMNS:
        if row.get(column):
            row[column] = redact_json(row[column])
    return row


def content_text(value: Any) -> str | None:
    """Text of a message `content` (a string, or a list of chunks whose text parts are joined)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [chunk.get("text") or "" for chunk in value if isinstance(chunk, dict) and chunk.get("type") == "text"]
        return "".join(parts)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _entry_text(entry: Mapping[str, Any]) -> str | None:
    key = CONTENT_FIELD.get(entry.get("type", ""))
    if key is None:
        return None
    value = entry.get(key)
    if key == "content":
        return content_text(value)
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _payload(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """The entry's fields beyond the common columns; its text field is left out when it is a plain string."""
    key = CONTENT_FIELD.get(entry.get("type", ""))
    payload = {k: v for k, v in entry.items() if k not in _ENVELOPE and v is not None}
    if key and isinstance(payload.get(key), str):
        del payload[key]
    return payload or None


def sha256_text(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def redact_json(value: Any, key: str | None = None) -> Any:
    """Every string that may hold user data replaced by its hash; identifiers kept."""
    if isinstance(value, dict):
        return {k: redact_json(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json(v, key) for v in value]
    if isinstance(value, str) and key not in _NOT_CONTENT:
        return sha256_text(value)
    return value


@dataclass
class ConversationContext:
    """What entries inherit from their conversation: agent, model, instructions."""

    conversation_id: str
    agent_id: str | None
    model: str | None
    instructions: str | None
    agent_models: Mapping[str, str | None] = field(default_factory=dict)


def context_for(conversation: Mapping[str, Any], agents: Mapping[str, Mapping[str, Any]]) -> ConversationContext:
    agent = agents.get(conversation.get("agent_id") or "", {})
    return ConversationContext(
        conversation_id=conversation["id"],
        agent_id=conversation.get("agent_id"),
        model=conversation.get("model") or agent.get("model"),
        instructions=conversation.get("instructions") or agent.get("instructions"),
        agent_models={agent_id: a.get("model") for agent_id, a in agents.items()},
    )


def entry_rows(entries: Sequence[Mapping[str, Any]], context: ConversationContext, *,
               counter: Counter = count_tokens, redact: bool = False) -> list[dict[str, Any]]:
    """One row per history entry, in order, with token counts and prompt tokens (see the module doc)."""
    # the same instructions come with every conversation of an agent: counted once
    instructions = count_tokens_cached if counter is count_tokens else counter
    context_tokens = instructions(context.instructions, context.model).tokens
    current_agent = context.agent_id
    call_entry_ids: dict[str, str] = {}
    rows = []
    for position, entry in enumerate(entries):
        agent_id = entry.get("agent_id") or current_agent
        model = entry.get("model") or context.agent_models.get(agent_id or "") or context.model
        text = _entry_text(entry)
        count = counter(text, model)
        row = _entry_row(entry, context.conversation_id, position, text, count, agent_id, model, redact)
        if row["type"] in OUTPUT_TYPES:
            row["prompt_tokens"] = context_tokens
        if row["type"] == "function.call" and row["tool_call_id"]:
            call_entry_ids[row["tool_call_id"]] = row["id"]
        if row["type"] == "function.result":
            row["parent_entry_id"] = call_entry_ids.get(row["tool_call_id"] or "")
        if row["type"] == "agent.handoff":
            current_agent = entry.get("next_agent_id") or current_agent
        context_tokens += count.tokens
        rows.append(row)
    return rows


def _entry_row(entry: Mapping[str, Any], conversation_id: str, position: int, text: str | None,
               count: TokenCount, agent_id: str | None, model: str | None, redact: bool) -> dict[str, Any]:
    payload = _payload(entry)
    return {
        "id": entry["id"], "conversation_id": conversation_id, "position": position, "type": entry["type"],
        "role": entry.get("role"),
        "content": sha256_text(text) if redact and text is not None else text,
        "content_json": redact_json(payload) if redact and payload else payload,
        "token_count": count.tokens, "token_count_method": count.method, "prompt_tokens": None,
        "created_at": parse_time(entry.get("created_at")), "completed_at": parse_time(entry.get("completed_at")),
        "agent_id": agent_id, "model": model,
        "tool_name": entry.get("name") if entry["type"] in ("function.call", "tool.execution") else None,
        "tool_call_id": entry.get("tool_call_id"), "parent_entry_id": None, "metadata": None,
    }


def entry_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The API fields of an entry rebuilt from its row (agent_id/model as filled in; no `object`)."""
    entry = {"id": row["id"], "type": row["type"], "created_at": row["created_at"],
             "completed_at": row["completed_at"], "role": row["role"], "agent_id": row["agent_id"],
             "model": row["model"], **(row["content_json"] or {})}
    key = CONTENT_FIELD.get(row["type"])
    if key and key not in entry:
        entry[key] = row["content"]
    return {k: v for k, v in entry.items() if v is not None}
