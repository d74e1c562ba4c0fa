"""A pretend kubelet: pods go Pending → Running → Ready after `ready_delay`, unless their image says otherwise.

Fault images (the tag's ending decides, per container):
- `…-unready`   runs but never becomes ready (Warning event `Unhealthy`: readiness probe failed).
- `…-crashloop` exits with code 1 after each run: state waiting `CrashLoopBackOff`, `lastState` terminated
  `Error`, `restartCount` growing, never ready, Warning events `BackOff`; the back-off doubles from crash to
  crash as on a node (see backoff.py: `restart_interval` is the first crash-restart cycle).
- `…-oom`       the same, but killed for memory: `lastState.terminated.reason` is `OOMKilled` (exit code 137).
A pod being deleted (a `deletionTimestamp`, see graceful.py) gets a `Killing` event, keeps its last status,
and is removed when its grace period, run `grace_scale` times as fast, is over.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from magent.sandbox.kube.backoff import crash_cycle, go_duration
from magent.sandbox.kube.discovery import by_kind
from magent.sandbox.kube.errors import ApiError, bad_request
from magent.sandbox.kube.events import EventRecorder
from magent.sandbox.kube.store import ObjectStore

POD = by_kind("v1", "Pod")
NODE_NAME = "magent-sandbox-node"
HOST_IP = "172.18.0.2"
FAULTS = ("unready", "crashloop", "oom")
_KUBELET = "kubelet"


def image_tag(image: str) -> str:
    name = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else "latest"


def image_fault(image: str) -> str | None:
    """'unready', 'crashloop' or 'oom' when the image's tag ends in `-<fault>`; None for a healthy image."""
    tag = image_tag(image)
    return next((fault for fault in FAULTS if tag.endswith(f"-{fault}")), None)


