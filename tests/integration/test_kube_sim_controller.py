"""The simulator's deployment controller and pretend kubelet, driven through the official Python client."""

from __future__ import annotations

import time

import pytest
from fixtures.kube import deployment_manifest, wait_until

REVISION = "deployment.kubernetes.io/revision"


@pytest.fixture
def apps(kubeconfig):
    from kubernetes import client, config

    return client.AppsV1Api(config.new_client_from_config(config_file=str(kubeconfig)))


@pytest.fixture
def core(kubeconfig):
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))


def _deployment(sim, ns, name="web"):
    return sim.get("apps/v1", "Deployment", ns, name)


def _complete(sim, ns, name="web"):
    d = _deployment(sim, ns, name)
    status, replicas = d.get("status") or {}, d["spec"]["replicas"]
    return (status.get("observedGeneration") == d["metadata"]["generation"]
            and status.get("updatedReplicas", 0) == replicas == status.get("availableReplicas", 0)
            and status.get("replicas", 0) == replicas)


def _replicasets(sim, ns) -> int:
    return len(sim.list("apps/v1", "ReplicaSet", ns))


def _condition(deployment, kind):
    return next(c for c in deployment["status"]["conditions"] if c["type"] == kind)


def _set_image(apps, ns, image, name="web"):
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
    return apps.patch_namespaced_deployment(name, ns, patch)  # a dict body goes as a strategic merge patch


def test_a_new_deployment_gets_a_hashed_replicaset_and_ready_pods(kube_sim, kube_namespace, apps):
    created = apps.create_namespaced_deployment(kube_namespace, deployment_manifest("web", "app:v1", replicas=3))
    wait_until(lambda: _complete(kube_sim, kube_namespace), what="rollout")
    (rs,) = kube_sim.list("apps/v1", "ReplicaSet", kube_namespace)
    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{pod_hash}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": pod_hash}
    assert rs["metadata"]["ownerReferences"][0]["uid"] == created.metadata.uid
    assert rs["metadata"]["annotations"] == {REVISION: "1", "deployment.kubernetes.io/desired-replicas": "3",
                                             "deployment.kubernetes.io/max-replicas": "4"}
    pods = kube_sim.list("v1", "Pod", kube_namespace, label_selector=f"pod-template-hash={pod_hash}")
    assert len(pods) == 3 and all(p["status"]["phase"] == "Running" for p in pods)
    assert {p["metadata"]["ownerReferences"][0]["name"] for p in pods} == {rs["metadata"]["name"]}
    deployment = _deployment(kube_sim, kube_namespace)
    assert deployment["metadata"]["annotations"][REVISION] == "1"
    assert _condition(deployment, "Progressing")["reason"] == "NewReplicaSetAvailable"
    assert _condition(deployment, "Available")["status"] == "True"
    read = apps.read_namespaced_deployment("web", kube_namespace)
    assert (read.status.ready_replicas, read.status.observed_generation) == (3, 1)


def test_rolling_update_stays_within_max_surge_and_max_unavailable(kube_sim, kube_namespace, apps):
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    manifest = deployment_manifest("web", "app:v1", replicas=4, strategy=strategy)
    apps.create_namespaced_deployment(kube_namespace, manifest)
    wait_until(lambda: _complete(kube_sim, kube_namespace))
    kube_sim.set_ready_delay(0.15)
    _set_image(apps, kube_namespace, "app:v2")
    totals, ready = [], []
    while not _complete(kube_sim, kube_namespace) or not totals:
        # maxSurge bounds the pods the ReplicaSets count: scaled-down pods linger a moment as Terminating
        pods = [p for p in kube_sim.list("v1", "Pod", kube_namespace) if not p["metadata"].get("deletionTimestamp")]
        totals.append(len(pods))
        ready.append(sum(1 for p in pods if any(c["type"] == "Ready" and c["status"] == "True"
                                                for c in (p.get("status") or {}).get("conditions", []))))
        time.sleep(0.01)
    assert max(totals) == 5 and min(ready) >= 4
    images = {p["spec"]["containers"][0]["image"] for p in kube_sim.list("v1", "Pod", kube_namespace)
              if not p["metadata"].get("deletionTimestamp")}
    assert images == {"app:v2"}


