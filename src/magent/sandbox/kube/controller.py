"""The deployment controller, after kubernetes/pkg/controller/deployment (rolling.go, recreate.go, sync.go).

Each Deployment owns ReplicaSets named `<deployment>-<pod-template-hash>`. The one whose template equals the
Deployment's is the new one (created when missing, unless paused); RollingUpdate scales it up within
maxSurge and scales old ones down within maxUnavailable; Recreate scales old ones to zero first. Revisions,
the Progressing / Available conditions, progressDeadlineSeconds, pausing and revisionHistoryLimit behave as
on a real cluster.
"""

from __future__ import annotations

import time
from typing import Any

from magent.sandbox.kube import rollout as ro
from magent.sandbox.kube.discovery import by_kind
from magent.sandbox.kube.errors import ApiError
from magent.sandbox.kube.events import EventRecorder
from magent.sandbox.kube.replicaset import REPLICASET, by_controller, owner_reference
from magent.sandbox.kube.store import ObjectStore

DEPLOYMENT = by_kind("apps/v1", "Deployment")
_COMPONENT = "deployment-controller"
Obj = dict[str, Any]


class DeploymentController:
    def __init__(self, store: ObjectStore, events: EventRecorder) -> None:
        self.store = store
        self.events = events

    def sync(self, deployments: list[Obj], replicasets: list[Obj], pods_by_owner: dict[str, list[Obj]]) -> None:
        owned = by_controller(replicasets)
        for deployment in deployments:
            try:
                Rollout(self, deployment, owned.get(deployment["metadata"]["uid"], []), pods_by_owner).run()
            except ApiError:
                continue  # a conflicting write meanwhile: the next tick starts from the new state

    def scale(self, deployment: Obj, rs: Obj, replicas: int) -> bool:
        """Set a ReplicaSet's replicas (and its replica annotations); records ScalingReplicaSet. True if changed."""
        old = rs["spec"].get("replicas", 1)
        annotated = ro.replica_annotations(deployment, rs)
        if old == replicas and not annotated:
            return False
        rs["spec"]["replicas"] = replicas
        rs.update(self.store.update(REPLICASET, rs))
        if old != replicas:
            direction = "up" if replicas > old else "down"
            self.events.record(deployment, "Normal", "ScalingReplicaSet",
                               f"Scaled {direction} replica set {rs['metadata']['name']} to {replicas} from {old}",
                               component=_COMPONENT)
        return old != replicas


