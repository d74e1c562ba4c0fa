"""Graceful pod deletion in the simulator (issue 9 §6): Terminating with a deletionTimestamp for the (scaled)
grace period, out of the Service's ready endpoints and replaced at once; and magent's canary abort waiting
for the canary to be out of service, not only for its spec to say 0."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from fixtures.kube import deployment_manifest, wait_until

from magent.sandbox.kube.manifests import service_manifest


@pytest.fixture
def grace_scale(kube_sim):
    """Set how fast grace periods run for this test; the session simulator's own pace is restored after."""
    default = kube_sim.loop.pods.grace_scale
    yield kube_sim.set_grace_scale
    kube_sim.set_grace_scale(default)


def _pods(kube_sim, namespace: str, selector: str = "app=web") -> list[dict]:
    return kube_sim.list("v1", "Pod", namespace, label_selector=selector)


def _endpoints(kube_sim, namespace: str, service: str = "web") -> dict[str, dict]:
    slices = kube_sim.list("discovery.k8s.io/v1", "EndpointSlice", namespace,
                           label_selector=f"kubernetes.io/service-name={service}")
    return {e["targetRef"]["name"]: e["conditions"] for s in slices for e in s.get("endpoints") or []}


def _ready_web(kube_sim, namespace: str, replicas: int) -> list[dict]:
    kube_sim.create(deployment_manifest("web", "app:v1", replicas=replicas, namespace=namespace))
    kube_sim.create(service_manifest("web", namespace))
    wait_until(lambda: sum(c["ready"] for c in _endpoints(kube_sim, namespace).values()) == replicas,
               what=f"{replicas} ready endpoints")
    return _pods(kube_sim, namespace)


def test_kubectl_delete_leaves_the_pod_terminating_for_its_grace_period(kubectl, kube_sim, kube_namespace,
                                                                        grace_scale):
    grace_scale(0.05)  # 30 s → 1.5 s: long enough to see, short enough for a test
    victim = _ready_web(kube_sim, kube_namespace, 2)[0]["metadata"]["name"]
    started = time.monotonic()
    deleted = kubectl("delete", "pod", victim, "--wait=false", check=True)
    assert deleted.stdout.strip() == f'pod "{victim}" deleted'
    table = kubectl("get", "pods", check=True).stdout
    row = next(line.split() for line in table.splitlines() if line.startswith(victim))
    assert row[2] == "Terminating"
    pod = kube_sim.get("v1", "Pod", kube_namespace, victim)
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 30
    until = datetime.fromisoformat(pod["metadata"]["deletionTimestamp"].replace("Z", "+00:00"))
    assert 28 <= (until - datetime.now(UTC)).total_seconds() <= 31  # the API's time: now + grace
    assert _endpoints(kube_sim, kube_namespace)[victim] == {"ready": False, "serving": True, "terminating": True}
    # the ReplicaSet no longer counts it: its replacement is created at once
    wait_until(lambda: len([p for p in _pods(kube_sim, kube_namespace)
                            if not p["metadata"].get("deletionTimestamp")]) == 2, what="a replacement", timeout=1)
    wait_until(lambda: kube_sim.get("v1", "Pod", kube_namespace, victim) is None, what="the pod gone", timeout=15)
    assert time.monotonic() - started >= 1.4
    killing = [e for e in kube_sim.list("v1", "Event", kube_namespace)
               if e["involvedObject"]["name"] == victim and e["reason"] == "Killing"]
    assert killing and killing[0]["message"] == "Stopping container app"


def test_grace_period_zero_and_shorter_grace_remove_sooner(kubectl, kube_sim, kube_namespace, grace_scale):
    grace_scale(1.0)  # as on a node: 30 s, unless the delete says otherwise
    first, second = (p["metadata"]["name"] for p in _ready_web(kube_sim, kube_namespace, 2))
    forced = kubectl("delete", "pod", first, "--grace-period=0", "--force", check=True)
    assert "deleted" in forced.stdout and kube_sim.get("v1", "Pod", kube_namespace, first) is None
    kubectl("delete", "pod", second, "--wait=false", check=True)
    assert kube_sim.get("v1", "Pod", kube_namespace, second)["metadata"]["deletionGracePeriodSeconds"] == 30
    started = time.monotonic()
    kubectl("delete", "pod", second, "--grace-period=1", check=True)  # waits until it is gone
    assert kube_sim.get("v1", "Pod", kube_namespace, second) is None and time.monotonic() - started < 5


def test_deleting_a_deployment_terminates_its_pods_gracefully(kube_sim, kube_namespace, grace_scale):
    grace_scale(0.02)
    pods = _ready_web(kube_sim, kube_namespace, 2)
    kube_sim.delete("apps/v1", "Deployment", kube_namespace, "web")
    assert kube_sim.list("apps/v1", "ReplicaSet", kube_namespace) == []
    left = _pods(kube_sim, kube_namespace)
    assert {p["metadata"]["name"] for p in left} == {p["metadata"]["name"] for p in pods}
    assert all(p["metadata"].get("deletionTimestamp") for p in left)
    wait_until(lambda: not any(c["ready"] for c in _endpoints(kube_sim, kube_namespace).values()),
               what="no ready endpoint", timeout=5)
    wait_until(lambda: not _pods(kube_sim, kube_namespace), what="pods gone", timeout=15)


def test_canary_abort_waits_until_the_canary_is_out_of_service(kube_sim, kube_namespace, kubeconfig, grace_scale):
    from magent.core.canary import CanaryState, Phase
    from magent.core.config import KubeSettings
    from magent.services.kube.client import connect
    from magent.services.targets.kubernetes import KubernetesTarget

    grace_scale(0.05)
    _ready_web(kube_sim, kube_namespace, 4)
    with connect(KubeSettings(kubeconfig=str(kubeconfig))) as kube:
        target = KubernetesTarget(kube, "web")
        state = CanaryState(deploy_id="d-1", image="app:v2", previous_image="app:v1", container="app",
                            weights=[50], phase=Phase.ANALYSING, step=0, holder="test 1")
        target.size_canary(target.stable(), state, 2)
        wait_until(lambda: sum(c["ready"] for c in _endpoints(kube_sim, kube_namespace).values()) == 6,
                   what="canary pods in the Service")
        kube_sim.pause_controllers()  # a controller manager that takes a moment, as a busy one does
        lag = threading.Timer(0.3, kube_sim.resume_controllers)
        lag.start()
        try:
            target.canary_to_zero()
            canary_pods = _pods(kube_sim, kube_namespace, "track=canary")
        finally:
            lag.join()
    assert canary_pods and all(p["metadata"].get("deletionTimestamp") for p in canary_pods)
    names = {p["metadata"]["name"] for p in canary_pods}
    wait_until(lambda: not any(c["ready"] for name, c in _endpoints(kube_sim, kube_namespace).items()
                               if name in names), what="canary endpoints not ready", timeout=1)
    assert sum(c["ready"] for c in _endpoints(kube_sim, kube_namespace).values()) == 4  # the stable serves on
