"""Pure export logic: rows from API objects, the prompt-token cost model, redaction, targets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from magent.core.export_plan import (
    ConversationContext,
    agent_row,
    content_text,
    context_for,
    conversation_row,
    entry_from_row,
    entry_rows,
    parse_target,
    sha256_text,
)
from magent.core.tokens import COUNTED, ESTIMATED, TokenCount


def by_words(text, model):
    """A stand-in tokenizer for the arithmetic: one token per word; 'unknown-*' models are estimated."""
    method = ESTIMATED if (model or "").startswith("unknown") else COUNTED
    return TokenCount(len((text or "").split()), method)


HISTORY = [
    {"object": "entry", "type": "message.input", "id": "e0", "role": "user", "content": "one two three",
     "created_at": "2026-11-01T10:00:00Z", "prefix": False},
    {"object": "entry", "type": "function.call", "id": "e1", "tool_call_id": "t1", "name": "lookup",
     "arguments": "{\"q\": 1}", "created_at": "2026-11-01T10:00:01Z", "model": "mistral-small-2506"},
    {"object": "entry", "type": "function.result", "id": "e2", "tool_call_id": "t1", "result": "r1 r2",
     "created_at": "2026-11-01T10:00:02Z"},
    {"object": "entry", "type": "message.output", "id": "e3", "role": "assistant",
     "content": [{"type": "text", "text": "four five"}, {"type": "image_url", "image_url": "http://x/y.png"}],
     "created_at": "2026-11-01T10:00:03Z", "completed_at": "2026-11-01T10:00:04Z"},
    {"object": "entry", "type": "agent.handoff", "id": "e4", "previous_agent_id": "ag_1", "next_agent_id": "ag_2",
     "previous_agent_name": "a", "next_agent_name": "b", "created_at": "2026-11-01T10:00:05Z"},
    {"object": "entry", "type": "message.output", "id": "e5", "role": "assistant", "content": "six",
     "created_at": "2026-11-01T10:00:06Z"},
    {"object": "entry", "type": "tool.execution", "id": "e6", "name": "web_search", "arguments": "seven",
     "info": {"n": 1}, "created_at": "2026-11-01T10:00:07Z"},
]
AGENTS = {"ag_1": {"id": "ag_1", "model": "mistral-medium-2508", "instructions": "be nice"},
          "ag_2": {"id": "ag_2", "model": "unknown-model-1"}}


def rows(redact: bool = False):
    context = context_for({"id": "c1", "agent_id": "ag_1"}, AGENTS)
    return entry_rows(HISTORY, context, counter=by_words, redact=redact)


def test_prompt_tokens_are_everything_before_each_output():
    result = rows()
    assert [r["token_count"] for r in result] == [3, 2, 2, 2, 0, 1, 1]
    # instructions "be nice" = 2 tokens; outputs are e1 (function.call), e3 and e5 (message.output)
    assert [r["prompt_tokens"] for r in result] == [None, 2 + 3, None, 2 + 3 + 2 + 2, None, 2 + 3 + 2 + 2 + 2 + 0,
                                                   None]


def test_agent_and_model_are_filled_from_the_entry_then_the_current_agent():
    result = rows()
    assert [r["agent_id"] for r in result] == ["ag_1", "ag_1", "ag_1", "ag_1", "ag_1", "ag_2", "ag_2"]
    assert result[1]["model"] == "mistral-small-2506"  # the entry's own model wins
    assert result[3]["model"] == "mistral-medium-2508"  # from agent ag_1
    assert result[5]["model"] == "unknown-model-1"  # after the handoff to ag_2
    assert result[5]["token_count_method"] == ESTIMATED and result[3]["token_count_method"] == COUNTED


def test_columns_of_each_entry_type():
    e0, e1, e2, e3, e4, e5, e6 = rows()
    assert (e0["role"], e0["content"], e0["content_json"]) == ("user", "one two three", {"prefix": False})
    assert (e1["tool_name"], e1["tool_call_id"], e1["content"]) == ("lookup", "t1", "{\"q\": 1}")
    assert e2["parent_entry_id"] == "e1" and e2["content"] == "r1 r2"
    assert e3["content"] == "four five" and e3["content_json"]["content"][1]["type"] == "image_url"
    assert e3["completed_at"] == datetime(2026, 11, 1, 10, 0, 4, tzinfo=UTC)
    assert e4["content"] is None and e4["content_json"]["next_agent_id"] == "ag_2"
    assert e6["tool_name"] == "web_search" and e6["content_json"] == {"name": "web_search", "info": {"n": 1}}
    assert [r["position"] for r in rows()] == list(range(len(HISTORY)))


def test_entry_from_row_rebuilds_the_api_object():
    for entry, row in zip(HISTORY, rows()):
        rebuilt = entry_from_row(row)
        expected = {k: v for k, v in entry.items() if k != "object"}
        for key in ("created_at", "completed_at"):
            if key in expected:
                expected[key] = datetime.fromisoformat(expected[key].replace("Z", "+00:00"))
        rebuilt.pop("agent_id"), rebuilt.pop("model", None), expected.pop("model", None)
        assert rebuilt == expected


def test_redaction_hashes_text_but_keeps_identifiers_and_counts():
    plain, redacted = rows(), rows(redact=True)
    assert redacted[0]["content"] == sha256_text("one two three")
    assert redacted[3]["content_json"]["content"][0] == {"type": "text", "text": sha256_text("four five")}
    assert redacted[4]["content_json"]["next_agent_id"] == "ag_2"
    assert redacted[1]["tool_name"] == "lookup" and redacted[1]["tool_call_id"] == "t1"
    assert [r["token_count"] for r in redacted] == [r["token_count"] for r in plain]
    assert "one two three" not in repr(redacted) and "four five" not in repr(redacted)


def test_conversation_instructions_win_over_the_agent_and_rows_keep_extra_fields():
    conversation = {"id": "c2", "model": "mistral-large-2411", "instructions": "x y z", "object": "conversation",
                    "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-02T00:00:00Z",
                    "completion_args": {"temperature": 0.2}, "guardrails": None}
    context = context_for(conversation, AGENTS)
    assert isinstance(context, ConversationContext) and context.instructions == "x y z"
    row = conversation_row(conversation)
    assert row["extra"] == {"completion_args": {"temperature": 0.2}}
    assert row["updated_at"] == datetime(2026, 11, 2, tzinfo=UTC)
    agent = agent_row({"id": "ag_9", "name": "n", "model": "m", "versions": [0, 1], "object": "agent"})
    assert agent["extra"] == {"versions": [0, 1]} and agent["tools"] is None


def test_content_text_joins_text_chunks():
    assert content_text("plain") == "plain"
    assert content_text([{"type": "text", "text": "a"}, {"type": "tool_file"}, {"type": "text", "text": "b"}]) == "ab"
    assert content_text(None) is None


@pytest.mark.parametrize("text, kind, path", [
    ("postgres", "postgres", None), ("jsonl:out.jsonl", "jsonl", "out.jsonl"), ("csv:dir/", "csv", "dir/"),
    ("jsonl:/abs/x:y", "jsonl", "/abs/x:y"),
])
def test_parse_target(text, kind, path):
    target = parse_target(text)
    assert (target.kind, target.path) == (kind, path)


@pytest.mark.parametrize("text", ["", "jsonl", "jsonl:", "csv:", "parquet:x", "postgres:x", "Postgres"])
def test_parse_target_rejects(text):
    with pytest.raises(ValueError, match="invalid --to"):
        parse_target(text)
