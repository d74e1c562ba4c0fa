"""The rotation workflow and every failure branch, with real adapters: moto server, the Kubernetes simulator,
the Mistral simulator and an app whose pods read the secret at start (fixtures.keyapp)."""

from __future__ import annotations

import json
import threading

import pytest
from fixtures.keyapp import NEW_KEY, OLD_KEY, World
from fixtures.kube import wait_until

from magent.core.errors import (
    EXIT_CHECK_FAILED,
    EXIT_INCONSISTENT,
    EXIT_INTERRUPTED,
    EXIT_UNREACHABLE,
    InconsistentState,
)
from magent.core.rotation import SecretRef
from magent.sandbox.mistral import KeySpec
from magent.services.app_health import HealthEndpoint
from magent.services.aws.versions import SecretVersions
from magent.services.kube.client import connect
from magent.services.kube.restart import Restarter
from magent.services.mistral.verify import key_verifier
from magent.workflows.rotate import Adapters, Rotation, RotationFailed, prepare

THIRD_KEY = "ThirdK3yaB2cD3eF4gH5iJ6kL7mN8oP9"  # magent:allow (a throwaway)


@pytest.fixture
def world(kube_sim, kube_namespace, kubeconfig, moto_server, make_mistral_sim):
    mistral = make_mistral_sim(keys=[KeySpec(OLD_KEY), KeySpec(NEW_KEY), KeySpec(THIRD_KEY)])
    return World(kube_sim=kube_sim, namespace=kube_namespace, kubeconfig=kubeconfig, moto_url=moto_server,
                 mistral=mistral, progress_deadline=1)


def adapters(world, *, health_url=None, mistral_url=None, moto_url=None, rollout_timeout=20.0, verify=None):
    from magent.core.config import KubeSettings

    kube = connect(KubeSettings(kubeconfig=str(world.kubeconfig)))
    real_verify = key_verifier(mistral_url or world.mistral.url, models=[], spend=False, timeout_s=5,
                                   intentional_aliases=[], source="env:NEW")
    return Adapters(
        secrets=SecretVersions(world.secret_id, region="us-east-1", endpoint_url=moto_url or world.moto_url),
        verify=verify or real_verify,
        restarter=Restarter(kube, world.deployment, timeout_s=rollout_timeout, poll_s=0.05),
        health=HealthEndpoint(health_url, timeout_s=2.0, poll_s=0.1) if health_url else None)


def rotate(world, new_key=NEW_KEY, **options):
    events = []
    the_adapters = adapters(world, **options)
    plan = prepare(the_adapters, SecretRef(world.secret_id, "api_key"), new_key, new_key_from="env:NEW",
                   health_url=the_adapters.health.url if the_adapters.health else None)
    return Rotation(the_adapters, plan, on_event=events.append), events


def failure(world, **options) -> RotationFailed:
    rotation, events = rotate(world, **options)
    with pytest.raises(RotationFailed) as caught:
        rotation.run()
    text = json.dumps(events) + json.dumps(caught.value.result) + caught.value.message + (caught.value.hint or "")
    assert OLD_KEY not in text and NEW_KEY not in text
    return caught.value


def test_a_failed_rollout_puts_the_old_key_back_and_restarts_again(world, kube_sim):
    kube_sim.set_ready_delay(60)  # the restarted pods never become ready: the 1 s progress deadline passes

    def heal_once_rolled_back():  # the rollback's own restart must roll out: pods get ready again then
        wait_until(lambda: world.holder("AWSCURRENT") == world.original_version
                   and world.holder("AWSPREVIOUS") is None and world.restarted_at(), 30)
        kube_sim.set_ready_delay(0.2)

    helper = threading.Thread(target=heal_once_rolled_back, daemon=True)
    helper.start()
    error = failure(world)
    helper.join(5)
    assert error.exit_code == EXIT_CHECK_FAILED
    assert "exceeded its progress deadline" in error.message and "rolled back" in error.message
    steps = {s["step"]: s["status"] for s in error.result["steps"]}
    assert steps == {"pending": "done", "verified": "done", "promoted": "done", "restarted": "done",
                     "rolled_out": "failed", "undo_promoted": "undone", "undo_pending": "undone",
                     "undo_restarted": "undone"}
    assert json.loads(world.current())["api_key"] == OLD_KEY
    stages = world.stages()
    assert stages[world.original_version] == ["AWSCURRENT"] and not stages.get(error.result["versions"]["new"])
    world.wait_rolled_out()


def test_an_unhealthy_app_rolls_back_and_restores_awsprevious(world):
    first, _ = rotate(world)  # a first rotation: AWSPREVIOUS now holds the original key
    first.run()
    new_version = world.holder("AWSCURRENT")
    world.app.broken = True
    with world.app.serve() as health:
        error = failure(world, new_key=THIRD_KEY, health_url=health)
    assert error.exit_code == EXIT_CHECK_FAILED and "did not come back healthy" in error.message
    assert world.holder("AWSCURRENT") == new_version and world.holder("AWSPREVIOUS") == world.original_version
    assert world.holder("AWSPENDING") is None