def test_recreate_removes_old_pods_before_starting_new_ones(kube_sim, kube_namespace, apps):
    apps.create_namespaced_deployment(kube_namespace, deployment_manifest("web", "app:v1", replicas=2,
                                                                          strategy={"type": "Recreate"}))
    wait_until(lambda: _complete(kube_sim, kube_namespace))
    _set_image(apps, kube_namespace, "app:v2")
    mixed = False
    while not _complete(kube_sim, kube_namespace):
        images = {p["spec"]["containers"][0]["image"] for p in kube_sim.list("v1", "Pod", kube_namespace)}
        mixed |= images == {"app:v1", "app:v2"}
        time.sleep(0.01)
    assert not mixed


def test_paused_deployment_does_not_roll_until_resumed(kube_sim, kube_namespace, apps):
    apps.create_namespaced_deployment(kube_namespace, deployment_manifest("web", "app:v1", replicas=2))
    wait_until(lambda: _complete(kube_sim, kube_namespace))
    apps.patch_namespaced_deployment("web", kube_namespace, {"spec": {"paused": True}})
    _set_image(apps, kube_namespace, "app:v2")
    wait_until(lambda: _condition(_deployment(kube_sim, kube_namespace), "Progressing")["reason"] == "DeploymentPaused")
    time.sleep(0.3)
    assert len(kube_sim.list("apps/v1", "ReplicaSet", kube_namespace)) == 1
    status = _deployment(kube_sim, kube_namespace)["status"]
    assert status["observedGeneration"] == 3 and status.get("updatedReplicas", 0) == 0
    apps.patch_namespaced_deployment("web", kube_namespace, {"spec": {"paused": False}})
    wait_until(lambda: _complete(kube_sim, kube_namespace))
    assert _deployment(kube_sim, kube_namespace)["metadata"]["annotations"][REVISION] == "2"


def test_progress_deadline_exceeded_for_a_never_ready_image(kube_sim, kube_namespace, apps, core):
    apps.create_namespaced_deployment(kube_namespace, deployment_manifest("web", "app:v1", replicas=2,
                                                                          progressDeadlineSeconds=1))
    wait_until(lambda: _complete(kube_sim, kube_namespace))
    _set_image(apps, kube_namespace, "app:v2-unready")
    progressing = wait_until(lambda: (c := _condition(_deployment(kube_sim, kube_namespace), "Progressing"))
                             ["reason"] == "ProgressDeadlineExceeded" and c, timeout=5)
    assert progressing["status"] == "False" and "has timed out progressing" in progressing["message"]
    assert _condition(_deployment(kube_sim, kube_namespace), "Available")["status"] == "True"
    events = core.list_namespaced_event(kube_namespace, field_selector="reason=Unhealthy").items
    assert events and "Readiness probe failed" in events[0].message


