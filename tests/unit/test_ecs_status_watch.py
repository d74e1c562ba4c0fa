"""`status --watch --target ecs`: an ECS status read as the watch reads a Kubernetes one."""

from __future__ import annotations

from magent.cli.rollout_ecs import watchable
from magent.core.status_watch import watch_end, watch_line


def _status(rollout="COMPLETED", running=2, desired=2, deploy=None, lock=None):
    return {"service": "agent", "cluster": "prod", "images": ["r/agent:2"], "task_definition": "agent:3",
            "tasks": {"desired": desired, "running": running}, "rollout": rollout,
            "traffic_weights": {"stable": 100, "canary": 0}, "canary": None, "deploy": deploy, "lock": lock}


def _deploy(phase, in_progress):
    return {"deploy_id": "d1", "phase": phase, "in_progress": in_progress, "image": "r/agent:2",
            "previous_image": "r/agent:1", "weights": [10, 50], "weight": 10, "step": 1, "reason": None}


def test_a_finished_deploy_ends_the_watch_with_its_outcome():
    assert watch_end(watchable(_status(deploy=_deploy("promoted", False))), holder_gone_before=False).exit_code == 0
    assert watch_end(watchable(_status(deploy=_deploy("aborted", False))), holder_gone_before=False).exit_code == 1


def test_a_deploy_in_progress_or_a_rollout_under_way_keeps_it_going():
    live = {"holder": "ci 1", "expired": False}
    assert watch_end(watchable(_status(deploy=_deploy("analysing", True), lock=live)), holder_gone_before=True) is None
    assert watch_end(watchable(_status(rollout="IN_PROGRESS", running=1)), holder_gone_before=False) is None
    assert "prod/agent" in watch_line(watchable(_status(rollout="IN_PROGRESS", running=1)))


def test_a_failed_ecs_deployment_or_a_dead_holder_is_exit_4():
    assert watch_end(watchable(_status(rollout="FAILED", running=0)), holder_gone_before=False).exit_code == 4
    stuck = watchable(_status(deploy=_deploy("analysing", True), lock=None))
    assert watch_end(stuck, holder_gone_before=True).exit_code == 4
