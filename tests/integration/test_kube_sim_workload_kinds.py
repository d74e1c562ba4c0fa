"""Kinds the simulator serves so that clients written for a real cluster work (found by running the kubernetes
client's own e2e tests against it, tests/fidelity): the node, ReplicationControllers and DaemonSets with their
controllers, the status a new ReplicaSet is created with, the resource metrics API (`kubectl top`), and an
answer that says why exec/attach/port-forward cannot work here."""

from __future__ import annotations

import json

import pytest
from fixtures.kube import deployment_manifest, wait_until
from kubernetes import client, config, utils

NODE = "magent-sandbox-node"


@pytest.fixture
def api_client(kubeconfig):
    with config.new_client_from_config(config_file=str(kubeconfig)) as api:
        yield api


def _owned_pods(kube_sim, namespace: str, owner: dict) -> list[dict]:
    uid = owner["metadata"]["uid"]
    return [p for p in kube_sim.list("v1", "Pod", namespace)
            if any(ref.get("uid") == uid for ref in p["metadata"].get("ownerReferences") or [])
            and not p["metadata"].get("deletionTimestamp")]


def _template(labels: dict, image: str = "agent:1.0") -> dict:
    return {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "agent", "image": image}]}}


def test_a_new_replicaset_carries_status_replicas_so_the_client_can_read_the_answer(api_client, kube_namespace):
    body = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "bare"},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "bare"}}, "template": _template({"app": "bare"})}}
    created = client.AppsV1Api(api_client).create_namespaced_replica_set(kube_namespace, body)
    assert created.status.replicas == 0  # required by the client's model: an empty status raised ValueError


def test_the_cluster_has_a_ready_node_and_pods_run_on_it(kube_sim, api_client, kube_namespace, kubectl):
    core = client.CoreV1Api(api_client)
    nodes = core.list_node().items
    assert [n.metadata.name for n in nodes] == [NODE]
    node = core.read_node(NODE)
    assert node.metadata.labels["kubernetes.io/hostname"] == NODE
    assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"
    kube_sim.create({**deployment_manifest("web", "app:v1", replicas=1), "metadata": {"name": "web",
                                                                                        "namespace": kube_namespace}})
    pod = wait_until(lambda: kube_sim.list("v1", "Pod", kube_namespace, label_selector="app=web"))[0]
    assert pod["spec"]["nodeName"] == NODE
    listed = kubectl("get", "nodes", check=True).stdout.splitlines()
    assert listed[1].split()[:3] == [NODE, "Ready", "control-plane"]


def test_a_replication_controller_keeps_its_pods_scales_and_takes_them_along(kube_sim, api_client, kube_namespace):
    core = client.CoreV1Api(api_client)
    body = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "legacy"},
            "spec": {"replicas": 2, "template": _template({"app": "legacy"})}}
    created = core.create_namespaced_replication_controller(kube_namespace, body)
    assert created.spec.selector == {"app": "legacy"} and created.metadata.labels == {"app": "legacy"}  # defaulted
    rc = kube_sim.get("v1", "ReplicationController", kube_namespace, "legacy")
    wait_until(lambda: len(_owned_pods(kube_sim, kube_namespace, rc)) == 2, what="2 pods")
    wait_until(lambda: core.read_namespaced_replication_controller(
        "legacy", kube_namespace).status.ready_replicas == 2, what="2 ready")
    scale = core.patch_namespaced_replication_controller_scale("legacy", kube_namespace, {"spec": {"replicas": 1}})
    assert scale.status.selector == "app=legacy"
    wait_until(lambda: len(_owned_pods(kube_sim, kube_namespace, rc)) == 1, what="1 pod")
    core.delete_namespaced_replication_controller("legacy", kube_namespace, propagation_policy="Background")
    wait_until(lambda: not kube_sim.list("v1", "Pod", kube_namespace, label_selector="app=legacy"),
               what="the pods collected")


