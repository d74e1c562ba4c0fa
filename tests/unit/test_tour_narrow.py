"""Tables read in a narrow terminal (found trying magent in a 60-column tmux pane)."""

from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console


def _report() -> dict:
    names = ["mistral", "kubernetes", "agent-app", "aws", "ecs", "prometheus", "postgres"]
    components = [{"name": name, "url": f"http://127.0.0.1:{35000 + i}", "healthy": True, "detail": "HTTP 200 in 9 ms",
                   "note": None} for i, name in enumerate(names)]
    components[-1]["url"] = "postgresql://postgres:@/postgres?host=/tmp/tour-sandbox/data/postgres"
    return {"dir": "/tmp/tour-sandbox", "state": "running", "pid": 4960, "uptime_s": 12.0, "components": components}


def test_sandbox_status_in_a_60_column_terminal_keeps_component_and_health_readable():
    # the url column took the whole width: components cut to "ku…", health and detail squeezed to nothing
    from magent.cli.sandbox_stack import _status_table

    state = SimpleNamespace(out=Console(width=60, file=io.StringIO()))
    buffer = io.StringIO()
    Console(width=60, file=buffer, color_system=None).print(_status_table(state, _report()))
    text = buffer.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 60
    for name in ("kubernetes", "agent-app", "prometheus", "postgres"):
        assert any(line.startswith(f"│ {name} ") for line in text.splitlines()), text
    assert text.count(" ok ") == 7, text


def test_ctrl_c_in_status_watch_says_the_deploy_goes_on(monkeypatch, capsys):
    # Ctrl-C printed a bare "magent: interrupted": a person watching from another terminal must know that only the
    # watching stopped, and what the deploy was doing
    import pytest

    from magent.cli import status_watch
    from magent.cli.state import OutputFormat
    from magent.core.errors import Interrupted

    monkeypatch.setattr(status_watch, "POLL_INTERVAL_S", 0.0)
    rolling = {"namespace": "shop", "deployment": "agent", "images": ["app:v2"], "replicas": {"ready": 3, "desired": 4},
               "rollout_done": False, "rollout": "Waiting for deployment \"agent\" rollout to finish"}
    polls = iter([rolling])

    def poll() -> dict:
        try:
            return next(polls)
        except StopIteration:
            raise KeyboardInterrupt from None

    state = SimpleNamespace(out=Console(file=io.StringIO()), err=Console(file=io.StringIO()))
    with pytest.raises(Interrupted) as stopped:
        status_watch.follow(state, OutputFormat.table, poll, table=lambda data: "", timeout_s=None)
    assert stopped.value.exit_code == 130
    assert str(stopped.value).startswith("stopped watching; last seen: shop/agent; stable app:v2 3/4 ready")
    assert "the deploy goes on by itself" in stopped.value.hint


def test_ecs_status_shows_the_listener_weights_as_shares_of_requests():
    # the sandbox listener forwards with weights 1 / 0: `magent status --target ecs` said "stable 1%, canary 0%"
    from magent.cli.rollout_ecs import traffic_cell

    assert traffic_cell({"stable": 1, "canary": 0}) == "stable 100%, canary 0% (listener weights 1/0)"
    assert traffic_cell({"stable": 90, "canary": 10}) == "stable 90%, canary 10%"
    assert traffic_cell({"stable": 2, "canary": 1}) == "stable 66.7%, canary 33.3% (listener weights 2/1)"
    assert traffic_cell({"stable": 0, "canary": 0}) == "stable 0%, canary 0% (listener weights 0/0)"
    assert traffic_cell({"error": "listener not found"}) == "error listener not found"
