"""kubectl's rollout logic, ported to pure functions over Deployment/ReplicaSet dicts (as the API returns them).

- `rollout_status()` is `DeploymentStatusViewer.Status` of kubectl's `pkg/polymorphichelpers/rollout_status.go`.
- `owned_replica_sets()`, `pick_revision()`, `equal_ignore_hash()` and `undo_patch()` are
  `pkg/util/deployment` and `DeploymentRollbacker.Rollback` of `pkg/polymorphichelpers/rollback.go`, so that
  `magent rollback` sends the very JSON patch `kubectl rollout undo` sends.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from magent.core.errors import InconsistentState, UsageError

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause"
POD_TEMPLATE_HASH = "pod-template-hash"
TIMED_OUT_REASON = "ProgressDeadlineExceeded"

# Annotations kept from the Deployment (never copied from the ReplicaSet) on rollback, as kubectl does.
ANNOTATIONS_TO_SKIP = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION_ANNOTATION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
})

Obj = dict[str, Any]


@dataclass(frozen=True)
class RolloutStatus:
    """One observation of a rollout: kubectl's message, and whether the rollout is complete."""

    message: str
    done: bool


class RolloutFailed(InconsistentState):
    """The Deployment exceeded its progress deadline (kubectl: 'exceeded its progress deadline')."""


def rollout_status(deployment: Obj) -> RolloutStatus:
    """The status `kubectl rollout status` prints for this Deployment; raises RolloutFailed on a timed-out rollout."""
    name = deployment["metadata"]["name"]
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    generation = deployment["metadata"].get("generation", 0)
    if generation > status.get("observedGeneration", 0):
        return RolloutStatus("Waiting for deployment spec update to be observed...", False)
    progressing = condition(status, "Progressing")
    if progressing and progressing.get("reason") == TIMED_OUT_REASON:
        raise RolloutFailed(
            f'deployment "{name}" exceeded its progress deadline',
            hint=f"see `kubectl describe deployment {name}` and the pods' events; `magent rollback` undoes it",
        )
    wanted = spec.get("replicas")
    updated = status.get("updatedReplicas", 0)
    replicas, available = status.get("replicas", 0), status.get("availableReplicas", 0)
    if wanted is not None and updated < wanted:
        return RolloutStatus(
            f'Waiting for deployment "{name}" rollout to finish: {updated} out of {wanted} new replicas have been updated...',
            False,
        )
    if replicas > updated:
        return RolloutStatus(
            f'Waiting for deployment "{name}" rollout to finish: {replicas - updated} old replicas are pending termination...',
            False,
        )
    if available < updated:
        return RolloutStatus(
            f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} updated replicas are available...',
            False,
        )
    return RolloutStatus(f'deployment "{name}" successfully rolled out', True)


def condition(status: Obj, kind: str) -> Obj | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def revision_of(obj: Obj) -> int | None:
    """`deployment.kubernetes.io/revision` as an int; None when absent or not a number."""
    value = (obj.get("metadata", {}).get("annotations") or {}).get(REVISION_ANNOTATION)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def owned_replica_sets(deployment: Obj, replica_sets: list[Obj]) -> list[Obj]:
    """The ReplicaSets whose controller owner reference is this Deployment (kubectl's listReplicaSets)."""
    uid = deployment["metadata"].get("uid")
    return [rs for rs in replica_sets if any(
        ref.get("uid") == uid and ref.get("controller") for ref in rs["metadata"].get("ownerReferences") or []
    )]


def _without_hash(template: Obj) -> Obj:
    cleaned = copy.deepcopy(template or {})
    labels = (cleaned.get("metadata") or {}).get("labels")
    if labels is not None:
        labels.pop(POD_TEMPLATE_HASH, None)
    return cleaned


def equal_ignore_hash(template1: Obj, template2: Obj) -> bool:
    """Two pod templates are equal apart from the `pod-template-hash` label (kubectl's equalIgnoreHash)."""
    return _normalise(_without_hash(template1)) == _normalise(_without_hash(template2))


def _normalise(value: Any) -> Any:
    """Semantic equality as Go's DeepEqual over typed structs sees it: empty maps/lists equal absent ones."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def pick_revision(deployment: Obj, owned: list[Obj], to_revision: int = 0) -> Obj:
    """The ReplicaSet to roll back to: `to_revision`, or the second newest revision (kubectl's deploymentRevision)."""
    name = deployment["metadata"]["name"]
    if to_revision < 0:
        raise UsageError(f"unable to find specified revision {to_revision} in history", hint="revisions are positive")
    latest: tuple[int, Obj | None] = (-1, None)
    previous: tuple[int, Obj | None] = (-1, None)
    for rs in owned:
        revision = revision_of(rs)
        if revision is None:
            continue
        if to_revision and revision == to_revision:
            return rs
        if not to_revision:
            if latest[0] < revision:
                previous, latest = latest, (revision, rs)
            elif previous[0] < revision:
                previous = (revision, rs)
    if to_revision:
        raise UsageError(f"unable to find specified revision {to_revision} in history",
                         hint=f"see `magent history --deployment {name} --revisions`")
    if previous[1] is None:
        raise InconsistentState(f'no rollout history found for deployment "{name}"',
                                hint="there is no previous revision to roll back to")
    return previous[1]


def undo_patch(deployment: Obj, target: Obj, *, overrides: dict[str, str | None] | None = None) -> list[Obj]:
    """The JSON patch kubectl sends: replace /spec/template (hash label removed) and /metadata/annotations.

    `overrides` are annotations set on top, None removing one: magent keeps its own state annotation as
    it is on the Deployment, not the stale copy the deployment controller left on the old ReplicaSet.
    """
    template = _without_hash(target["spec"]["template"])
    current = deployment["metadata"].get("annotations") or {}
    annotations = {k: v for k, v in current.items() if k in ANNOTATIONS_TO_SKIP}
    for key, value in (target["metadata"].get("annotations") or {}).items():
        if key not in ANNOTATIONS_TO_SKIP:
            annotations[key] = value
    for key, value in (overrides or {}).items():
        if value is None:
            annotations.pop(key, None)
        else:
            annotations[key] = value
    return [
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]


def template_images(template: Obj) -> list[str]:
    """The images of a pod template's containers, in order."""
    return [c.get("image", "") for c in (template.get("spec") or {}).get("containers") or []]
