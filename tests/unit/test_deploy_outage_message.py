"""The message a deploy leaves when the platform's API stays down names that platform and its own flags."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from magent.core.canary import CanaryState, Phase
from magent.core.errors import Unreachable
from magent.workflows.deploy.driver import Deployer


def _outage(kind: str, scope: str, name: str):
    state = CanaryState(deploy_id="d-1", image="reg/agent:2", previous_image="reg/agent:1", container="agent",
                        weights=[10, 50], phase=Phase.ANALYSING, step=0, holder="ci@runner 1", pause_s=0.0,
                        interval_s=1.0, max_inconclusive=3)
    deployer = SimpleNamespace(target=SimpleNamespace(kind=kind, scope=scope),
                               options=SimpleNamespace(deployment=name))
    return Deployer._outage(deployer, state, 2, Unreachable("connection refused"), 45.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kind", "api", "units", "flags", "wrong"), [
    ("kubernetes", "the Kubernetes API", "2 pods", "--deployment agent", "--service"),
    ("ecs", "the ECS API", "2 tasks", "--target ecs --cluster prod --service agent", "--deployment"),
])
def test_the_outage_names_the_platform_and_the_commands_that_select_it_again(kind, api, units, flags, wrong):
    error = _outage(kind, "prod", "agent")
    assert error.message.startswith(f"{api} did not answer for 45s")
    assert units in error.message and "step 1/2 (10%) of deploy d-1" in error.message
    assert f"`magent rollback {flags}`" in error.hint and f"`magent status {flags}`" in error.hint
    assert wrong not in error.hint
