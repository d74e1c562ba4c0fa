"""EndpointSlices for Services (issue 9 §6), read by kubectl and the Python client, and the sample app's traffic
split following them (not raw pod lists)."""

from __future__ import annotations

import pytest
from fixtures.kube import deployment_manifest, wait_until

from magent.sandbox.agentapp import AgentApp, TrackPods
from magent.sandbox.kube.manifests import service_manifest


def _slices(kube_sim, namespace: str, service: str = "web") -> list[dict]:
    return kube_sim.list("discovery.k8s.io/v1", "EndpointSlice", namespace,
                         label_selector=f"kubernetes.io/service-name={service}")


def _ready_count(kube_sim, namespace: str, service: str = "web") -> int:
    return sum(bool(e["conditions"]["ready"]) for s in _slices(kube_sim, namespace, service)
               for e in s.get("endpoints") or [])


@pytest.fixture
def web_service(kube_sim, kube_namespace):
    kube_sim.create(deployment_manifest("web", "app:v1", replicas=3, namespace=kube_namespace))
    kube_sim.create(service_manifest("web", kube_namespace))
    wait_until(lambda: _ready_count(kube_sim, kube_namespace) == 3, what="3 ready endpoints")


def test_kubectl_lists_the_services_endpointslice(kubectl, kube_sim, kube_namespace, web_service):
    [only] = _slices(kube_sim, kube_namespace)
    assert only["metadata"]["name"].startswith("web-") and only["addressType"] == "IPv4"
    assert only["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"
    assert only["metadata"]["ownerReferences"][0]["kind"] == "Service"
    assert only["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
    ips = sorted(e["addresses"][0] for e in only["endpoints"])
    pod_ips = sorted(p["status"]["podIP"] for p in kube_sim.list("v1", "Pod", kube_namespace))
    assert ips == pod_ips
    table = kubectl("get", "endpointslices", check=True).stdout.splitlines()
    assert table[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    row = table[1].split()
    assert row[:3] == [only["metadata"]["name"], "IPv4", "8080"] and sorted(row[3].split(",")) == ips
    named = kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", "name", check=True)
    assert named.stdout.strip() == f"endpointslice.discovery.k8s.io/{only['metadata']['name']}"
    kubectl("delete", "service", "web", check=True)
    wait_until(lambda: not _slices(kube_sim, kube_namespace), what="slices deleted with their Service", timeout=2)


def test_python_client_lists_and_watches_endpointslices(kube_sim, kube_namespace, kubeconfig, web_service):
    from kubernetes import client, config, watch

    api = client.DiscoveryV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    listed = api.list_namespaced_endpoint_slice(kube_namespace, label_selector="kubernetes.io/service-name=web")
    assert len(listed.items) == 1 and len(listed.items[0].endpoints) == 3
    deployment = kube_sim.get("apps/v1", "Deployment", kube_namespace, "web")
    deployment["spec"]["replicas"] = 1
    kube_sim.update(deployment)
    counts = []
    for event in watch.Watch().stream(api.list_namespaced_endpoint_slice, kube_namespace,
                                      resource_version=listed.metadata.resource_version, timeout_seconds=3):
        endpoints = event["object"].endpoints or []
        counts.append(sum(bool(e.conditions.ready) for e in endpoints))
        if counts[-1] == 1 and all(not e.conditions.terminating for e in endpoints):
            break  # the two scaled-down pods went Terminating, then left the slice
    assert counts[-1] == 1 and 1 in counts


def test_traffic_follows_the_services_ready_endpoints(kube_sim, kube_namespace):
    kube_sim.create(deployment_manifest("web", "app:v1", replicas=2, namespace=kube_namespace))
    kube_sim.create(deployment_manifest("web-canary", "app:v2", replicas=1, namespace=kube_namespace,
                                        labels={"app": "web", "track": "canary"}))
    # a Service that only sends to the canary: the app must route as the Service does, not by pod lists
    kube_sim.create(service_manifest("web", kube_namespace, selector={"app": "web", "track": "canary"}))
    app = AgentApp(sim=kube_sim, namespace=kube_namespace, deployment="web")
    wait_until(lambda: list(app.traffic_source()), what="a ready endpoint")
    assert list(app.traffic_source()) == [TrackPods("canary", "v2", 1)]


def test_a_terminating_pod_gets_no_new_traffic(kube_sim, kube_namespace):
    kube_sim.create(deployment_manifest("web", "app:v1", replicas=2, namespace=kube_namespace))
    app = AgentApp(sim=kube_sim, namespace=kube_namespace, deployment="web")  # creates its Service `web`
    assert kube_sim.get("v1", "Service", kube_namespace, "web")["spec"]["selector"] == {"app": "web"}
    wait_until(lambda: list(app.traffic_source()) == [TrackPods("stable", "v1", 2)], what="2 ready pods")
    default = kube_sim.loop.pods.grace_scale
    kube_sim.set_grace_scale(1.0)  # a scaled-down pod stays Terminating (and Ready) for its 30 s
    try:
        deployment = kube_sim.get("apps/v1", "Deployment", kube_namespace, "web")
        deployment["spec"]["replicas"] = 1
        kube_sim.update(deployment)
        wait_until(lambda: any(p["metadata"].get("deletionTimestamp") for p in kube_sim.list("v1", "Pod", kube_namespace)),
                   what="a pod Terminating", timeout=2)
        wait_until(lambda: list(app.traffic_source()) == [TrackPods("stable", "v1", 1)],
                   what="traffic to the one pod still in service", timeout=2)
        assert len(kube_sim.list("v1", "Pod", kube_namespace)) == 2  # the other one is still there
    finally:
        kube_sim.set_grace_scale(default)
