"""Issue 9 §3/§4 data paths against the real simulator: redaction, file targets, database errors."""

from __future__ import annotations

import json

from fixtures.mistral import SIM_API_KEY

from magent.services.mistral.conversations import open_source
from magent.workflows.export.runner import ExportOptions, run_export
from magent.workflows.export.sinks import JsonlSink


def export(sim, sink, **options):
    source, client = open_source(sim.url, SIM_API_KEY, max_retry_s=30)
    with client:
        return run_export(source, sink, ExportOptions(**options))


def test_redact_content_hashes_names_instructions_and_metadata(mistral_sim, tmp_path):
    path = tmp_path / "redacted.jsonl"
    summary = export(mistral_sim, JsonlSink(str(path)), redact_content=True)
    assert summary.status == "succeeded"
    text = path.read_text()
    written = [obj for obj in mistral_sim.data.agents + mistral_sim.data.conversations]
    clear = {obj[key] for obj in written for key in ("name", "description", "instructions")
             if isinstance(obj.get(key), str) and len(obj[key]) > 3}
    clear |= {value for obj in written for value in (obj.get("metadata") or {}).values()
              if isinstance(value, str) and len(value) > 3}
    assert clear, "the simulator should carry names or instructions to redact"
    leaked = sorted(value for value in clear if json.dumps(value, ensure_ascii=False)[1:-1] in text)
    assert leaked == []
    rows = [json.loads(line) for line in text.splitlines()]
    agents = [row for row in rows if row["table"] == "agents"]
    assert {row["id"] for row in agents} == {a["id"] for a in mistral_sim.data.agents}  # ids kept
    assert all(row["model"] == a["model"] for row, a in zip(sorted(agents, key=lambda r: r["id"]),
                                                            sorted(mistral_sim.data.agents, key=lambda a: a["id"])))


def test_a_row_postgres_refuses_is_one_clean_error(store):
    import pytest

    from magent.core.errors import MagentError
    from magent.core.export_plan import ExportBatch
    from magent.services.store.checkpoints import RunCounts
    from magent.workflows.export.sinks import PostgresSink

    sink = PostgresSink(store)
    sink.begin(None)
    conversation = {"id": "conv_nul", "agent_id": None, "model": "m", "name": "x", "description": None,
                    "instructions": None, "created_at": None, "updated_at": None, "metadata": None, "extra": None}
    entry = {"id": "e1", "conversation_id": "conv_nul", "position": 0, "type": "message.input", "role": "user",
             "content": "nul \x00 byte", "content_json": None, "token_count": 1, "token_count_method": "counted",
             "prompt_tokens": None, "created_at": None, "completed_at": None, "agent_id": None, "model": "m",
             "tool_name": None, "tool_call_id": None, "parent_entry_id": None, "metadata": None}
    try:
        with pytest.raises(MagentError) as raised:
            sink.write(ExportBatch(conversations=[conversation], entries=[entry]))
    finally:
        sink.finish("failed", RunCounts(0, 0, 0, 0, 0), None)
    error = raised.value
    assert error.exit_code == 4 and "\n" not in error.message
    assert "refused a batch of 1 conversations (from conv_nul)" in error.message


HOLD_TARGET = """
import sys, time
from magent.workflows.export.sinks import CsvSink, JsonlSink
sink = (JsonlSink if sys.argv[1] == "jsonl" else CsvSink)(sys.argv[2])
sink.begin(None)
print("holding", flush=True)
time.sleep(60)
"""


def test_two_file_exports_to_one_target_never_share_it(mistral_sim, tmp_path):
    import subprocess
    import sys

    import pytest

    from magent.core.errors import ConfigError
    from magent.workflows.export.sinks import CsvSink

    for kind, target, sink_class in (("jsonl", tmp_path / "x.jsonl", JsonlSink), ("csv", tmp_path / "csv", CsvSink)):
        holder = subprocess.Popen([sys.executable, "-c", HOLD_TARGET, kind, str(target)], stdout=subprocess.PIPE,
                                  text=True)
        try:
            assert holder.stdout.readline().strip() == "holding"
            with pytest.raises(ConfigError) as raised:
                export(mistral_sim, sink_class(str(target)))
            assert raised.value.exit_code == 2
            assert f"is being written by another export (pid {holder.pid})" in raised.value.message
        finally:
            holder.kill()
            holder.wait()
        assert export(mistral_sim, sink_class(str(target))).status == "succeeded"  # free again once it died
    assert sorted(p.name for p in tmp_path.rglob("*.partial")) == []  # the killed holders' partials removed