def test_revisions_change_cause_rollback_reuse_and_history_limit(kube_sim, kube_namespace, apps):
    manifest = deployment_manifest("web", "app:v1", replicas=1, revisionHistoryLimit=1)
    manifest["metadata"]["annotations"] = {"kubernetes.io/change-cause": "release v1"}
    apps.create_namespaced_deployment(kube_namespace, manifest)
    wait_until(lambda: _complete(kube_sim, kube_namespace))
    first = kube_sim.list("apps/v1", "ReplicaSet", kube_namespace)[0]
    assert first["metadata"]["annotations"]["kubernetes.io/change-cause"] == "release v1"
    _set_image(apps, kube_namespace, "app:v2")
    wait_until(lambda: _complete(kube_sim, kube_namespace) and _replicasets(kube_sim, kube_namespace) == 2)
    _set_image(apps, kube_namespace, "app:v1")  # the first template comes back: same ReplicaSet, revision 3
    wait_until(lambda: _complete(kube_sim, kube_namespace)
               and _deployment(kube_sim, kube_namespace)["metadata"]["annotations"][REVISION] == "3")
    again = kube_sim.get("apps/v1", "ReplicaSet", kube_namespace, first["metadata"]["name"])
    assert again["metadata"]["uid"] == first["metadata"]["uid"]
    assert again["metadata"]["annotations"][REVISION] == "3"
    assert again["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    _set_image(apps, kube_namespace, "app:v3")
    wait_until(lambda: _complete(kube_sim, kube_namespace) and _replicasets(kube_sim, kube_namespace) == 2,
               what="history limited to one old ReplicaSet")


def test_generation_bumps_on_spec_changes_only(kube_sim, kube_namespace, apps):
    apps.create_namespaced_deployment(kube_namespace, deployment_manifest("web", "app:v1", replicas=1))
    labelled = apps.patch_namespaced_deployment("web", kube_namespace, {"metadata": {"labels": {"team": "x"}}})
    assert labelled.metadata.generation == 1
    scaled = apps.patch_namespaced_deployment_scale("web", kube_namespace, {"spec": {"replicas": 2}})
    assert scaled.spec.replicas == 2
    assert apps.read_namespaced_deployment("web", kube_namespace).metadata.generation == 2
    wait_until(lambda: _deployment(kube_sim, kube_namespace)["status"].get("observedGeneration") == 2)
    events = [e for e in kube_sim.list("v1", "Event", kube_namespace) if e["reason"] == "ScalingReplicaSet"]
    assert any(e["message"].endswith("to 2 from 1") for e in events)


@pytest.mark.parametrize(("image", "reason", "exit_code"),
                         [("app:v2-crashloop", "Error", 1), ("app:v2-oom", "OOMKilled", 137)])
def test_fault_images_restart_and_never_become_ready(kube_sim, kube_namespace, core, apps, image, reason, exit_code):
    apps.create_namespaced_deployment(kube_namespace, deployment_manifest("bad", image, replicas=1))
    pod = wait_until(lambda: [p for p in core.list_namespaced_pod(kube_namespace, label_selector="app=bad").items
                              if p.status.container_statuses and p.status.container_statuses[0].restart_count >= 2],
                     timeout=5)[0]
    status = pod.status.container_statuses[0]
    assert not status.ready and pod.status.phase == "Running"
    assert status.last_state.terminated.reason == reason and status.last_state.terminated.exit_code == exit_code
    def waiting_reasons():
        return {p["status"]["containerStatuses"][0]["state"].get("waiting", {}).get("reason")
                for p in kube_sim.list("v1", "Pod", kube_namespace)}

    wait_until(lambda: "CrashLoopBackOff" in waiting_reasons(), timeout=3)
    backoff = core.list_namespaced_event(kube_namespace, field_selector="reason=BackOff").items
    assert backoff and backoff[0].type == "Warning" and backoff[0].involved_object.kind == "Pod"


def test_watch_stream_and_leases_through_the_client(kube_sim, kube_namespace, kubeconfig):
    from kubernetes import client, config, watch

    api_client = config.new_client_from_config(config_file=str(kubeconfig))
    apps, leases = client.AppsV1Api(api_client), client.CoordinationV1Api(api_client)
    apps.create_namespaced_deployment(kube_namespace, deployment_manifest("web", "app:v1", replicas=2))
    seen = []
    stream = watch.Watch()
    for event in stream.stream(apps.list_namespaced_deployment, kube_namespace, timeout_seconds=5):
        seen.append(event["type"])
        if (event["object"].status.available_replicas or 0) == 2:
            stream.stop()
    assert seen[0] == "ADDED" and "MODIFIED" in seen
    body = {"metadata": {"name": "web-deploy"}, "spec": {"holderIdentity": "ci-1", "leaseDurationSeconds": 30}}
    lease = leases.create_namespaced_lease(kube_namespace, body)
    lease.spec.holder_identity = "ci-2"
    leases.replace_namespaced_lease("web-deploy", kube_namespace, lease)
    with pytest.raises(client.ApiException) as stale:
        leases.replace_namespaced_lease("web-deploy", kube_namespace, lease)
    assert stale.value.status == 409
    assert leases.read_namespaced_lease("web-deploy", kube_namespace).spec.holder_identity == "ci-2"


def test_hpa_and_pdb_are_stored(kube_sim, kube_namespace):
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "web", "namespace": kube_namespace},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                    "minReplicas": 2, "maxReplicas": 5}}
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
           "metadata": {"name": "web", "namespace": kube_namespace},
           "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}
    kube_sim.create(hpa)
    kube_sim.create(pdb)
    assert kube_sim.get("autoscaling/v2", "HorizontalPodAutoscaler", kube_namespace, "web")["spec"]["maxReplicas"] == 5
    assert kube_sim.get("policy/v1", "PodDisruptionBudget", kube_namespace, "web")["metadata"]["generation"] == 1
