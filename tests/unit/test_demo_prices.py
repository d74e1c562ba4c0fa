"""The demo's models all have a price (so its cost is not "partial"), and `demo --serve` prints the sandbox key."""

from __future__ import annotations

import io
import types

from rich.console import Console

from magent.core.pricing import load_pricing
from magent.sandbox.mistral.models import DATA_MODELS


def test_every_model_the_simulator_generates_usage_for_has_a_shipped_price():
    table = load_pricing()
    assert [model for model in DATA_MODELS if table.lookup(model) is None] == []


def test_serve_prints_the_sandbox_test_key(monkeypatch):
    from magent.cli import demo

    def interrupt(_seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr("time.sleep", interrupt)
    monkeypatch.setattr("signal.signal", lambda *args: None)
    buffer = io.StringIO()
    state = types.SimpleNamespace(err=Console(file=buffer, width=200))
    stack = types.SimpleNamespace(env={"MISTRAL_API_KEY": "sim-test-key-123", "MAGENT_MISTRAL_BASE_URL": "http://x"})
    demo._serve_until_interrupted(state, stack)
    assert "MISTRAL_API_KEY=sim-test-key-123" in buffer.getvalue()
