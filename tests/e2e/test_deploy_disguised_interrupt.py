"""Ctrl-C that a library turned into its own exception still takes the canary down, as a plain Ctrl-C does.

pydantic's Rust schema builder, for one, returns a SIGINT that lands in a lazy import as a `SchemaError`: without
the flag in core/ctrl_c.py the deploy took that for a bug and left its canary serving traffic unwatched.
"""

from __future__ import annotations

import pytest
from fixtures.deploy import cluster, web  # noqa: F401 - fixtures

from magent.core import ctrl_c
from magent.core.errors import Interrupted


def _deployer(kube, sleep):
    from magent.core.config import Settings
    from magent.services.targets.kubernetes import KubernetesTarget
    from magent.workflows.deploy.driver import Deployer, DeployOptions

    options = DeployOptions(deployment="web", image="app:v2", weights=[50], pause_s=30.0, interval_s=1.0,
                            max_inconclusive=3)
    return Deployer(KubernetesTarget(kube, "web"), Settings(), options, on_event=lambda record: None, sleep=sleep)


@pytest.mark.parametrize("disguised", [True, False], ids=["ctrl-c-as-library-error", "plain-bug"])
def test_ctrl_c_in_disguise_aborts_the_canary_and_a_plain_bug_is_not_taken_for_one(web, disguised):  # noqa: F811
    from magent.core.config import KubeSettings
    from magent.services.kube.client import connect

    def sleep_that_is_interrupted(_seconds: float) -> None:
        if disguised:
            ctrl_c.mark_seen()  # what the SIGINT handler does before the library swallows the KeyboardInterrupt
        raise RuntimeError("SchemaError: Error building serializer: KeyboardInterrupt")

    try:
        with connect(KubeSettings(kubeconfig=str(web.kubeconfig))) as kube:
            deployer = _deployer(kube, sleep_that_is_interrupted)
            expected = Interrupted if disguised else RuntimeError
            with pytest.raises(expected) as raised:
                deployer.run(deployer.prepare())
    finally:
        ctrl_c.reset()
    if disguised:
        assert "the canary was scaled to zero and removed" in raised.value.message
        assert web.deployment("web-canary") is None and web.state().phase.value == "aborted"
    else:
        assert web.state().phase.value == "paused-for-analysis"  # a bug is shown as one; the state says where
    assert web.lease() is None and web.image() == "app:v1"
