"""The Kubernetes service layer against the simulator over HTTP: errors, canary objects, lease, state, waits."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import yaml
from fixtures.deploy import cluster, wait_for, web  # noqa: F401 - fixtures

from magent.core.canary import CanaryState, Phase
from magent.core.canary_manifest import canary_manifest
from magent.core.config import KubeSettings
from magent.core.errors import CredentialsRefused, InconsistentState, Unreachable, UsageError
from magent.core.judge import Verdict
from magent.core.redact import SECRETS
from magent.core.rollout import RolloutFailed
from magent.services.kube import deployments as kd
from magent.services.kube import lease as kl
from magent.services.kube.client import connect
from magent.services.kube.health import pod_health


@pytest.fixture
def kube(cluster):  # noqa: F811
    with connect(KubeSettings(kubeconfig=str(cluster.kubeconfig))) as client:
        yield client


def test_connect_uses_the_context_namespace_and_masks_the_token(cluster, kube):  # noqa: F811
    assert kube.namespace == cluster.namespace
    assert kube.context == "magent-sandbox"
    assert cluster.sim.token not in SECRETS.mask(f"token {cluster.sim.token}")
    assert "127.0.0.1" in kube.where() and cluster.namespace in kube.where()


def test_explicit_namespace_wins(cluster):  # noqa: F811
    with connect(KubeSettings(kubeconfig=str(cluster.kubeconfig)), namespace="other") as client:
        assert client.namespace == "other"


def test_missing_deployment_is_a_usage_error_naming_the_namespace(kube):
    with pytest.raises(UsageError) as caught:
        kd.get_deployment(kube, "nope")
    assert caught.value.message == f"deployment nope not found in namespace {kube.namespace}"
    assert caught.value.exit_code == 2


def test_refused_token_is_credentials_refused(cluster, tmp_path):  # noqa: F811
    document = yaml.safe_load(cluster.kubeconfig.read_text())
    document["users"][0]["user"]["token"] = "wrong-token-123456"
    path = tmp_path / "bad"
    path.write_text(yaml.safe_dump(document))
    with connect(KubeSettings(kubeconfig=str(path))) as client, pytest.raises(CredentialsRefused) as caught:
        kd.get_deployment(client, "web")
    assert caught.value.exit_code == 3
    assert "wrong-token-123456" not in SECRETS.mask(str(caught.value))


def test_dead_api_server_is_unreachable(cluster, tmp_path):  # noqa: F811
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    document = yaml.safe_load(cluster.kubeconfig.read_text())
    document["clusters"][0]["cluster"]["server"] = f"http://127.0.0.1:{port}"
    path = tmp_path / "dead"
    path.write_text(yaml.safe_dump(document))
    with connect(KubeSettings(kubeconfig=str(path))) as client, pytest.raises(Unreachable) as caught:
        kd.get_deployment(client, "web")
    assert caught.value.exit_code == 3


def test_missing_kubeconfig_is_a_config_error(tmp_path):
    with pytest.raises(UsageError, match="no kubeconfig"):
        connect(KubeSettings(kubeconfig=str(tmp_path / "none")))


def test_canary_runs_next_to_the_stable_and_scales_to_zero(web, kube):  # noqa: F811
    stable = kd.get_deployment(kube, "web")
    manifest = canary_manifest(stable.raw, image="app:v2", container="app", replicas=2, deploy_id="d1")
    kd.ensure_canary(kube, manifest)
    wait_for(lambda: len([p for p in web.pods("app=web,track=canary")
                          if p["spec"]["containers"][0]["image"] == "app:v2"]) == 2, what="2 canary pods")
    again = kd.ensure_canary(kube, canary_manifest(stable.raw, image="app:v2", container="app", replicas=3,
                                                   deploy_id="d1"))
    assert again.replicas == 3
    kd.scale(kube, "web-canary", 0)
    assert web.deployment("web-canary")["spec"]["replicas"] == 0
    assert web.deployment()["spec"]["replicas"] == 4  # the stable is never scaled
    assert web.deployment()["status"]["readyReplicas"] == 4
    assert kd.delete_deployment(kube, "web-canary") is True
    assert kd.delete_deployment(kube, "web-canary") is False


def test_a_foreign_deployment_named_like_the_canary_is_left_alone(web, kube):  # noqa: F811
    web.create("web-canary", image="someone:else", replicas=1)
    manifest = canary_manifest(kd.get_deployment(kube, "web").raw, image="app:v2", container="app", replicas=1,
                               deploy_id="d1")
    with pytest.raises(InconsistentState, match="not made by magent"):
        kd.ensure_canary(kube, manifest)
    assert web.image("web-canary") == "someone:else"


def test_lease_refuses_a_second_holder_and_frees_on_release(web, kube):  # noqa: F811
    kl.acquire(kube, "web", "alice@ci 1", 30)
    with pytest.raises(kl.LeaseHeld) as caught:
        kl.acquire(kube, "web", "bob@ci 2", 30)
    assert "alice@ci 1" in caught.value.message and caught.value.exit_code == 4
    kl.renew(kube, "web", "alice@ci 1")
    with pytest.raises(kl.LeaseLost):
        kl.renew(kube, "web", "bob@ci 2")
    kl.release(kube, "web", "bob@ci 2")  # not the holder: nothing happens
    assert web.lease()["spec"]["holderIdentity"] == "alice@ci 1"
    kl.release(kube, "web", "alice@ci 1")
    assert web.lease() is None
    assert kl.acquire(kube, "web", "bob@ci 2", 30).holder == "bob@ci 2"


def test_an_expired_lease_is_taken_over(web, kube):  # noqa: F811
    kl.acquire(kube, "web", "alice@ci 1", 5)
    lease = web.lease()
    lease["spec"]["renewTime"] = "2020-01-01T00:00:00.000000Z"
    web.sim.update(lease)
    assert kl.acquire(kube, "web", "bob@ci 2", 30).holder == "bob@ci 2"


def test_a_dead_process_on_this_host_is_taken_over_only_when_asked(web, kube):  # noqa: F811
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    holder = f"{kl.identity().rpartition(' ')[0]} {dead.stdout.strip()}"
    kl.acquire(kube, "web", holder, 60)
    with pytest.raises(kl.LeaseHeld):
        kl.acquire(kube, "web", kl.identity(), 60)
    assert kl.acquire(kube, "web", kl.identity(), 60, take_over_dead=True).holder == kl.identity()
    assert kl.holder_is_dead_here(f"{kl.identity().rpartition(' ')[0]} {os.getpid()}") is False


def test_state_write_is_compare_and_swap(web, kube):  # noqa: F811
    state = CanaryState(deploy_id="d1", image="app:v2", previous_image="app:v1", container="app", weights=[50],
                        phase=Phase.PROGRESSING)
    kd.write_state(kube, "web", state)
    assert web.state() == state
    assert web.deployment()["metadata"]["generation"] == 1  # an annotation never starts a rollout
    with pytest.raises(InconsistentState, match="taken"):
        kd.write_state(kube, "web", state, unless=lambda current: InconsistentState("taken") if current else None)
    kd.write_state(kube, "web", None)
    assert web.state() is None


def test_wait_rollout_follows_a_set_image(web, kube):  # noqa: F811
    stable = kd.get_deployment(kube, "web")
    kd.set_image(kube, stable, "app", "app:v2", "test")
    seen = []
    status = kd.wait_rollout(kube, "web", timeout_s=20, poll_s=0.05, on_poll=lambda s: seen.append(s.message))
    assert status.done and web.image() == "app:v2"
    assert seen[-1] == 'deployment "web" successfully rolled out'
    assert web.deployment()["metadata"]["annotations"]["kubernetes.io/change-cause"] == "test"


def test_wait_rollout_fails_past_the_progress_deadline(web, kube):  # noqa: F811
    deployment = web.deployment()
    deployment["spec"]["progressDeadlineSeconds"] = 1
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "app:v2-unready"
    web.sim.update(deployment)
    with pytest.raises(RolloutFailed, match="exceeded its progress deadline"):
        kd.wait_rollout(kube, "web", timeout_s=20, poll_s=0.1)


@pytest.mark.parametrize(("image", "verdict", "failing"), [
    ("app:v2", Verdict.PASS, set()),
    ("app:v2-crashloop", Verdict.FAIL, {"restarts", "crashloop_oomkilled"}),
    ("app:v2-oom", Verdict.FAIL, {"restarts", "crashloop_oomkilled"}),
    ("app:v2-unready", Verdict.INCONCLUSIVE, set()),
])
def test_pod_health_of_the_canary(web, kube, image, verdict, failing):  # noqa: F811
    stable = kd.get_deployment(kube, "web")
    kd.ensure_canary(kube, canary_manifest(stable.raw, image=image, container="app", replicas=1, deploy_id="d"))
    wait_for(lambda: web.pods("app=web,track=canary"), what="a canary pod")
    time.sleep(0.6)  # longer than the simulator's ready delay: a healthy pod would be ready by now

    def judged():
        results = pod_health(kube, "app=web,track=canary", desired=1, image=image)
        worst = {m.verdict for m in results}
        wanted = Verdict.FAIL if verdict is Verdict.FAIL else Verdict.PASS
        return results if (verdict is Verdict.INCONCLUSIVE or wanted in worst) and _settled(results, verdict) else None

    results = wait_for(judged, timeout=10, what=f"{image} judged {verdict.value}")
    assert {m.provider for m in results} == {"kubernetes"}
    assert {m.name for m in results if m.verdict is Verdict.FAIL} >= failing
    if verdict is Verdict.INCONCLUSIVE:
        assert {m.name: m.verdict for m in results}["pods_ready"] is Verdict.INCONCLUSIVE


def _settled(results, verdict) -> bool:
    verdicts = [m.verdict for m in results]
    if verdict is Verdict.PASS:
        return all(v is Verdict.PASS for v in verdicts)
    if verdict is Verdict.FAIL:
        return Verdict.FAIL in verdicts
    return Verdict.FAIL not in verdicts
