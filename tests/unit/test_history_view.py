"""`magent history` from the store as a table: an empty trail is one line (not an empty table) naming what
--revisions lists on that target; start instants show whole seconds (-o json keeps them whole)."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest

from magent.cli.history_view import show_audit_history
from magent.cli.state import AppState, OutputFormat

RECORD = {"deploy_id": "d1", "context": None, "started_at": "2026-11-28T15:55:08.123456Z",
          "finished_at": "2026-11-28T15:57:01.654321Z", "kind": "deploy", "actor": "ana@host",
          "previous_image": "app:v1", "image": "app:v2", "outcome": "promoted", "reason": None,
          "analyses": {"count": 0, "pass": 0, "fail": 0, "inconclusive": 0, "last": None}}


class _Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def _show(monkeypatch, records, fmt=OutputFormat.table, **kwargs):
    out, err = _Pipe(), _Pipe()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr("magent.workflows.deploy.history.audit_history", lambda *args, **kw: records)
    state = AppState()
    state._settings = SimpleNamespace()
    show_audit_history(state, fmt, SimpleNamespace(namespace="prod"), "web", 20, **kwargs)
    return out.getvalue(), err.getvalue()


def test_an_empty_trail_is_one_line_and_no_empty_table(monkeypatch):
    out, err = _show(monkeypatch, [])
    assert out == ""
    assert "no deploy or rollback of web in prod is recorded in the store yet" in err
    assert "the Deployment's revisions" in err


def test_on_ecs_the_empty_trail_names_the_task_definition_family(monkeypatch):
    _, err = _show(monkeypatch, [], revisions_of="the revisions of the service's task definition family")
    assert "task definition family" in err and "Deployment" not in err


@pytest.mark.parametrize("fmt", [OutputFormat.json, OutputFormat.yaml])
def test_an_empty_trail_still_prints_an_empty_list_for_machines(monkeypatch, fmt):
    out, _ = _show(monkeypatch, [], fmt)
    assert out.strip() == "[]"


def test_the_table_shows_whole_seconds_and_json_keeps_the_microseconds(monkeypatch):
    table, _ = _show(monkeypatch, [RECORD])
    assert "2026-11-28T15:55:08Z" in table and ".123456" not in table
    data, _ = _show(monkeypatch, [RECORD], OutputFormat.json)
    assert json.loads(data)[0]["started_at"] == "2026-11-28T15:55:08.123456Z"
