"""The DaemonSet controller: one pod per matching node (the sandbox has one), replaced when the template changes.

Pods carry `pod-template-generation` (the DaemonSet's generation when they were made), as the real controller
labels them; a pod of an older generation is deleted and, once it is gone, replaced (RollingUpdate with
`maxUnavailable: 1` on a one-node cluster). `OnDelete` keeps old pods until someone deletes them.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from magent.sandbox.kube.discovery import by_kind
from magent.sandbox.kube.errors import ApiError
from magent.sandbox.kube.events import EventRecorder
from magent.sandbox.kube.graceful import is_terminating
from magent.sandbox.kube.nodes import node_manifest
from magent.sandbox.kube.pods import NODE_NAME, POD
from magent.sandbox.kube.replicaset import by_controller, owner_reference, pod_available, pod_ready
from magent.sandbox.kube.store import ObjectStore

DAEMONSET = by_kind("apps/v1", "DaemonSet")
GENERATION_LABEL = "pod-template-generation"
_COMPONENT = "daemonset-controller"


def _fits_node(ds: dict[str, Any]) -> bool:
    wanted = ((ds["spec"].get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    return wanted.items() <= node_manifest()["metadata"]["labels"].items()


class DaemonSetController:
    def __init__(self, store: ObjectStore, events: EventRecorder) -> None:
        self.store = store
        self.events = events

    def sync(self, daemonsets: list[dict[str, Any]], pods: list[dict[str, Any]]) -> None:
        owned = by_controller(pods)
        for ds in daemonsets:
            try:
                self._sync_one(ds, owned.get(ds["metadata"]["uid"], []))
            except ApiError:
                continue  # modified or deleted meanwhile: retried at the next tick

    def _sync_one(self, ds: dict[str, Any], owned: list[dict[str, Any]]) -> None:
        generation = str(ds["metadata"].get("generation", 1))
        active = [p for p in owned if not is_terminating(p)]
        on_delete = (ds["spec"].get("updateStrategy") or {}).get("type") == "OnDelete"
        outdated = [p for p in active if (p["metadata"].get("labels") or {}).get(GENERATION_LABEL) != generation]
        if not _fits_node(ds):
            outdated = active
        elif on_delete:
            outdated = []
        for pod in outdated:
            self.store.delete(POD, pod["metadata"]["namespace"], pod["metadata"]["name"])
            self.events.record(ds, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}",
                               component=_COMPONENT)
            active.remove(pod)
        # The replacement waits until the old pod is gone (maxSurge 0): deleted now, it is gone at a later tick.
        if _fits_node(ds) and not active and not outdated and not any(is_terminating(p) for p in owned):
            active.append(self._create_pod(ds, generation))
        self._write_status(ds, active, generation)

    def _create_pod(self, ds: dict[str, Any], generation: str) -> dict[str, Any]:
        template = copy.deepcopy(ds["spec"]["template"])
        meta = template.get("metadata") or {}
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"generateName": f"{ds['metadata']['name']}-", "namespace": ds["metadata"]["namespace"],
                         "labels": {**(meta.get("labels") or {}), GENERATION_LABEL: generation},
                         "ownerReferences": [owner_reference(ds)]},
            "spec": {**template.get("spec", {}), "nodeName": NODE_NAME},
        }
        if meta.get("annotations"):
            pod["metadata"]["annotations"] = meta["annotations"]
        created = self.store.create(POD, pod)
        self.events.record(ds, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}",
                           component=_COMPONENT)
        return created

    def _write_status(self, ds: dict[str, Any], pods: list[dict[str, Any]], generation: str) -> None:
        now = datetime.now(UTC)
        min_ready = ds["spec"].get("minReadySeconds", 0)
        desired = 1 if _fits_node(ds) else 0
        status: dict[str, Any] = {
            "currentNumberScheduled": len(pods),
            "numberMisscheduled": 0,
            "desiredNumberScheduled": desired,
            "numberReady": sum(1 for p in pods if pod_ready(p)),
            "observedGeneration": ds["metadata"].get("generation", 1),
            "updatedNumberScheduled": sum(1 for p in pods
                                          if (p["metadata"].get("labels") or {}).get(GENERATION_LABEL) == generation),
            "numberAvailable": sum(1 for p in pods if pod_available(p, min_ready, now)),
        }
        if desired - status["numberAvailable"] > 0:
            status["numberUnavailable"] = desired - status["numberAvailable"]
        for zero in ("numberAvailable", "updatedNumberScheduled"):
            if not status[zero]:
                del status[zero]  # omitted when zero, as the real API server serialises them
        if ds.get("status") != status:
            ds["status"] = status
            self.store.update(DAEMONSET, ds, subresource="status")
