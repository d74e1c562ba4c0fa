"""The official SDK's own examples (tests/data/mistral/sdk_examples, copied unchanged) run against the simulator.

Each runs in this process through the installed SDK: `MISTRAL_API_KEY` is set and `Mistral(...)` defaults to the
simulator's URL, since the examples build their client without `server_url`.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import jsonschema
import pytest
from fixtures.mistral import SIM_API_KEY

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "mistral" / "sdk_examples"
# The schema structured_outputs_with_json_schema.py sends; structured_outputs.py sends the same, from pydantic.
MATH_DEMONSTRATION = {
    "type": "object", "required": ["steps", "final_answer"], "additionalProperties": False,
    "properties": {
        "final_answer": {"type": "string"},
        "steps": {"type": "array", "items": {
            "type": "object", "required": ["explanation", "output"], "additionalProperties": False,
            "properties": {"explanation": {"type": "string"}, "output": {"type": "string"}}}},
    },
}


@pytest.fixture
def run_example(mistral_sim, monkeypatch, capsys):
    import mistralai.client
    from mistralai.client import Mistral

    class SimulatorMistral(Mistral):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("server_url", mistral_sim.url)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(mistralai.client, "Mistral", SimulatorMistral)
    monkeypatch.setenv("MISTRAL_API_KEY", SIM_API_KEY)

    def run(name: str) -> str:
        runpy.run_path(str(EXAMPLES / f"{name}.py.txt"), run_name="__main__")
        return capsys.readouterr().out

    return run


def json_documents(text: str) -> list:
    """Every JSON object printed in `text`, in order."""
    decoder, found, at = json.JSONDecoder(), [], text.find("{")
    while at != -1:
        try:
            value, end = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            at = text.find("{", at + 1)
            continue
        found.append(value)
        at = text.find("{", end)
    return found


def test_chat_no_streaming_with_mistral_tiny(run_example):
    assert run_example("chat_no_streaming").strip()


def test_json_format_answers_a_json_object(run_example):
    printed = run_example("json_format").strip()
    assert isinstance(json.loads(printed), dict)


def test_structured_outputs_with_json_schema_plain_and_streamed(run_example):
    documents = json_documents(run_example("structured_outputs_with_json_schema"))
    assert len(documents) == 2  # .complete, then .stream
    for document in documents:
        jsonschema.validate(document, MATH_DEMONSTRATION)


def test_structured_outputs_parsed_into_pydantic(run_example):
    printed = run_example("structured_outputs")
    assert "steps=[Explanation(explanation=" in printed and "final_answer=" in printed
    (streamed,) = json_documents(printed.split("parse_stream", 1)[1])
    jsonschema.validate(streamed, MATH_DEMONSTRATION)


def test_function_calling_round_trip(run_example):
    printed = run_example("function_calling")
    assert "calling function_name: retrieve_payment_status, with function_params: {'transaction_id': " in printed
    answer = printed.rstrip().splitlines()[-1]  # what the model says once it has the tool's result
    assert answer and not answer.startswith("[")
