"""§1.6: a deploy that dies once its outcome is recorded never blocks the next deploy with its Lease."""

from __future__ import annotations

import subprocess

from fixtures.deploy import cluster, web  # noqa: F401 - fixtures
from fixtures.deploy_process import DeployProcess

from magent.core.canary import CanaryState, Phase

QUICK = ("--steps", "50", "--pause", "0s", "--interval", "1s")


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _connect(web):  # noqa: F811
    from magent.core.config import KubeSettings
    from magent.services.kube.client import connect

    return connect(KubeSettings(kubeconfig=str(web.kubeconfig)))


def test_lease_of_a_dead_process_on_this_host_does_not_block_the_next_deploy(cli, web):  # noqa: F811
    """What a deploy killed between its final state write and its lease release used to leave behind."""
    from magent.services.kube import deployments as kd
    from magent.services.kube import lease as kl

    dead = f"{kl.identity().rpartition(' ')[0]} {_dead_pid()}"
    with _connect(web) as kube:
        kd.write_state(kube, "web", CanaryState(deploy_id="d-done", image="app:v0", previous_image="app:v1",
                                                container="app", weights=[10, 50], phase=Phase.ABORTED, holder=dead))
        kl.acquire(kube, "web", dead, 600)
    result = cli("deploy", "app:v2", "-d", "web", *QUICK, "--yes")
    assert result.exit_code == 0, result.stderr
    assert web.image() == "app:v2" and web.lease() is None


def test_lease_of_another_host_still_blocks(cli, web):  # noqa: F811
    from magent.services.kube import lease as kl

    with _connect(web) as kube:
        kl.acquire(kube, "web", f"ci@elsewhere-{_dead_pid()} {_dead_pid()}", 600)
    result = cli("deploy", "app:v2", "-d", "web", *QUICK, "--yes")
    assert result.exit_code == 4 and "is being deployed by ci@elsewhere" in result.stderr
    assert web.deployment("web-canary") is None


def test_the_final_state_write_releases_the_lease(web):  # noqa: F811
    """By the time `promoted` / `aborted` is reported, the lock is already gone."""
    from magent.core.config import Settings
    from magent.services.targets.kubernetes import KubernetesTarget
    from magent.workflows.deploy.driver import Deployer, DeployOptions

    leases: dict[str, object] = {}

    def on_event(record: dict) -> None:
        if record["event"] in ("promoted", "aborted"):
            leases[record["event"]] = web.lease()

    settings = Settings()
    with _connect(web) as kube:
        for image in ("app:v2", "app:v3-crashloop"):
            options = DeployOptions(deployment="web", image=image, weights=[50], pause_s=0.0, interval_s=1.0,
                                    max_inconclusive=3)
            deployer = Deployer(KubernetesTarget(kube, "web"), settings, options, on_event=on_event)
            deployer.run(deployer.prepare())
    assert leases == {"promoted": None, "aborted": None}


def test_deploy_killed_right_after_its_outcome_then_deploy_again_at_once(cli, web):  # noqa: F811
    with DeployProcess("app:v2", "-d", "web", *QUICK) as first:
        first.kill_after("promoted")
    again = cli("deploy", "app:v3", "-d", "web", *QUICK, "--yes")
    assert again.exit_code == 0, again.stderr
    assert web.image() == "app:v3" and web.lease() is None
