"""Revision history and `kubectl rollout undo`, over the ReplicaSets a Deployment owns."""

from __future__ import annotations

from dataclasses import dataclass, field

from magent.core.canary import STATE_ANNOTATION
from magent.core.errors import InconsistentState
from magent.core.rollout import equal_ignore_hash, owned_replica_sets, pick_revision, template_images, undo_patch
from magent.services.kube.client import Kube
from magent.services.kube.deployments import get_deployment, label_selector, patch_json
from magent.services.kube.objects import Deployment, ReplicaSet


@dataclass(frozen=True)
class Revision:
    number: int
    images: list[str]
    change_cause: str | None
    created: str | None
    replica_set: str
    current: bool


@dataclass(frozen=True)
class UndoResult:
    """What `undo()` did (or, with dry_run, would do)."""

    deployment: str
    to_revision: int
    from_images: list[str]
    to_images: list[str]
    skipped: bool = False
    dry_run: bool = False
    message: str = ""
    patch: list[dict] = field(default_factory=list, repr=False)


def replica_sets(kube: Kube, deployment: Deployment) -> list[ReplicaSet]:
    """The ReplicaSets `deployment` controls: listed by its selector, kept if their controller is its uid."""
    data = kube.call(kube.apps.list_namespaced_replica_set, kube.namespace,
                     label_selector=label_selector(deployment.selector))
    return [ReplicaSet(rs) for rs in owned_replica_sets(deployment.raw, (data or {}).get("items") or [])]


def history(kube: Kube, name: str) -> list[Revision]:
    """`kubectl rollout history`: one entry per revision, oldest first, the live one marked current."""
    deployment = get_deployment(kube, name)
    revisions = []
    for rs in replica_sets(kube, deployment):
        if rs.revision is None:
            continue
        current = equal_ignore_hash(rs.spec.get("template") or {}, deployment.template)
        revisions.append(Revision(rs.revision, rs.images, rs.change_cause, rs.created, rs.name, current))
    return sorted(revisions, key=lambda r: r.number)


def plan_undo(
    kube: Kube, deployment: Deployment, to_revision: int = 0, *, overrides: dict[str, str] | None = None,
) -> UndoResult:
    """What `kubectl rollout undo [--to-revision N]` would do to `deployment`, in kubectl's order of checks.

    The one difference with kubectl: magent's state annotation keeps its value on the Deployment (or
    `overrides`), where kubectl would restore the copy the controller made on the old ReplicaSet.
    """
    target = pick_revision(deployment.raw, [rs.raw for rs in replica_sets(kube, deployment)], to_revision)
    number = ReplicaSet(target).revision or 0
    to_images = template_images(target["spec"]["template"])
    base = UndoResult(deployment.name, number, deployment.images, to_images)
    if deployment.paused:
        raise InconsistentState(
            f"you cannot rollback a paused deployment; resume it first with "
            f"'kubectl rollout resume deployment/{deployment.name}' and try again",
            hint="a paused Deployment is being changed by someone: check with them first")
    if equal_ignore_hash(target["spec"]["template"], deployment.template):
        return UndoResult(**{**base.__dict__, "skipped": True,
                             "message": f"skipped rollback (current template already matches revision {number})"})
    keep: dict[str, str | None] = {STATE_ANNOTATION: deployment.annotations.get(STATE_ANNOTATION)}
    patch = undo_patch(deployment.raw, target, overrides={**keep, **(overrides or {})})
    return UndoResult(**{**base.__dict__, "patch": patch, "message": f"rolled back to revision {number}"})


def undo(kube: Kube, plan: UndoResult) -> Deployment | None:
    """Send the patch of a planned undo (nothing when it was skipped)."""
    if plan.skipped or not plan.patch:
        return None
    return patch_json(kube, plan.deployment, plan.patch)
