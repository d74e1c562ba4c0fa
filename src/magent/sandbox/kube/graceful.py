"""Graceful deletion of pods, as kube-apiserver and the kubelet do it.

Deleting a running pod does not remove it: the API server sets `metadata.deletionTimestamp` (now + the grace
period) and `deletionGracePeriodSeconds`, and the pod shows as Terminating. Controllers stop counting it at
once (a ReplicaSet creates its replacement, EndpointSlices mark it not ready, so it leaves the Service), and
the kubelet removes it when its containers have stopped, at the latest when the grace period ends. The grace
is `DeleteOptions.gracePeriodSeconds` when given, else the pod's `spec.terminationGracePeriodSeconds` (30 s by
default); 0 removes the pod at once (`kubectl delete --now` sends 1, `--force --grace-period=0` sends 0).
The sandbox's kubelet runs the grace period `grace_scale` times as fast (0.01: 30 s take 0.3 s).
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from magent.core.timeutil import utcnow

DEFAULT_GRACE_S = 30
_FINISHED_PHASES = ("Succeeded", "Failed")


def pod_grace(pod: dict[str, Any], requested: int | None) -> int | None:
    """The grace period to delete `pod` with, or None when it goes at once (grace 0, never scheduled, finished)."""
    spec = pod.get("spec") or {}
    grace = requested if requested is not None else spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_S)
    if not isinstance(grace, int) or grace <= 0:
        return None
    phase = (pod.get("status") or {}).get("phase", "Pending")
    if phase in _FINISHED_PHASES or (phase == "Pending" and not spec.get("nodeName")):
        return None  # nothing runs that could need time to stop
    return grace


def terminating(pod: dict[str, Any], grace: int) -> dict[str, Any]:
    """`pod` marked for deletion in `grace` seconds; a pod already terminating sooner is returned unchanged."""
    meta = pod["metadata"]
    current = meta.get("deletionGracePeriodSeconds")
    if meta.get("deletionTimestamp") and current is not None and current <= grace:
        return pod
    marked = copy.deepcopy(pod)
    moment = utcnow() + timedelta(seconds=grace)
    marked["metadata"].update(deletionTimestamp=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                              deletionGracePeriodSeconds=grace)
    return marked


def is_terminating(obj: dict[str, Any]) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))
