"""A deploy process killed (SIGKILL) at each step boundary leaves a state that `--resume` finishes and
`magent rollback` undoes, both consistently; and a new deploy is refused until one of them ran."""

from __future__ import annotations

import pytest
from fixtures.deploy import cluster, web  # noqa: F401 - fixtures
from fixtures.deploy_process import DeployProcess

LONG_PAUSE = ("--pause", "0.8s", "--interval", "1s")


def _assert_promoted(web):  # noqa: F811
    assert web.image() == "app:v2" and web.ready()
    assert web.deployment("web-canary") is None and web.lease() is None
    assert web.state().phase.value == "promoted"


def _assert_rolled_back(web):  # noqa: F811
    assert web.image() == "app:v1" and web.ready()
    assert web.deployment("web-canary") is None and web.lease() is None
    assert web.state().phase.value == "aborted"


# (event, weight or None): where the first process is killed
BOUNDARIES = [
    ("started", None),
    ("canary_scaled", 10),
    ("step_passed", 10),
    ("canary_scaled", 50),
    ("promoting", None),
]


@pytest.mark.parametrize(("kind", "weight"), BOUNDARIES, ids=[f"{k}-{w}" for k, w in BOUNDARIES])
def test_killed_deploy_is_resumed_to_a_promotion(cli, web, kind, weight):  # noqa: F811
    with DeployProcess("app:v2", "-d", "web", *LONG_PAUSE) as first:
        first.kill_after(kind, weight)
    refused = cli("deploy", "app:v3", "-d", "web", "--yes")
    assert refused.exit_code == 4 and "--resume" in refused.stderr
    result = cli("deploy", "-d", "web", "--resume", "--pause", "0.2s", "--interval", "1s", "--yes")
    assert result.exit_code == 0, result.stderr
    _assert_promoted(web)


@pytest.mark.parametrize(("kind", "weight"), [("canary_scaled", 10), ("promoting", None), ("rollout", None)])
def test_killed_deploy_is_rolled_back(cli, web, kind, weight):  # noqa: F811
    """Killed during a step, just as the promotion starts, or once the stable was set to app:v2 (undone)."""
    with DeployProcess("app:v2", "-d", "web", *LONG_PAUSE) as first:
        first.kill_after(kind, weight)
    result = cli("rollback", "-d", "web", "--reason", "runner died", "--yes")
    assert result.exit_code == 0, result.stderr
    _assert_rolled_back(web)
    assert "runner died" in web.state().reason
    assert cli("deploy", "app:v3", "-d", "web", "--dry-run").exit_code == 0  # nothing blocks the next deploy


def test_abort_cut_short_is_completed_by_resume(cli, web):  # noqa: F811
    """Killed between the canary's scale to zero and the record of the abort: --resume completes the abort."""
    with DeployProcess("app:v2", "-d", "web", *LONG_PAUSE) as first:
        first.kill_after("canary_scaled", 10)
    canary = web.deployment("web-canary")
    canary["spec"]["replicas"] = 0  # the abort's first action, and the last one the dead process made
    web.sim.update(canary)
    result = cli("deploy", "-d", "web", "--resume", "--yes", "-o", "json")
    assert result.exit_code == 1
    kinds = [line.split('"event":"')[1].split('"')[0] for line in result.stdout.splitlines()]
    assert kinds == ["resumed", "canary_scaled_to_zero", "aborted"]
    assert web.image() == "app:v1" and web.deployment("web-canary") is None
    assert web.state().phase.value == "aborted" and web.lease() is None