def test_mistral_unreachable_during_verification_exits_3_with_nothing_left(world):
    before = world.restarted_at()
    error = failure(world, mistral_url="http://127.0.0.1:9")
    assert error.exit_code == EXIT_UNREACHABLE
    assert world.holder("AWSCURRENT") == world.original_version and world.holder("AWSPENDING") is None
    assert world.restarted_at() == before
    assert [s["step"] for s in error.result["steps"]] == ["pending", "verified", "undo_pending"]


def test_interrupted_mid_way_rolls_back_and_exits_130(world):
    def interrupted(key):
        raise KeyboardInterrupt

    error = failure(world, verify=interrupted)
    assert error.exit_code == EXIT_INTERRUPTED
    assert world.holder("AWSPENDING") is None and world.holder("AWSCURRENT") == world.original_version


def test_a_rollback_that_cannot_restart_exits_4_with_the_state_and_commands(world, kube_sim):
    world.app.broken = True

    def deny_patches_after_the_restart():
        wait_until(world.restarted_at, 30)
        kube_sim.deny("patch", "deployments", group="apps")

    helper = threading.Thread(target=deny_patches_after_the_restart, daemon=True)
    helper.start()
    with world.app.serve() as health:
        error = failure(world, health_url=health)
    helper.join(5)
    assert error.exit_code == EXIT_INCONSISTENT and "rollback could not finish" in error.message
    assert world.holder("AWSCURRENT") == world.original_version  # the secret part of the rollback worked
    state = "\n".join(error.result["state"])
    assert "the old key" in state and "NOT restarted on the old one" in state
    restart = f"kubectl rollout restart deployment/agent -n {world.namespace} --context magent-sandbox"
    assert restart in error.result["fix"]
    assert not any("update-secret-version-stage" in command for command in error.result["fix"])  # AWS was undone


def test_aws_gone_during_the_rollback_exits_4_and_names_the_label_to_remove(world, make_mistral_sim):
    from moto.server import ThreadedMotoServer

    private = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)  # a second door to the same backend
    private.start()
    host, port = private.get_host_and_port()
    url = f"http://{host}:{port}"
    refusing = key_verifier(make_mistral_sim(keys=[KeySpec(OLD_KEY)]).url, models=[], spend=False, timeout_s=5,
                                intentional_aliases=[], source="env:NEW")

    def verify_then_lose_aws(key):
        private.stop()
        return refusing(key)

    error = failure(world, moto_url=url, verify=verify_then_lose_aws)
    assert error.exit_code == EXIT_INCONSISTENT
    assert world.holder("AWSPENDING") == error.result["versions"]["new"]  # left as the message says
    assert any("--version-stage AWSPENDING --remove-from-version-id" in command for command in error.result["fix"])
    assert "state unknown" in error.result["state"][0]
    assert not any("kubectl" in command for command in error.result["fix"])  # nothing was restarted


def test_a_pending_version_left_by_another_rotation_is_refused_before_any_change(world):
    world.client.put_secret_value(SecretId=world.secret_id, SecretString=json.dumps({"api_key": THIRD_KEY}),
                                  VersionStages=["AWSPENDING"])
    stages = world.stages()
    with pytest.raises(InconsistentState, match="AWSPENDING"):
        rotate(world)
    assert world.stages() == stages


def test_a_failed_cleanup_is_a_warning_not_a_rollback(world):
    from moto.server import ThreadedMotoServer

    private = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    private.start()
    host, port = private.get_host_and_port()

    class LoseAwsOnceHealthy:  # AWS stops answering between the health check and the cleanup
        def __init__(self, real):
            self.real, self.url = real, real.url

        def wait(self):
            answer = self.real.wait()
            private.stop()
            return answer

        def probe(self):
            return self.real.probe()

    with world.app.serve() as health:
        the_adapters = adapters(world, health_url=health, moto_url=f"http://{host}:{port}")
        the_adapters.health = LoseAwsOnceHealthy(the_adapters.health)
        plan = prepare(the_adapters, SecretRef(world.secret_id, "api_key"), NEW_KEY, new_key_from="env:NEW",
                       health_url=the_adapters.health.url)
        result = Rotation(the_adapters, plan, on_event=lambda record: None).run()
    assert result["outcome"] == "rotated" and result["steps"][-1]["status"] == "warning"
    assert "AWSPENDING is still on version" in result["warnings"][0]
    assert json.loads(world.current())["api_key"] == NEW_KEY and world.holder("AWSPENDING") == plan.token
