"""The export's per-request CPU savings keep the rows exactly as they were (issue 9 §7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from magent.core import tokens
from magent.core.export_plan import context_for, entry_rows, parse_time

HISTORY = [
    {"object": "entry", "type": "message.input", "id": "e0", "role": "user", "content": "Où est mon colis ?",
     "created_at": "2026-11-01T10:00:00Z"},
    {"object": "entry", "type": "message.output", "id": "e1", "role": "assistant", "content": "It left yesterday.",
     "created_at": "2026-11-01T10:00:01.5Z", "completed_at": "2026-11-01T10:00:02+00:00"},
    {"object": "entry", "type": "message.input", "id": "e2", "role": "user", "content": "",
     "created_at": "2026-11-01T10:00:03Z"},
    {"object": "entry", "type": "message.output", "id": "e3", "role": "assistant", "content": "Thanks",
     "created_at": "2026-11-01T10:00:04Z", "model": "gpt-4o"},
]
AGENTS = {"ag_1": {"id": "ag_1", "model": "mistral-small-2506", "instructions": "You answer about parcels. " * 40}}


def test_an_agents_instructions_are_counted_once_for_all_its_conversations(monkeypatch):
    tokens.preload()
    encoded: list[str] = []
    encode = tokens._count_ids
    monkeypatch.setattr(tokens, "_count_ids", lambda text: encoded.append(text) or encode(text))
    agents = {"ag_1": {**AGENTS["ag_1"], "instructions": AGENTS["ag_1"]["instructions"] + "Be kind."}}  # not cached yet
    contexts = [context_for({"id": f"c{i}", "agent_id": "ag_1"}, agents) for i in range(5)]
    results = [entry_rows(HISTORY, context) for context in contexts]
    assert encoded.count(agents["ag_1"]["instructions"]) == 1
    uncached = entry_rows(HISTORY, contexts[0], counter=lambda text, model: tokens.count_tokens(text, model))
    assert results[0] == uncached
    instructions = tokens.count_tokens(agents["ag_1"]["instructions"], "mistral-small-2506").tokens
    assert [r["prompt_tokens"] for r in uncached] == [None, instructions + uncached[0]["token_count"], None,
                                                     instructions + sum(r["token_count"] for r in uncached[:3])]
    assert [r["token_count_method"] for r in uncached] == ["counted", "counted", "counted", "estimated"]


def test_instructions_or_models_of_unexpected_types_are_taken_as_before():
    assert tokens.count_tokens_cached(["not", "text"], "gpt-4o") == tokens.TokenCount(1, tokens.ESTIMATED)
    assert not tokens.tokenizer_known([]) and not tokens.tokenizer_known({"name": "mistral-small"})
    assert tokens.count_tokens("four words of text", []) == tokens.TokenCount(5, tokens.ESTIMATED)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
       st.integers(min_value=-14 * 60, max_value=14 * 60), st.booleans())
def test_api_times_parse_the_same_with_z_or_an_offset(moment, offset_minutes, as_utc):
    zone = UTC if as_utc else __import__("datetime").timezone(timedelta(minutes=offset_minutes))
    aware = moment.replace(tzinfo=zone)
    text = aware.isoformat()
    assert parse_time(text) == aware
    if as_utc:
        assert parse_time(text.replace("+00:00", "Z")) == aware
    assert parse_time(moment.isoformat()) == moment  # naive stays naive
    assert parse_time(None) is None and parse_time(aware) is aware
