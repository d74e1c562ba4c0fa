"""`wait_rollout_watching` (what `magent rollback` waits with) against the simulator: it ends when the rollout
does, not a poll later; it polls when watches are refused; its deadline holds while a watch is open."""

from __future__ import annotations

import time

import pytest
from fixtures.deploy import cluster, web  # noqa: F401 - fixtures

from magent.core.config import KubeSettings
from magent.core.errors import InconsistentState
from magent.core.rollout import RolloutFailed
from magent.services.kube import deployments as kd
from magent.services.kube.client import connect
from magent.services.kube.rollout_watch import wait_rollout_watching

SLOW_POLL_S = 5.0  # a poll this slow would be seen: the rollouts here take well under a second


@pytest.fixture
def kube(cluster):  # noqa: F811
    with connect(KubeSettings(kubeconfig=str(cluster.kubeconfig))) as client:
        yield client


def _set_image(web, kube, image: str) -> None:  # noqa: F811
    kd.set_image(kube, kd.get_deployment(kube, "web"), "app", image, "test")


def test_the_wait_ends_with_the_rollout_not_a_poll_later(web, kube):  # noqa: F811
    _set_image(web, kube, "app:v2")
    started = time.monotonic()
    status = wait_rollout_watching(kube, "web", timeout_s=20, poll_s=SLOW_POLL_S)
    assert status.done and status.message == 'deployment "web" successfully rolled out'
    assert web.ready() and web.image() == "app:v2"
    assert time.monotonic() - started < SLOW_POLL_S / 2


def test_a_refused_watch_falls_back_to_polling(web, kube):  # noqa: F811
    web.sim.deny("watch", "deployments", group="apps", namespace=web.namespace)
    try:
        _set_image(web, kube, "app:v2")
        status = wait_rollout_watching(kube, "web", timeout_s=20, poll_s=0.05)
    finally:
        web.sim.allow_all()
    assert status.done and web.ready() and web.image() == "app:v2"


def test_the_deadline_holds_while_a_watch_is_open(web, kube):  # noqa: F811
    _set_image(web, kube, "app:v2-unready")
    started = time.monotonic()
    with pytest.raises(InconsistentState, match="timed out after 1s waiting for deployment web"):
        wait_rollout_watching(kube, "web", timeout_s=1, poll_s=SLOW_POLL_S)
    assert time.monotonic() - started < 4


def test_a_progress_deadline_seen_on_the_watch_fails_the_wait(web, kube):  # noqa: F811
    deployment = web.deployment()
    deployment["spec"]["progressDeadlineSeconds"] = 1
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "app:v2-unready"
    web.sim.update(deployment)
    with pytest.raises(RolloutFailed, match="exceeded its progress deadline"):
        wait_rollout_watching(kube, "web", timeout_s=20, poll_s=SLOW_POLL_S)