def test_a_daemonset_runs_one_pod_on_the_node_and_replaces_it_when_its_template_changes(
        kube_sim, api_client, kube_namespace):
    apps = client.AppsV1Api(api_client)
    body = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": _template({"app": "agent"})}}
    with pytest.raises(client.ApiException) as strict:  # kubectl's default validation knows a DaemonSet's fields
        apps.create_namespaced_daemon_set(kube_namespace, {**body, "spec": {**body["spec"], "replicas": 2}},
                                          field_validation="Strict")
    assert strict.value.status == 400
    assert 'unknown field "spec.replicas"' in json.loads(strict.value.body)["message"]
    created = apps.create_namespaced_daemon_set(kube_namespace, body)
    assert created.spec.update_strategy.type == "RollingUpdate"
    ds = kube_sim.get("apps/v1", "DaemonSet", kube_namespace, "agent")
    wait_until(lambda: apps.read_namespaced_daemon_set("agent", kube_namespace).status.number_ready == 1,
               what="the agent pod ready")
    [first] = _owned_pods(kube_sim, kube_namespace, ds)
    assert first["spec"]["nodeName"] == NODE and first["metadata"]["labels"]["pod-template-generation"] == "1"

    apps.patch_namespaced_daemon_set("agent", kube_namespace, {"spec": {"template": _template({"app": "agent"},
                                                                                              "agent:2.0")}})
    replaced = wait_until(lambda: [p for p in _owned_pods(kube_sim, kube_namespace, ds)
                                   if p["spec"]["containers"][0]["image"] == "agent:2.0"], what="the new pod")
    assert replaced[0]["metadata"]["labels"]["pod-template-generation"] == "2"
    wait_until(lambda: len(_owned_pods(kube_sim, kube_namespace, ds)) == 1, what="the old pod gone")

    apps.patch_namespaced_daemon_set("agent", kube_namespace, {"spec": {"template": {"spec": {
        "nodeSelector": {"disktype": "ssd"}}}}})  # no node has it: the pod goes, nothing is desired
    wait_until(lambda: not _owned_pods(kube_sim, kube_namespace, ds), what="no pod")

    def scheduled() -> tuple[int, int]:  # the controller writes the status a tick after the pod goes
        status = apps.read_namespaced_daemon_set_status("agent", kube_namespace).status
        return status.desired_number_scheduled, status.current_number_scheduled

    wait_until(lambda: scheduled() == (0, 0), what="the status: nothing scheduled")


def test_the_metrics_api_reports_running_pods_and_the_node(kube_sim, api_client, kube_namespace, kubectl):
    kube_sim.create({**deployment_manifest("web", "app:v1", replicas=2), "metadata": {"name": "web",
                                                                                        "namespace": kube_namespace}})
    kube_sim.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "other", "namespace": kube_namespace,
                                                                       "labels": {"app": "other"}},
                     "spec": {"containers": [{"name": "main", "image": "other:1"}]}})
    wait_until(lambda: len(utils.get_pods_metrics(api_client, kube_namespace)["items"]) == 3, what="3 running pods")
    web = utils.get_pods_metrics(api_client, kube_namespace, "app=web")
    assert web["kind"] == "PodMetricsList" and len(web["items"]) == 2
    assert all(item["containers"][0]["usage"]["cpu"].endswith("n") for item in web["items"])
    nodes = utils.get_nodes_metrics(api_client)["items"]
    assert [n["metadata"]["name"] for n in nodes] == [NODE] and "memory" in nodes[0]["usage"]

    top = kubectl("top", "pod", "-l", "app=web", check=True).stdout.splitlines()
    assert top[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"] and len(top) == 3
    with pytest.raises(client.ApiException) as refused:
        client.CustomObjectsApi(api_client).create_namespaced_custom_object(
            "metrics.k8s.io", "v1beta1", kube_namespace, "pods", {"metadata": {"name": "x"}})
    assert refused.value.status == 405


def test_exec_and_port_forward_say_the_sandbox_runs_no_containers(kube_sim, kube_namespace, kubectl):
    kube_sim.create({**deployment_manifest("web", "app:v1", replicas=1), "metadata": {"name": "web",
                                                                                        "namespace": kube_namespace}})
    pod = wait_until(lambda: kube_sim.list("v1", "Pod", kube_namespace, label_selector="app=web"))[0]["metadata"]["name"]
    execed = kubectl("exec", pod, "--", "ls")
    assert execed.returncode == 1
    assert "Error from server (BadRequest): the magent sandbox runs no containers: pods/exec" in execed.stderr
    assert 'pods "nope" not found' in kubectl("exec", "nope", "--", "ls").stderr
    forwarded = kubectl("port-forward", pod, "0:8080", timeout=10)
    assert forwarded.returncode == 1 and "runs no containers: pods/portforward" in forwarded.stderr
