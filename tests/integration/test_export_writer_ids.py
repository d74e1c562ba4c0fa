"""The writer's check for entries already stored (ids sent as one JSON array) and its COPY of sparse rows."""

from __future__ import annotations

import random
from datetime import timedelta

from test_store_writer import T0, batch_of, count, make_conversation, write

from magent.core.export_plan import ExportBatch, conversation_row

ODD_IDS = ['q"uote', "back\\slash", "com,ma", "{brace}", "new\nline", "tab\tand space ", "é✓😀", "NULL", ""]


def test_entry_ids_of_any_text_already_stored_are_found(store):
    rng = random.Random(8)
    original = make_conversation(rng, "c-original", T0, ODD_IDS)
    restarted = make_conversation(rng, "c-restarted", T0 + timedelta(days=1), [*ODD_IDS, "r-new"])
    write(store, batch_of([original]))
    # a new conversation holding stored entry ids: not "all new", else COPY would hit the primary key
    result = write(store, batch_of([restarted]))
    assert (result.conversations, result.entries) == (1, 1)
    with store.connection() as conn:
        owners = dict(conn.execute("SELECT id, conversation_id FROM conversation_entries").fetchall())
    assert {i: owners[i] for i in ODD_IDS} == dict.fromkeys(ODD_IDS, "c-original")
    assert owners["r-new"] == "c-restarted"
    assert write(store, batch_of([original, restarted])).entries == 0  # the same again changes nothing


def test_rows_without_some_columns_are_written_with_nulls_there(store):
    conversation = {"id": "c-sparse", "model": "mistral-small-2506", "created_at": T0, "updated_at": T0}
    entry = {"id": "c-sparse-e0", "conversation_id": "c-sparse", "position": 0, "type": "message.input",
             "content": "hello", "token_count": 1, "token_count_method": "counted", "created_at": T0}
    write(store, ExportBatch(conversations=[conversation_row(conversation)], entries=[entry]))
    assert count(store, "SELECT count(*) FROM conversation_entries WHERE role IS NULL AND content_json IS NULL "
                        "AND completed_at IS NULL AND content = 'hello'") == 1
