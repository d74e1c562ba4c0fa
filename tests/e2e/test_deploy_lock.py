"""Two deploys of one Deployment never interleave; `magent rollback` stops a deploy that is running."""

from __future__ import annotations

import signal

import pytest
from fixtures.deploy import cluster, wait_for, web  # noqa: F401 - fixtures
from fixtures.deploy_process import DeployProcess


def test_second_deploy_is_refused_naming_the_holder_then_rollback_stops_the_first(cli, web):  # noqa: F811
    with DeployProcess("app:v2", "-d", "web", "--pause", "60s", "--interval", "1s") as first:
        first.wait_event("canary_scaled", 10)
        second = cli("deploy", "app:v3", "-d", "web", "--yes")
        assert second.exit_code == 4
        assert f" {first.process.pid} (lease magent-deploy-web" in second.stderr
        assert "magent rollback --deployment web" in second.stderr
        assert web.image("web-canary") == "app:v2"  # the refused deploy touched nothing

        rollback = cli("rollback", "-d", "web", "--reason", "wrong build", "--yes")
        assert rollback.exit_code == 0, rollback.stderr
        assert first.wait_exit(timeout=20) == 1
    assert first.events[-1]["event"] == "preempted"
    assert "wrong build" in first.events[-1]["reason"]
    assert web.image() == "app:v1" and web.deployment("web-canary") is None and web.lease() is None
    assert web.state().phase.value == "aborted"


def test_two_deploys_started_together_one_is_refused(web):  # noqa: F811
    with DeployProcess("app:v2", "-d", "web", "--steps", "50", "--pause", "0.3s", "--interval", "1s") as one, \
            DeployProcess("app:v3", "-d", "web", "--steps", "50", "--pause", "0.3s", "--interval", "1s") as two:
        codes = sorted([one.wait_exit(timeout=60), two.wait_exit(timeout=60)])
    assert codes == [0, 4]
    refused = one if one.process.returncode == 4 else two
    assert "is being deployed by" in refused.stderr
    assert not refused.events or refused.events[0]["event"] != "started"
    winner = two if refused is one else one
    assert web.image() == winner.args[1] and web.lease() is None


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupt_takes_the_canary_down_then_exits_130(web, signum):  # noqa: F811
    with DeployProcess("app:v2", "-d", "web", "--pause", "60s", "--interval", "1s") as deploy:
        deploy.wait_event("canary_scaled", 10)
        deploy.process.send_signal(signum)
        assert deploy.wait_exit(timeout=20) == 130
    kinds = [e["event"] for e in deploy.events]
    assert kinds[-2:] == ["canary_scaled_to_zero", "aborted"]
    assert "interrupted" in deploy.events[-1]["reason"]
    assert web.deployment("web-canary") is None and web.lease() is None
    assert web.image() == "app:v1" and web.state().phase.value == "aborted"
    assert "the canary was scaled to zero" in deploy.stderr
