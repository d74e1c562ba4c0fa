"""The ReplicaSet controller: keeps `spec.replicas` pods per ReplicaSet and reports their readiness.

The same controller runs ReplicationControllers (core/v1), as kube-controller-manager does: they differ only
in their selector (a plain label map), which this controller does not read: it goes by owner references."""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from magent.sandbox.kube.discovery import ResourceType, by_kind
from magent.sandbox.kube.errors import ApiError
from magent.sandbox.kube.events import EventRecorder
from magent.sandbox.kube.graceful import is_terminating
from magent.sandbox.kube.pods import NODE_NAME, POD
from magent.sandbox.kube.store import ObjectStore

REPLICASET = by_kind("apps/v1", "ReplicaSet")
REPLICATION_CONTROLLER = by_kind("v1", "ReplicationController")
_COMPONENTS = {"ReplicaSet": "replicaset-controller", "ReplicationController": "replication-controller"}


def controller_uid(obj: dict[str, Any]) -> str | None:
    """The uid of the object's controlling owner, if any."""
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def by_controller(objs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for obj in objs:
        uid = controller_uid(obj)
        if uid:
            grouped[uid].append(obj)
    return grouped


def pod_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def pod_available(pod: dict[str, Any], min_ready_seconds: int, now: datetime) -> bool:
    if not pod_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    ready = next(c for c in pod["status"]["conditions"] if c.get("type") == "Ready")
    since = datetime.fromisoformat(ready["lastTransitionTime"].replace("Z", "+00:00"))
    return (now - since).total_seconds() >= min_ready_seconds


class ReplicaSetController:
    def __init__(self, store: ObjectStore, events: EventRecorder, rtype: ResourceType = REPLICASET) -> None:
        self.store = store
        self.events = events
        self.rtype = rtype
        self.component = _COMPONENTS[rtype.kind]

    def sync(self, replicasets: list[dict[str, Any]], pods: list[dict[str, Any]]) -> None:
        owned = by_controller(pods)
        for rs in replicasets:
            try:
                self._sync_one(rs, owned.get(rs["metadata"]["uid"], []))
            except ApiError:
                continue  # modified or deleted meanwhile: retried at the next tick

    def _sync_one(self, rs: dict[str, Any], owned: list[dict[str, Any]]) -> None:
        # Terminating pods are no longer counted (FilterActivePods): their replacements start at once.
        pods = [p for p in owned if not is_terminating(p)]
        want = rs["spec"].get("replicas", 1)
        if len(pods) < want:
            for _ in range(want - len(pods)):
                pods.append(self._create_pod(rs))
        elif len(pods) > want:
            for pod in _deletion_order(pods)[: len(pods) - want]:
                self.store.delete(POD, pod["metadata"]["namespace"], pod["metadata"]["name"])
                self.events.record(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}",
                                   component=self.component)
                pods.remove(pod)
        self._write_status(rs, pods)

    def _create_pod(self, rs: dict[str, Any]) -> dict[str, Any]:
        template = copy.deepcopy(rs["spec"]["template"])
        meta = template.get("metadata") or {}
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"generateName": f"{rs['metadata']['name']}-", "namespace": rs["metadata"]["namespace"],
                         "labels": meta.get("labels") or {}, "ownerReferences": [owner_reference(rs)]},
            "spec": {**template.get("spec", {}), "nodeName": NODE_NAME},
            "status": {"phase": "Pending", "qosClass": "BestEffort",
                       "conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": None}]},
        }
        if meta.get("annotations"):
            pod["metadata"]["annotations"] = meta["annotations"]
        created = self.store.create(POD, pod)
        self.events.record(rs, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}",
                           component=self.component)
        return created

    def _write_status(self, rs: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        now = datetime.now(UTC)
        min_ready = rs["spec"].get("minReadySeconds", 0)
        labels = rs["spec"]["template"].get("metadata", {}).get("labels") or {}
        status: dict[str, Any] = {"replicas": len(pods)}
        counts = {
            "fullyLabeledReplicas": sum(1 for p in pods
                                        if labels.items() <= (p["metadata"].get("labels") or {}).items()),
            "readyReplicas": sum(1 for p in pods if pod_ready(p)),
            "availableReplicas": sum(1 for p in pods if pod_available(p, min_ready, now)),
        }
        status.update({k: v for k, v in counts.items() if v})  # zero counts are omitted, as on a real cluster
        status["observedGeneration"] = rs["metadata"].get("generation", 1)
        if rs.get("status") != status:
            rs["status"] = status
            self.store.update(self.rtype, rs, subresource="status")


def _deletion_order(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Not-ready pods go first, then the youngest (as the ReplicaSet controller ranks them)."""
    return sorted(pods, key=lambda p: (pod_ready(p), _negated(p["metadata"].get("creationTimestamp", ""))))


def _negated(stamp: str) -> tuple[int, ...]:
    return tuple(-ord(ch) for ch in stamp)