def _stamp(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class PodClock:
    """When this process first saw the pod (monotonic and wall clock): the base of its simulated life."""

    seen: float
    seen_wall: float
    ip: str

    def wall(self, moment: float) -> float:
        return self.seen_wall + (moment - self.seen)


@dataclass(frozen=True)
class ContainerView:
    """One container at one instant."""

    name: str
    image: str
    ready: bool
    restarts: int
    running_since: float  # monotonic
    crashed: bool  # in back-off after a crash
    fault: str | None
    previous_since: float | None = None  # monotonic start of the run before (crash loops)
    run_s: float = 0.0  # how long a crash-looping run lasts
    backoff_s: float = 0.0  # the back-off in force (crash loops)


class PodLifecycle:
    """Moves every pod's status along; computes everything from the pod's age, so it is idempotent."""

    def __init__(self, store: ObjectStore, events: EventRecorder, *, ready_delay: float,
                 restart_interval: float, grace_scale: float = 0.01) -> None:
        self.store = store
        self.events = events
        self.ready_delay = ready_delay
        self.restart_interval = restart_interval
        self.grace_scale = grace_scale
        self._clocks: dict[str, PodClock] = {}
        self._ends: dict[str, float] = {}  # uid of a terminating pod -> monotonic time it is removed
        self._next_ip = 10
        self.next_due = float("inf")  # monotonic time of the next transition any pod will make

    def clock(self, pod: dict[str, Any]) -> PodClock:
        uid = pod["metadata"]["uid"]
        if uid not in self._clocks:
            self._next_ip = self._next_ip % 250 + 1
            self._clocks[uid] = PodClock(time.monotonic(), time.time(), f"10.244.0.{self._next_ip}")
        return self._clocks[uid]

    def sync(self, pods: list[dict[str, Any]]) -> None:
        live = {p["metadata"]["uid"] for p in pods}
        for table in (self._clocks, self._ends):
            for uid in [u for u in table if u not in live]:
                del table[uid]
        now = time.monotonic()
        self.next_due = float("inf")
        for pod in pods:
            if pod["metadata"].get("deletionTimestamp"):
                self.next_due = min(self.next_due, self._terminate(pod, now))
                continue
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue  # ended by `finish`: its containers no longer run
            self._sync_pod(pod, now)
            self.next_due = min(self.next_due, self._next_transition(pod, now))

    def _terminate(self, pod: dict[str, Any], now: float) -> float:
        """Stop a pod being deleted: removed when its (scaled) grace period is over; returns when that is."""
        meta = pod["metadata"]
        uid = meta["uid"]
        end = now + max(meta.get("deletionGracePeriodSeconds") or 0, 0) * self.grace_scale
        if uid not in self._ends:
            for spec in pod["spec"].get("containers") or []:
                self.events.record(pod, "Normal", "Killing", f"Stopping container {spec['name']}",
                                   component=_KUBELET, field_path=f"spec.containers{{{spec['name']}}}")
        self._ends[uid] = end = min(self._ends.get(uid, end), end)  # a shorter grace given later wins
        if now < end:
            return end
        try:
            self.store.delete(POD, meta.get("namespace"), meta["name"], grace_period_seconds=0)
        except ApiError:
            pass  # already removed (force-deleted, or its namespace went)
        return float("inf")

    def _next_transition(self, pod: dict[str, Any], now: float) -> float:
        clock = self.clock(pod)
        due = float("inf")
        for spec in pod["spec"].get("containers") or []:
            fault = image_fault(spec.get("image", ""))
            if fault in ("crashloop", "oom"):
                due = min(due, clock.seen + crash_cycle(now - clock.seen, self.restart_interval).next_change)
            elif fault is None and now - clock.seen < self.ready_delay:
                due = min(due, clock.seen + self.ready_delay)
        return due

    def _sync_pod(self, pod: dict[str, Any], now: float) -> None:
        clock = self.clock(pod)
        views = [self.container(pod, c, now) for c in pod["spec"].get("containers") or []]
        status = self._status(pod, clock, views)
        old = pod.get("status") or {}
        if status == old:
            return
        self._record_transitions(pod, old, views)
        pod["status"] = status
        try:
            self.store.update(POD, pod, subresource="status")
        except ApiError:
            pass  # changed or deleted meanwhile: the next tick sees the new pod

    def container(self, pod: dict[str, Any], spec: dict[str, Any], now: float) -> ContainerView:
        clock = self.clock(pod)
        fault = image_fault(spec.get("image", ""))
        age = now - clock.seen
        if fault in ("crashloop", "oom"):
            cycle = crash_cycle(age, self.restart_interval)
            previous = None if cycle.previous_started is None else clock.seen + cycle.previous_started
            return ContainerView(spec["name"], spec.get("image", ""), False, cycle.restarts,
                                 clock.seen + cycle.started, cycle.crashed, fault, previous, cycle.run,
                                 cycle.backoff)
        ready = fault is None and age >= self.ready_delay
        return ContainerView(spec["name"], spec.get("image", ""), ready, 0, clock.seen, False, fault)

    def _status(self, pod: dict[str, Any], clock: PodClock, views: list[ContainerView]) -> dict[str, Any]:
        old_conditions = {c["type"]: c for c in (pod.get("status") or {}).get("conditions") or []}
        all_ready = bool(views) and all(v.ready for v in views)
        unready = [v.name for v in views if not v.ready]
        message = f"containers with unready status: [{' '.join(unready)}]"
        wanted = [("PodReadyToStartContainers", True, None), ("Initialized", True, None),
                  ("Ready", all_ready, message), ("ContainersReady", all_ready, message), ("PodScheduled", True, None)]
        conditions = [_condition(kind, ok, msg, old_conditions.get(kind)) for kind, ok, msg in wanted]
        return {
            "phase": "Running",
            "conditions": conditions,
            "hostIP": HOST_IP, "hostIPs": [{"ip": HOST_IP}],
            "podIP": clock.ip, "podIPs": [{"ip": clock.ip}],
            "startTime": _stamp(clock.seen_wall),
            "containerStatuses": [self._container_status(pod, clock, v) for v in views],
            "qosClass": "BestEffort",
        }

    def _container_status(self, pod: dict[str, Any], clock: PodClock, view: ContainerView) -> dict[str, Any]:
        uid = pod["metadata"]["uid"]
        if view.crashed:
            state: dict[str, Any] = {"waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off {go_duration(view.backoff_s)} restarting failed container={view.name} "
                           f"pod={pod['metadata']['name']}_{pod['metadata'].get('namespace')}({uid})"}}
        else:
            state = {"running": {"startedAt": _stamp(clock.wall(view.running_since))}}
        last: dict[str, Any] = {}
        if view.restarts:
            oom = view.fault == "oom"
            started = view.running_since if view.crashed else (view.previous_since or view.running_since)
            last = {"terminated": {"exitCode": 137 if oom else 1, "reason": "OOMKilled" if oom else "Error",
                                   "startedAt": _stamp(clock.wall(started)),
                                   "finishedAt": _stamp(clock.wall(started + view.run_s)),
                                   "containerID": _container_id(uid, view.name, view.restarts - 1)}}
        return {
            "name": view.name, "image": view.image,
            "imageID": f"docker.io/library/{view.image.split(':')[0]}@sha256:{_digest(view.image)}",
            "containerID": _container_id(uid, view.name, view.restarts),
            "ready": view.ready, "started": not view.crashed, "restartCount": view.restarts,
            "state": state, "lastState": last,
        }

    def _record_transitions(self, pod: dict[str, Any], old: dict[str, Any], views: list[ContainerView]) -> None:
        before = {c["name"]: c for c in old.get("containerStatuses") or []}
        for view in views:
            previous = before.get(view.name)
            field = f"spec.containers{{{view.name}}}"
            if previous is None:
                self._record_start(pod, view, field)
            elif view.crashed and "waiting" not in (previous.get("state") or {}):
                self.events.record(pod, "Warning", "BackOff", f"Back-off restarting failed container {view.name} "
                                   f"in pod {pod['metadata']['name']}_{pod['metadata'].get('namespace')}"
                                   f"({pod['metadata']['uid']})", component=_KUBELET, field_path=field)
            if view.fault == "unready" and previous is None:
                self.events.record(pod, "Warning", "Unhealthy",
                                   "Readiness probe failed: HTTP probe failed with statuscode: 503",
                                   component=_KUBELET, field_path=field)

    def _record_start(self, pod: dict[str, Any], view: ContainerView, field: str) -> None:
        name = pod["metadata"]["name"]
        if view.name == pod["spec"]["containers"][0]["name"]:
            self.events.record(pod, "Normal", "Scheduled",
                               f"Successfully assigned {pod['metadata'].get('namespace')}/{name} to {NODE_NAME}",
                               component="default-scheduler")
        self.events.record(pod, "Normal", "Pulled", f'Container image "{view.image}" already present on machine',
                           component=_KUBELET, field_path=field)
        self.events.record(pod, "Normal", "Created", f"Created container: {view.name}", component=_KUBELET,
                           field_path=field)
        self.events.record(pod, "Normal", "Started", f"Started container {view.name}", component=_KUBELET,
                           field_path=field)

    def finish(self, pod: dict[str, Any], succeeded: bool, exit_code: int | None = None) -> dict[str, Any]:
        """End every container of a pod (exit 0 → Succeeded, else Failed), as a finished batch container does."""
        code = (0 if succeeded else 1) if exit_code is None else exit_code
        now = _stamp(time.time())
        old = pod.get("status") or {}
        started = {c["name"]: ((c.get("state") or {}).get("running") or {}).get("startedAt", now)
                   for c in old.get("containerStatuses") or []}
        statuses = [{"name": c["name"], "image": c.get("image", ""), "ready": False, "started": False,
                     "restartCount": 0, "containerID": _container_id(pod["metadata"]["uid"], c["name"], 0),
                     "state": {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                              "startedAt": started.get(c["name"], now), "finishedAt": now}},
                     "lastState": {}} for c in pod["spec"].get("containers") or []]
        conditions = [_condition(kind, kind in ("PodScheduled", "Initialized"), None,
                                 next((c for c in old.get("conditions") or [] if c["type"] == kind), None))
                      for kind in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
        pod["status"] = {**old, "phase": "Succeeded" if code == 0 else "Failed", "conditions": conditions,
                         "containerStatuses": statuses}
        return self.store.update(POD, {**pod, "metadata": {k: v for k, v in pod["metadata"].items()
                                                           if k != "resourceVersion"}}, subresource="status")

    # --- logs ----------------------------------------------------------------------------------------
    def logs(self, pod: dict[str, Any], container: str | None, previous: bool) -> list[tuple[float, str]]:
        """Plausible log lines for `GET …/pods/NAME/log`, derived from the pod's simulated life, each with the
        wall-clock moment it was written."""
        from magent.sandbox.kube.podlogs import log_lines

        names = [c["name"] for c in pod["spec"].get("containers") or []]
        if container is None:
            if len(names) != 1:
                raise bad_request(f"a container name must be specified for pod {pod['metadata']['name']}, "
                                  f"choose one of: [{' '.join(names)}]")
            container = names[0]
        if container not in names:
            raise bad_request(f"container {container} is not valid for pod {pod['metadata']['name']}")
        spec = next(c for c in pod["spec"]["containers"] if c["name"] == container)
        view = self.container(pod, spec, time.monotonic())
        if previous and view.restarts == 0:
            raise bad_request(f'previous terminated container "{container}" in pod '
                              f'"{pod["metadata"]["name"]}" not found')
        return log_lines(self.clock(pod), view, previous, time.monotonic())


def _condition(kind: str, ok: bool, message: str | None, old: dict[str, Any] | None) -> dict[str, Any]:
    status = "True" if ok else "False"
    if old is not None and old.get("status") == status:
        return old
    condition: dict[str, Any] = {"type": kind, "status": status, "lastProbeTime": None,
                                 "lastTransitionTime": _stamp(time.time())}
    if not ok and message:
        condition.update(reason="ContainersNotReady", message=message)
    return condition


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _container_id(uid: str, name: str, run: int) -> str:
    return "containerd://" + _digest(f"{uid}/{name}/{run}")
