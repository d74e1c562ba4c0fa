"""Tokens are counted by the thread that writes, not by the fetching threads (issue 9 §7: ≤ 2 ms CPU per request).

The tokenizer releases the GIL on every call (~20 per conversation); called from 8 fetching threads, each call
was a thread hand-off and counting cost three times its CPU. The rows are the same wherever they are made."""

from __future__ import annotations

import json
import threading

from fixtures.mistral import SIM_API_KEY

from magent.core import tokens
from magent.core.export_plan import context_for, entry_rows
from magent.services.mistral.conversations import open_source
from magent.workflows.export.runner import ExportOptions, run_export
from magent.workflows.export.sinks import JsonlSink


def test_the_fetching_threads_count_no_tokens_and_the_rows_are_unchanged(make_mistral_sim, tmp_path, monkeypatch):
    sim = make_mistral_sim(agents=2, conversations=12, seed=9)
    tokens.preload()  # loaded before the export: the fetching threads could have counted
    counting_threads: set[str] = set()
    encode = tokens._count_ids

    def recorded(text: str) -> list[int]:
        counting_threads.add(threading.current_thread().name)
        return encode(text)

    monkeypatch.setattr(tokens, "_count_ids", recorded)
    out = tmp_path / "out.jsonl"
    source, client = open_source(sim.url, SIM_API_KEY)
    with client:
        summary = run_export(source, JsonlSink(str(out)), ExportOptions(concurrency=4))
    assert summary.status == "succeeded" and summary.conversations == 12
    assert counting_threads == {threading.current_thread().name}  # the calling thread, which writes

    written = [json.loads(line) for line in out.read_text().splitlines()]
    entries = {(r["conversation_id"], r["position"]): r for r in written if r["table"] == "conversation_entries"}
    source, client = open_source(sim.url, SIM_API_KEY)
    with client:  # the rows as made one conversation at a time, from the same API answers
        agents = {agent["id"]: agent for agent in source.agents()}
        expected_counts = {}
        for conversation in (c for page in source.conversation_pages() for c in page):
            for row in entry_rows(source.history(conversation["id"]) or [], context_for(conversation, agents)):
                expected_counts[conversation["id"], row["position"]] = (row["token_count"], row["prompt_tokens"])
    assert {key: (r["token_count"], r["prompt_tokens"]) for key, r in entries.items()} == expected_counts
