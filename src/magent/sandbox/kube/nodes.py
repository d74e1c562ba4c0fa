"""The sandbox's one Node, as the kubelet registers it: every pod the simulator runs is bound to it.

A cluster always has nodes (`kubectl get nodes`, `kubectl top node`, the client's `list_node`), and pods name
theirs in `spec.nodeName`; an empty node list next to pods bound to `magent-sandbox-node` would be a
cluster that cannot exist.
"""

from __future__ import annotations

from typing import Any

from magent.sandbox.kube.discovery import SERVER_VERSION, by_kind
from magent.sandbox.kube.pods import HOST_IP, NODE_NAME
from magent.sandbox.kube.store import ObjectStore, now_rfc3339

NODE = by_kind("v1", "Node")
CAPACITY = {"cpu": "4", "memory": "16331776Ki", "ephemeral-storage": "102687672Ki", "pods": "110"}


def node_manifest() -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": NODE_NAME, "labels": {
            "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux",
            "node-role.kubernetes.io/control-plane": "",
        }, "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                           "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
        "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
    }


def node_status(since: str) -> dict[str, Any]:
    def condition(kind: str, status: str, reason: str, message: str) -> dict[str, str]:
        return {"type": kind, "status": status, "lastHeartbeatTime": since, "lastTransitionTime": since,
                "reason": reason, "message": message}

    return {
        "capacity": dict(CAPACITY), "allocatable": dict(CAPACITY),
        "conditions": [
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [{"type": "InternalIP", "address": HOST_IP}, {"type": "Hostname", "address": NODE_NAME}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {"machineID": "0" * 32, "systemUUID": "00000000-0000-0000-0000-000000000000",
                     "bootID": "00000000-0000-0000-0000-000000000000", "kernelVersion": "6.1.0",
                     "osImage": "magent sandbox", "containerRuntimeVersion": "containerd://1.7.0",
                     "kubeletVersion": SERVER_VERSION["gitVersion"], "kubeProxyVersion": "",
                     "operatingSystem": "linux", "architecture": "amd64"},
    }


def register_node(store: ObjectStore) -> dict[str, Any]:
    """Create the node and post its status, as a kubelet does when it joins (status only via /status)."""
    node = store.create(NODE, node_manifest())
    node["status"] = node_status(now_rfc3339())
    return store.update(NODE, node, subresource="status")


def node_ready(node: dict[str, Any]) -> str:
    ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                for c in (node.get("status") or {}).get("conditions") or [])
    return "Ready" if ready else "NotReady"


def node_roles(node: dict[str, Any]) -> str:
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix):] for k in (node["metadata"].get("labels") or {}) if k.startswith(prefix))
    return ",".join(roles) or "<none>"
