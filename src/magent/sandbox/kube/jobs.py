"""The Job controller, after kubernetes/pkg/controller/job (job_controller.go, indexed_job_utils.go).

No container runs in the sandbox: a Job's pods run (Running, Ready) until a test ends them with
`KubeSimulator.finish_pod(namespace, name, succeeded=…)`. The controller keeps up to `parallelism` pods
active, for `completionMode: Indexed` one per pending index (named `<job>-<index>-<suffix>`, with the
`batch.kubernetes.io/job-completion-index` annotation and label and `JOB_COMPLETION_INDEX` in every
container's env), replaces failed pods within `backoffLimit` (or per index within `backoffLimitPerIndex`),
and reports active/ready/succeeded/failed, completedIndexes/failedIndexes and the Complete/Failed conditions.
Terminated pods are counted once, by uid, so deleting them later does not change the counts.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from magent.sandbox.kube.discovery import by_kind
from magent.sandbox.kube.errors import ApiError
from magent.sandbox.kube.events import EventRecorder
from magent.sandbox.kube.graceful import is_terminating
from magent.sandbox.kube.jobspec import INDEX_KEY
from magent.sandbox.kube.pods import NODE_NAME, POD
from magent.sandbox.kube.replicaset import by_controller, owner_reference, pod_ready
from magent.sandbox.kube.store import ObjectStore, now_rfc3339

JOB = by_kind("batch/v1", "Job")
_COMPONENT = "job-controller"
_TERMINAL = ("Succeeded", "Failed")
Obj = dict[str, Any]


def compress_indexes(indexes: set[int]) -> str:
    """`{0, 1, 2, 4}` → `"0-2,4"`, the format of status.completedIndexes."""
    runs: list[list[int]] = []
    for index in sorted(indexes):
        if runs and index == runs[-1][1] + 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def pod_index(pod: Obj) -> int | None:
    value = (pod["metadata"].get("annotations") or {}).get(INDEX_KEY)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def is_finished(job: Obj) -> bool:
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or [])


def _condition(kind: str, reason: str, message: str) -> Obj:
    stamp = now_rfc3339()
    return {"type": kind, "status": "True", "lastProbeTime": stamp, "lastTransitionTime": stamp,
            "reason": reason, "message": message}


class JobController:
    def __init__(self, store: ObjectStore, events: EventRecorder) -> None:
        self.store = store
        self.events = events
        self._terminated: dict[str, dict[str, tuple[int | None, str]]] = {}  # job uid -> pod uid -> (index, phase)

    def sync(self, jobs: list[Obj], pods: list[Obj]) -> None:
        owned = by_controller(pods)
        live = {job["metadata"]["uid"] for job in jobs}
        for uid in [u for u in self._terminated if u not in live]:
            del self._terminated[uid]
        for job in jobs:
            try:
                self._sync_one(job, owned.get(job["metadata"]["uid"], []))
            except ApiError:
                continue  # changed or deleted meanwhile: retried at the next tick

    def _sync_one(self, job: Obj, pods: list[Obj]) -> None:
        if is_finished(job):
            return
        spec = job["spec"]
        seen = self._terminated.setdefault(job["metadata"]["uid"], {})
        for pod in pods:
            phase = (pod.get("status") or {}).get("phase")
            if phase in _TERMINAL:
                seen.setdefault(pod["metadata"]["uid"], (pod_index(pod), phase))
        active = [p for p in pods if not is_terminating(p) and p["metadata"]["uid"] not in seen]
        tally = _Tally(spec, seen.values())
        outcome = tally.outcome()
        if outcome is None and not spec.get("suspend"):
            active += self._start_pods(job, active, tally)
        elif outcome is not None or spec.get("suspend"):
            for pod in active:
                self.store.delete(POD, pod["metadata"]["namespace"], pod["metadata"]["name"])
            active = []
        self._write_status(job, active, tally, outcome)

    def _start_pods(self, job: Obj, active: list[Obj], tally: _Tally) -> list[Obj]:
        spec = job["spec"]
        room = spec.get("parallelism", 1) - len(active)
        if spec.get("completionMode") == "Indexed":
            running = {pod_index(p) for p in active}
            pending: list[int | None] = [i for i in tally.pending_indexes() if i not in running]
            wanted = pending[:max(room, 0)]
        else:
            remaining = (spec.get("completions") or 1) - tally.succeeded - len(active)
            wanted = [None] * max(min(room, remaining), 0)
        return [self._create_pod(job, index) for index in wanted]

    def _create_pod(self, job: Obj, index: int | None) -> Obj:
        template = copy.deepcopy(job["spec"]["template"])
        meta = template.get("metadata") or {}
        name = job["metadata"]["name"]
        labels = dict(meta.get("labels") or {})
        annotations = dict(meta.get("annotations") or {})
        pod_spec = {**template.get("spec", {}), "nodeName": NODE_NAME}
        if index is not None:
            labels[INDEX_KEY] = annotations[INDEX_KEY] = str(index)
            pod_spec.setdefault("hostname", f"{name}-{index}")
            env = {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
                "apiVersion": "v1", "fieldPath": f"metadata.annotations['{INDEX_KEY}']"}}}
            for container in [*(pod_spec.get("initContainers") or []), *(pod_spec.get("containers") or [])]:
                container["env"] = [*(container.get("env") or []), env]
        pod: Obj = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"generateName": f"{name}-{index}-" if index is not None else f"{name}-",
                         "namespace": job["metadata"]["namespace"], "labels": labels,
                         "ownerReferences": [owner_reference(job)]},
            "spec": pod_spec,
        }
        if annotations:
            pod["metadata"]["annotations"] = annotations
        created = self.store.create(POD, pod)
        self.events.record(job, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}",
                           component=_COMPONENT)
        return created

    def _write_status(self, job: Obj, active: list[Obj], tally: _Tally, outcome: Obj | None) -> None:
        old = job.get("status") or {}
        status: Obj = {"startTime": old.get("startTime") or now_rfc3339(), "active": len(active),
                       "ready": sum(1 for p in active if pod_ready(p)), "succeeded": tally.succeeded,
                       "failed": tally.failed, "terminating": 0, "uncountedTerminatedPods": {}}
        if job["spec"].get("completionMode") == "Indexed":
            if tally.completed:
                status["completedIndexes"] = compress_indexes(tally.completed)
            if job["spec"].get("backoffLimitPerIndex") is not None and tally.failed_indexes:
                status["failedIndexes"] = compress_indexes(tally.failed_indexes)
        status = {k: v for k, v in status.items() if v or k in ("startTime", "ready", "terminating",
                                                                 "uncountedTerminatedPods")}
        status["conditions"] = list(old.get("conditions") or [])
        if outcome is not None:
            status["conditions"] += outcome["conditions"]
            if outcome["complete"]:
                status["completionTime"] = now_rfc3339()
            self.events.record(job, outcome["event_type"], outcome["reason"], outcome["message"],
                               component=_COMPONENT)
        if not status["conditions"]:
            del status["conditions"]
        if status != old:
            job["status"] = status
            self.store.update(JOB, job, subresource="status")


class _Tally:
    """What the counted terminated pods add up to, against the Job's spec."""

    def __init__(self, spec: Obj, terminated: Any) -> None:
        self.spec = spec
        self.indexed = spec.get("completionMode") == "Indexed"
        results = list(terminated)
        self.succeeded_pods = sum(1 for _, phase in results if phase == "Succeeded")
        self.failed = sum(1 for _, phase in results if phase == "Failed")
        self.completed = {i for i, phase in results if phase == "Succeeded" and i is not None}
        per_index: dict[int, int] = {}
        for index, phase in results:
            if phase == "Failed" and index is not None and index not in self.completed:
                per_index[index] = per_index.get(index, 0) + 1
        limit = spec.get("backoffLimitPerIndex")
        self.failed_indexes = {i for i, n in per_index.items() if limit is not None and n > limit}

    @property
    def succeeded(self) -> int:
        return len(self.completed) if self.indexed else self.succeeded_pods

    def pending_indexes(self) -> list[int]:
        done = self.completed | self.failed_indexes
        return [i for i in range(self.spec.get("completions") or 0) if i not in done]

    def outcome(self) -> Obj | None:
        """The finishing conditions, once the Job is done one way or the other; None while it runs."""
        completions = self.spec.get("completions") or 1
        if self.spec.get("backoffLimitPerIndex") is None and self.failed > self.spec.get("backoffLimit", 6):
            return _failed("BackoffLimitExceeded", "Job has reached the specified backoff limit")
        if self.indexed and self.failed_indexes and not self.pending_indexes():
            return _failed("FailedIndexes", "Job has failed indexes")
        max_failed = self.spec.get("maxFailedIndexes")
        if self.indexed and max_failed is not None and len(self.failed_indexes) > max_failed:
            return _failed("MaxFailedIndexesExceeded", "Job has exceeded the specified maximal number of failed "
                                                       "indexes")
        if self.succeeded >= completions:
            return {"complete": True, "reason": "Completed", "message": "Job completed", "event_type": "Normal",
                    "conditions": [_condition("SuccessCriteriaMet", "CompletionsReached",
                                              "Reached expected number of succeeded pods"),
                                   _condition("Complete", "CompletionsReached",
                                              "Reached expected number of succeeded pods")]}
        return None


def _failed(reason: str, message: str) -> Obj:
    return {"complete": False, "reason": reason, "message": message, "event_type": "Warning",
            "conditions": [_condition("FailureTarget", reason, message), _condition("Failed", reason, message)]}


def job_duration(job: Obj) -> str:
    """kubectl's DURATION column: completion − start, or now − start while it runs."""
    from magent.sandbox.kube.tables import human_duration

    status = job.get("status") or {}
    if not status.get("startTime"):
        return ""
    start = datetime.fromisoformat(status["startTime"].replace("Z", "+00:00"))
    end_stamp = status.get("completionTime")
    end = datetime.fromisoformat(end_stamp.replace("Z", "+00:00")) if end_stamp else datetime.now(UTC)
    return human_duration((end - start).total_seconds())
