"""The resource metrics API (`metrics.k8s.io/v1beta1`, served by metrics-server on a cluster): what
`kubectl top` and the client's `kubernetes.utils.get_pods_metrics` read.

Usage is made up but steady: each running container uses a few millicores and some MiB derived from its pod's
uid, and the node the sum of its pods plus a base for the system. Only running containers are reported, as
metrics-server reports what the kubelet measured; read-only (get and list), like the real API.
"""

from __future__ import annotations

import zlib
from typing import Any

from magent.sandbox.kube.discovery import ResourceType, by_kind
from magent.sandbox.kube.errors import ApiError, not_found
from magent.sandbox.kube.nodes import NODE
from magent.sandbox.kube.pods import POD
from magent.sandbox.kube.selectors import object_matcher
from magent.sandbox.kube.store import ObjectStore, now_rfc3339

NODE_METRICS = by_kind("metrics.k8s.io/v1beta1", "NodeMetrics")
POD_METRICS = by_kind("metrics.k8s.io/v1beta1", "PodMetrics")
_WINDOW = "10.000s"
_NODE_BASE = (150_000_000, 900 * 1024)  # nanocores, KiB: the system daemons


def _container_usage(pod_uid: str, container: str) -> tuple[int, int]:
    seed = zlib.crc32(f"{pod_uid}/{container}".encode())
    return (1 + seed % 20) * 1_000_000, (8 + seed % 56) * 1024  # 1–20 m CPU, 8–63 MiB


def _running_containers(pod: dict[str, Any]) -> list[str]:
    if (pod.get("status") or {}).get("phase") != "Running":
        return []
    return [c["name"] for c in pod["status"].get("containerStatuses") or [] if "running" in (c.get("state") or {})]


def _pod_metrics(pod: dict[str, Any], stamp: str) -> dict[str, Any] | None:
    names = _running_containers(pod)
    if not names:
        return None
    meta = pod["metadata"]
    containers = []
    for name in names:
        cpu, memory = _container_usage(meta["uid"], name)
        containers.append({"name": name, "usage": {"cpu": f"{cpu}n", "memory": f"{memory}Ki"}})
    return {"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"], "creationTimestamp": stamp,
                         "labels": dict(meta.get("labels") or {})},
            "timestamp": stamp, "window": _WINDOW, "containers": containers}


def _node_metrics(node: dict[str, Any], pods: list[dict[str, Any]], stamp: str) -> dict[str, Any]:
    cpu, memory = _NODE_BASE
    for pod in pods:
        for name in _running_containers(pod):
            used = _container_usage(pod["metadata"]["uid"], name)
            cpu, memory = cpu + used[0], memory + used[1]
    meta = node["metadata"]
    return {"kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {"name": meta["name"], "creationTimestamp": stamp, "labels": dict(meta.get("labels") or {})},
            "timestamp": stamp, "window": _WINDOW, "usage": {"cpu": f"{cpu}n", "memory": f"{memory}Ki"}}


def read_metrics(store: ObjectStore, rtype: ResourceType, namespace: str | None, name: str | None,
                 label_selector: str | None, field_selector: str | None) -> dict[str, Any]:
    """A NodeMetrics/PodMetrics object (`name`) or list, computed from the current pods."""
    stamp = now_rfc3339()
    matcher = object_matcher(label_selector, field_selector, rtype.kind)
    pods, _ = store.list(POD)
    if rtype == NODE_METRICS:
        nodes, _ = store.list(NODE)
        items = [_node_metrics(node, pods, stamp) for node in nodes]
    else:
        found = (_pod_metrics(pod, stamp) for pod in pods if namespace is None or pod["metadata"]["namespace"] == namespace)
        items = [m for m in found if m is not None]
    items = [m for m in items if matcher(m)]
    if name is None:
        return {"kind": rtype.list_kind, "apiVersion": rtype.api_version, "metadata": {}, "items": items}
    for item in items:
        if item["metadata"]["name"] == name:
            return item
    raise not_found(rtype, name)


def refuse_write() -> ApiError:
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