class Rollout:
    """One sync of one Deployment."""

    def __init__(self, controller: DeploymentController, deployment: Obj, replicasets: list[Obj],
                 pods_by_owner: dict[str, list[Obj]]) -> None:
        self.c = controller
        self.d = deployment
        self.all = sorted(replicasets, key=lambda rs: (rs["metadata"]["creationTimestamp"], rs["metadata"]["name"]))
        self.pods_by_owner = pods_by_owner
        self.new = next((rs for rs in self.all if ro.templates_equal(rs["spec"]["template"],
                                                                      deployment["spec"]["template"])), None)
        self.old_status = dict(deployment.get("status") or {})

    @property
    def olds(self) -> list[Obj]:
        return [rs for rs in self.all if rs is not self.new]

    @property
    def replicas(self) -> int:
        return self.d["spec"].get("replicas", 1)

    def run(self) -> None:
        status = dict(self.old_status)
        self._paused_condition(status)
        if self.d["spec"].get("paused") or self._scaling_event():
            self._proportional_scale()
            if self.d["spec"].get("paused"):
                self._cleanup()
            self._write_status(self._calculate(status), progress=False)
            return
        if self.d["spec"].get("strategy", {}).get("type") == "Recreate":
            self._recreate(status)
        else:
            self._rolling(status)

    # --- strategies ----------------------------------------------------------------------------------
    def _rolling(self, status: Obj) -> None:
        self._ensure_new(status)
        if not self._scale_up_new():
            self._scale_down_olds()
        new_status = self._calculate(status)
        if ro.deployment_complete(self.d, new_status):
            self._cleanup()
        self._write_status(new_status, progress=True)

    def _recreate(self, status: Obj) -> None:
        scaled = [self.c.scale(self.d, rs, 0) for rs in self.olds if rs["spec"].get("replicas", 1) != 0]
        old_pods_left = any(self.pods_by_owner.get(rs["metadata"]["uid"]) for rs in self.olds)
        if not any(scaled) and not old_pods_left:
            self._ensure_new(status)
            self.c.scale(self.d, self.new, self.replicas)
        elif self.new is not None:
            self._sync_revision()
        new_status = self._calculate(status)
        if ro.deployment_complete(self.d, new_status):
            self._cleanup()
        self._write_status(new_status, progress=True)

    def _scale_up_new(self) -> bool:
        assert self.new is not None
        current = self.new["spec"].get("replicas", 1)
        if current > self.replicas:
            return self.c.scale(self.d, self.new, self.replicas)
        if current == self.replicas:
            return self.c.scale(self.d, self.new, current)  # keeps its replica annotations current
        surge, _ = ro.fenceposts(self.d)
        total = sum(rs["spec"].get("replicas", 1) for rs in self.all)
        room = max(0, self.replicas + surge - total)
        return self.c.scale(self.d, self.new, current + min(room, self.replicas - current))

    def _scale_down_olds(self) -> bool:
        """reconcileOldReplicaSets: unhealthy old pods go first, then old pods above minAvailable."""
        olds = [rs for rs in self.olds if rs["spec"].get("replicas", 1) > 0]
        if not olds or self.new is None:
            return False
        total = sum(rs["spec"].get("replicas", 1) for rs in self.all)
        min_available = self.replicas - ro.max_unavailable(self.d)
        new_available = (self.new.get("status") or {}).get("availableReplicas", 0)
        new_unavailable = self.new["spec"].get("replicas", 1) - new_available
        budget = total - min_available - new_unavailable
        if budget <= 0:
            return False
        scaled = False
        for rs in olds:  # oldest first
            unhealthy = rs["spec"].get("replicas", 1) - (rs.get("status") or {}).get("availableReplicas", 0)
            step = min(budget, max(unhealthy, 0))
            if step > 0:
                scaled |= self.c.scale(self.d, rs, rs["spec"]["replicas"] - step)
                budget -= step
        available = sum((rs.get("status") or {}).get("availableReplicas", 0) for rs in self.all)
        budget = min(budget, available - min_available)
        for rs in olds:
            step = min(budget, rs["spec"].get("replicas", 1))
            if step > 0:
                scaled |= self.c.scale(self.d, rs, rs["spec"]["replicas"] - step)
                budget -= step
        return scaled

    # --- scaling while paused, or resized mid-rollout ------------------------------------------------
    def _scaling_event(self) -> bool:
        active = [rs for rs in self.all if rs["spec"].get("replicas", 1) > 0]
        for rs in active:
            desired = (rs["metadata"].get("annotations") or {}).get(ro.DESIRED_REPLICAS)
            if desired is not None and desired != str(self.replicas):
                return True
        return False

    def _proportional_scale(self) -> None:
        active = [rs for rs in self.all if rs["spec"].get("replicas", 1) > 0]
        if self.new is not None and self.new["spec"].get("replicas", 1) == self.replicas:
            for rs in self.olds:
                self.c.scale(self.d, rs, 0)
            return
        if len(active) <= 1:
            target = active[0] if active else (self.new or (self.all[-1] if self.all else None))
            if target is not None:
                self.c.scale(self.d, target, self.replicas)
            return
        surge, _ = ro.fenceposts(self.d)
        current = sum(rs["spec"]["replicas"] for rs in active)
        to_add = self.replicas + surge - current
        ordered = sorted(active, key=lambda rs: rs["spec"]["replicas"], reverse=True)
        left = to_add
        for index, rs in enumerate(ordered):
            share = left if index == len(ordered) - 1 else round(to_add * rs["spec"]["replicas"] / current)
            share = max(share, -rs["spec"]["replicas"])
            self.c.scale(self.d, rs, rs["spec"]["replicas"] + share)
            left -= share

    # --- the new ReplicaSet, revisions, cleanup -------------------------------------------------------
    def _ensure_new(self, status: Obj) -> None:
        if self.new is None:
            self.new = self._create_new()
            self.all.append(self.new)
            message = f'Created new replica set "{self.new["metadata"]["name"]}"'
            status["conditions"] = [c for c in status.get("conditions") or [] if c["type"] != "Progressing"]
            ro.set_condition(status, ro.new_condition("Progressing", "True", ro.NEW_RS_CREATED, message))
        elif _progress_target(status) not in (None, self.new["metadata"]["name"]):
            # An existing ReplicaSet becomes the new one again (a rollback): its deadline starts now.
            message = f'Found new replica set "{self.new["metadata"]["name"]}"'
            ro.remove_condition(status, "Progressing")
            ro.set_condition(status, ro.new_condition("Progressing", "True", ro.FOUND_NEW_RS, message))
        self._sync_revision()

    def _create_new(self) -> Obj:
        collisions = (self.d.get("status") or {}).get("collisionCount", 0)
        while True:
            pod_hash = ro.template_hash(self.d["spec"]["template"], collisions)
            name = f"{self.d['metadata']['name']}-{pod_hash}"
            if self.c.store.get(REPLICASET, self.d["metadata"]["namespace"], name) is None:
                break
            collisions += 1
        template = ro.template_without_hash(self.d["spec"]["template"])
        template.setdefault("metadata", {}).setdefault("labels", {})[ro.HASH_LABEL] = pod_hash
        selector = dict(self.d["spec"]["selector"])
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), ro.HASH_LABEL: pod_hash}
        rs = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": self.d["metadata"]["namespace"],
                         "labels": dict(template["metadata"]["labels"]), "ownerReferences": [owner_reference(self.d)],
                         "annotations": {}},
            "spec": {"replicas": 0, "minReadySeconds": self.d["spec"].get("minReadySeconds", 0),
                     "selector": selector, "template": template},
        }
        ro.copy_annotations(self.d, rs)
        ro.replica_annotations(self.d, rs)
        ro.set_revision(rs, max((ro.revision(o) for o in self.all), default=0) + 1)
        return self.c.store.create(REPLICASET, rs)

    def _sync_revision(self) -> None:
        """The new ReplicaSet carries the highest revision; the Deployment's annotation follows it."""
        assert self.new is not None
        changed = ro.set_revision(self.new, max((ro.revision(o) for o in self.olds), default=0) + 1)
        changed |= ro.copy_annotations(self.d, self.new)
        if changed:
            self.new.update(self.c.store.update(REPLICASET, self.new))
        wanted = self.new["metadata"]["annotations"][ro.REVISION]
        annotations = self.d["metadata"].setdefault("annotations", {})
        if annotations.get(ro.REVISION) != wanted:
            annotations[ro.REVISION] = wanted
            self.d.update(self.c.store.update(DEPLOYMENT, self.d))

    def _cleanup(self) -> None:
        """revisionHistoryLimit: delete the oldest revisions among old ReplicaSets scaled to zero."""
        limit = self.d["spec"].get("revisionHistoryLimit")
        if limit is None:
            return
        olds = sorted(self.olds, key=ro.revision)
        for rs in olds[: max(0, len(olds) - limit)]:
            status = rs.get("status") or {}
            if rs["spec"].get("replicas", 1) or status.get("replicas", 0):
                continue
            if rs["metadata"].get("generation", 1) > status.get("observedGeneration", 0):
                continue
            self.c.store.delete(REPLICASET, rs["metadata"]["namespace"], rs["metadata"]["name"])
            self.all.remove(rs)

    # --- status ----------------------------------------------------------------------------------------
    def _paused_condition(self, status: Obj) -> None:
        current = ro.condition(status, "Progressing")
        if current is not None and current.get("reason") == ro.TIMED_OUT:
            return
        paused_cond = current is not None and current.get("reason") == ro.PAUSED
        if self.d["spec"].get("paused") and not paused_cond:
            ro.set_condition(status, ro.new_condition("Progressing", "Unknown", ro.PAUSED, "Deployment is paused"))
        elif not self.d["spec"].get("paused") and paused_cond:
            ro.set_condition(status, ro.new_condition("Progressing", "Unknown", ro.RESUMED, "Deployment is resumed"))

    def _calculate(self, base: Obj) -> Obj:
        def total(key: str, replicasets: list[Obj]) -> int:
            return sum((rs.get("status") or {}).get(key, 0) for rs in replicasets)

        available = total("availableReplicas", self.all)
        counts = {
            "replicas": total("replicas", self.all),
            "updatedReplicas": total("replicas", [self.new] if self.new else []),
            "readyReplicas": total("readyReplicas", self.all),
            "availableReplicas": available,
            "unavailableReplicas": max(0, sum(rs["spec"].get("replicas", 1) for rs in self.all) - available),
        }
        status: Obj = {"observedGeneration": self.d["metadata"].get("generation", 1)}
        status.update({k: v for k, v in counts.items() if v})
        if base.get("collisionCount"):
            status["collisionCount"] = base["collisionCount"]
        status["conditions"] = [dict(c) for c in base.get("conditions") or []]
        if available >= self.replicas - ro.max_unavailable(self.d):
            ro.set_condition(status, ro.new_condition("Available", "True", "MinimumReplicasAvailable",
                                                      "Deployment has minimum availability."))
        else:
            ro.set_condition(status, ro.new_condition("Available", "False", "MinimumReplicasUnavailable",
                                                      "Deployment does not have minimum availability."))
        return status

    def _write_status(self, status: Obj, *, progress: bool) -> None:
        if progress:
            self._progress_condition(status)
        if status == self.d.get("status"):
            return
        self.d["status"] = status
        self.c.store.update(DEPLOYMENT, self.d, subresource="status")

    def _progress_condition(self, status: Obj) -> None:
        """syncRolloutStatus: complete, progressing (the deadline restarts) or timed out."""
        if self.d["spec"].get("progressDeadlineSeconds") is None:
            ro.remove_condition(status, "Progressing")
            return
        current = ro.condition(status, "Progressing")
        if (status.get("replicas", 0) == status.get("updatedReplicas", 0) and current is not None
                and current.get("reason") == ro.NEW_RS_AVAILABLE):
            return
        name = self.new["metadata"]["name"] if self.new else self.d["metadata"]["name"]
        what = f'ReplicaSet "{name}"' if self.new else f'Deployment "{name}"'
        if ro.deployment_complete(self.d, status):
            ro.set_condition(status, ro.new_condition("Progressing", "True", ro.NEW_RS_AVAILABLE,
                                                      f"{what} has successfully progressed."))
        elif ro.deployment_progressing(self.old_status, status):
            fresh = ro.new_condition("Progressing", "True", ro.RS_UPDATED, f"{what} is progressing.")
            if current is not None and current["status"] == "True":
                fresh["lastTransitionTime"] = current["lastTransitionTime"]
            ro.remove_condition(status, "Progressing")
            ro.set_condition(status, fresh)
        elif ro.deployment_timed_out(self.d, status, time.time()):
            ro.set_condition(status, ro.new_condition("Progressing", "False", ro.TIMED_OUT,
                                                      f"{what} has timed out progressing."))


def _progress_target(status: Obj) -> str | None:
    """The ReplicaSet the Progressing condition talks about (its message quotes the name)."""
    current = ro.condition(status, "Progressing")
    message = (current or {}).get("message", "")
    if current is None or current.get("reason") in (ro.PAUSED, ro.RESUMED) or '"' not in message:
        return None
    return message.split('"')[1]
