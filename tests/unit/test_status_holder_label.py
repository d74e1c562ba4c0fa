"""`magent status`: the deploy's holder reads as a live lock only while the deploy runs; a finished deploy shows
who last ran it."""

from __future__ import annotations

import pytest
from rich.console import Console

from magent.cli.rollout import _status_table


def _data(in_progress: bool, phase: str) -> dict:
    return {"namespace": "prod", "deployment": "web", "images": ["app:v2"], "revision": 3, "rollout": "complete",
            "paused": False, "canary": None, "lock": None,
            "replicas": {"ready": 2, "desired": 2, "updated": 2, "available": 2},
            "deploy": {"deploy_id": "d1", "phase": phase, "previous_image": "app:v1", "image": "app:v2",
                       "weights": [10, 50, 100], "weight": None, "step": 3, "started_at": "2026-11-28T15:00:00Z",
                       "updated_at": "2026-11-28T15:05:00Z", "last_analysis": None, "holder": "ana@host 42",
                       "in_progress": in_progress, "reason": None}}


def _rendered(data: dict) -> list[str]:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(_status_table(data))
    return console.export_text().splitlines()


@pytest.mark.parametrize("phase", ["promoted", "aborted"])
def test_a_finished_deploy_shows_who_last_ran_it_not_a_holder(phase):
    lines = _rendered(_data(False, phase))
    assert any("last run by" in line and "ana@host 42" in line for line in lines), lines
    assert not any(line.strip().startswith("holder") for line in lines)


def test_a_running_deploy_shows_its_holder():
    lines = _rendered(_data(True, "analysing"))
    assert any("holder" in line and "ana@host 42" in line for line in lines), lines
    assert not any("last run by" in line for line in lines)
