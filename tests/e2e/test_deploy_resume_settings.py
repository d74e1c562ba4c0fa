"""§1.5: `deploy --resume` walks on with the interrupted deploy's --steps/--pause/--interval/--max-inconclusive;
flags given again override them, and where each setting comes from is said on stderr."""

from __future__ import annotations

from pathlib import Path

from fixtures.deploy import cluster, web  # noqa: F401 - fixtures
from fixtures.deploy_process import DeployProcess

from magent.core.canary import CanaryState, Phase

# the configuration differs from what the interrupted deploy was started with: a resume must not use it
CONFIG = "deploy:\n  steps: [20]\n  pause: 0s\n  interval: 2s\n  max_inconclusive: 5\n"


def test_resume_keeps_the_interrupted_deploys_settings_and_says_which_flags_override(cli, web):  # noqa: F811
    Path("magent.yaml").write_text(CONFIG)
    with DeployProcess("app:v2", "-d", "web", "--steps", "10,50", "--pause", "0.8s", "--interval", "1s",
                       "--max-inconclusive", "2") as first:
        first.kill_after("canary_scaled", 10)
    assert (web.state().pause_s, web.state().interval_s, web.state().max_inconclusive) == (0.8, 1.0, 2)

    result = cli("deploy", "-d", "web", "--resume", "--pause", "0s", "--yes", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert ("Resuming with --steps 10,50, --interval 1s, --max-inconclusive 2 from the interrupted deploy; "
            "--pause 0s from the command line.") in result.stderr
    assert '"event":"resumed"' in result.stdout and '"weight":50' in result.stdout  # the steps 10,50, not [20]
    final = web.state()
    assert final.phase is Phase.PROMOTED and web.image() == "app:v2"
    assert (final.weights, final.pause_s, final.interval_s, final.max_inconclusive) == ([10, 50], 0.0, 1.0, 2)


def _plant_unfinished_without_settings(web) -> None:  # noqa: F811
    """A deploy recorded by a magent that did not keep its settings, whose process is gone (no lease)."""
    from magent.core.canary_manifest import canary_manifest
    from magent.core.config import KubeSettings
    from magent.services.kube import deployments as kd
    from magent.services.kube.client import connect

    with connect(KubeSettings(kubeconfig=str(web.kubeconfig))) as kube:
        stable = kd.get_deployment(kube, "web")
        kd.ensure_canary(kube, canary_manifest(stable.raw, image="app:v2", container="app", replicas=1,
                                               deploy_id="d-old"))
        kd.write_state(kube, "web", CanaryState(deploy_id="d-old", image="app:v2", previous_image="app:v1",
                                                container="app", weights=[10, 50], phase=Phase.ANALYSING,
                                                holder="ci@runner-7 4242"))


def test_resume_cannot_change_the_steps_half_way_and_old_states_fall_back_to_the_config(cli, web):  # noqa: F811
    Path("magent.yaml").write_text(CONFIG.replace("interval: 2s", "interval: 1s"))
    _plant_unfinished_without_settings(web)
    refused = cli("deploy", "-d", "web", "--resume", "--steps", "10,25", "--yes")
    assert refused.exit_code == 2
    assert "--steps cannot change them half-way" in refused.stderr and "Traceback" not in refused.stderr
    assert web.state().phase is Phase.ANALYSING  # nothing was applied

    result = cli("deploy", "-d", "web", "--resume", "--steps", "10,50", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "--steps 10,50 from the interrupted deploy" in result.stderr
    assert ("--pause 0s, --interval 1s, --max-inconclusive 5 from the configuration "
            "(not recorded by the interrupted deploy)") in result.stderr
    assert web.state().phase is Phase.PROMOTED


def test_an_unreadable_setting_in_the_state_is_exit_4_not_a_traceback(cli, web):  # noqa: F811
    deployment = web.deployment()
    state = CanaryState(deploy_id="d-x", image="app:v2", previous_image="app:v1", container="app",
                        weights=[10], phase=Phase.ANALYSING, interval_s=1.0)
    text = state.to_json().replace('"interval_s":1.0', '"interval_s":"soon"')
    deployment["metadata"]["annotations"]["magent.dev/canary-state"] = text
    web.sim.update(deployment)
    result = cli("deploy", "-d", "web", "--resume", "--yes")
    assert result.exit_code == 4 and "interval_s must be a number" in result.stderr
