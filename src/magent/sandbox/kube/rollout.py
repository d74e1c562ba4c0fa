"""Pure helpers of the deployment controller, after kubernetes/pkg/controller/deployment/util.

Pod-template hashes, maxSurge / maxUnavailable fenceposts, revisions, the annotations a ReplicaSet carries,
and the Progressing / Available conditions.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from magent.sandbox.kube.store import now_rfc3339

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Deployment annotations that are not copied to its ReplicaSets.
_NOT_COPIED = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS})
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

# Condition reasons (kubernetes/pkg/controller/deployment/util/deployment_util.go).
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"


def template_hash(template: dict[str, Any], collision_count: int = 0) -> str:
    """A stable short hash of a pod template: FNV-1a 32 of its canonical JSON, in Kubernetes' safe alphabet."""
    data = json.dumps(template_without_hash(template), sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE_ALPHABET[ord(ch) % len(_SAFE_ALPHABET)] for ch in str(value))


def template_without_hash(template: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(template or {})
    labels = (stripped.get("metadata") or {}).get("labels")
    if labels and HASH_LABEL in labels:
        del labels[HASH_LABEL]
    return stripped


def templates_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Templates equal ignoring the pod-template-hash label (EqualIgnoreHash)."""
    return template_without_hash(a) == template_without_hash(b)


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """An int-or-percent against `total` (maxSurge rounds up, maxUnavailable down)."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%"):
        exact = int(text[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(text)


def fenceposts(deployment: dict[str, Any]) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) resolved for the desired replicas; both zero becomes unavailable=1."""
    spec = deployment["spec"]
    if spec.get("strategy", {}).get("type") == "Recreate":
        return 0, 0
    rolling = spec.get("strategy", {}).get("rollingUpdate") or {}
    replicas = spec.get("replicas", 1)
    surge = scaled_value(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = scaled_value(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_unavailable(deployment: dict[str, Any]) -> int:
    replicas = deployment["spec"].get("replicas", 1)
    if deployment["spec"].get("strategy", {}).get("type") == "Recreate" or replicas == 0:
        return 0
    return min(fenceposts(deployment)[1], replicas)


def revision(obj: dict[str, Any] | None) -> int:
    try:
        return int(((obj or {}).get("metadata", {}).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def copy_annotations(deployment: dict[str, Any], rs: dict[str, Any]) -> bool:
    """Copy the Deployment's own annotations to its new ReplicaSet; True when something changed."""
    target = rs["metadata"].setdefault("annotations", {})
    changed = False
    for key, value in (deployment["metadata"].get("annotations") or {}).items():
        if key not in _NOT_COPIED and target.get(key) != value:
            target[key] = value
            changed = True
    return changed


def replica_annotations(deployment: dict[str, Any], rs: dict[str, Any]) -> bool:
    """Set desired-replicas and max-replicas; True when they changed."""
    replicas = deployment["spec"].get("replicas", 1)
    wanted = {DESIRED_REPLICAS: str(replicas), MAX_REPLICAS: str(replicas + fenceposts(deployment)[0])}
    annotations = rs["metadata"].setdefault("annotations", {})
    changed = any(annotations.get(k) != v for k, v in wanted.items())
    annotations.update(wanted)
    return changed


def set_revision(rs: dict[str, Any], new_revision: int) -> bool:
    """Raise a ReplicaSet's revision (an old template coming back gets the next number); True if changed."""
    annotations = rs["metadata"].setdefault("annotations", {})
    current = revision(rs)
    if current >= new_revision:
        return False
    if current:
        history = [h for h in annotations.get(REVISION_HISTORY, "").split(",") if h]
        annotations[REVISION_HISTORY] = ",".join([*history, str(current)])
    annotations[REVISION] = str(new_revision)
    return True


def condition(status: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def new_condition(kind: str, status: str, reason: str, message: str) -> dict[str, Any]:
    stamp = now_rfc3339()
    return {"type": kind, "status": status, "lastUpdateTime": stamp, "lastTransitionTime": stamp,
            "reason": reason, "message": message}


def set_condition(status: dict[str, Any], new: dict[str, Any]) -> None:
    """SetDeploymentCondition: same status and reason keeps the old one; same status keeps its transition time."""
    current = condition(status, new["type"])
    if current is not None and current["status"] == new["status"] and current.get("reason") == new["reason"]:
        return
    if current is not None and current["status"] == new["status"]:
        new["lastTransitionTime"] = current["lastTransitionTime"]
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != new["type"]] + [new]


def remove_condition(status: dict[str, Any], kind: str) -> None:
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != kind]


def deployment_complete(deployment: dict[str, Any], status: dict[str, Any]) -> bool:
    replicas = deployment["spec"].get("replicas", 1)
    return (status.get("updatedReplicas", 0) == replicas and status.get("replicas", 0) == replicas
            and status.get("availableReplicas", 0) == replicas
            and status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 1))


def deployment_progressing(old: dict[str, Any], new: dict[str, Any]) -> bool:
    def old_pods(s: dict[str, Any]) -> int:
        return s.get("replicas", 0) - s.get("updatedReplicas", 0)

    return (new.get("updatedReplicas", 0) > old.get("updatedReplicas", 0) or old_pods(new) < old_pods(old)
            or new.get("readyReplicas", 0) > old.get("readyReplicas", 0)
            or new.get("availableReplicas", 0) > old.get("availableReplicas", 0))


def deployment_timed_out(deployment: dict[str, Any], status: dict[str, Any], now_epoch: float) -> bool:
    from datetime import datetime

    deadline = deployment["spec"].get("progressDeadlineSeconds")
    current = condition(status, "Progressing")
    if deadline is None or current is None:
        return False
    if current.get("reason") == TIMED_OUT:
        return True
    since = datetime.fromisoformat(current["lastUpdateTime"].replace("Z", "+00:00")).timestamp()
    # The stamp is truncated to the second: count from the end of that second, so never time out early.
    return since + 1 + deadline < now_epoch
