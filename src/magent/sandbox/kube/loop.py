"""The controller thread: every tick (and right after any write to a workload or Service) it runs the
deployment controller, then the ReplicaSet controller (and the same for ReplicationControllers), the DaemonSet
controller, then the Job controller, then the pretend kubelet, then the EndpointSlice
controller."""

from __future__ import annotations

import logging
import threading
import time

from magent.sandbox.kube.controller import DEPLOYMENT, DeploymentController
from magent.sandbox.kube.daemonset import DAEMONSET, DaemonSetController
from magent.sandbox.kube.endpointslices import EndpointSliceController, list_services
from magent.sandbox.kube.events import EventRecorder
from magent.sandbox.kube.jobs import JOB, JobController
from magent.sandbox.kube.pods import POD, PodLifecycle
from magent.sandbox.kube.replicaset import REPLICASET, REPLICATION_CONTROLLER, ReplicaSetController, by_controller
from magent.sandbox.kube.store import ObjectStore, WatchEvent

log = logging.getLogger(__name__)
_WORKLOAD_KINDS = frozenset({"Deployment", "ReplicaSet", "ReplicationController", "DaemonSet", "Job", "Pod",
                            "Service"})
_IDLE_WAIT_S = 0.5


class ControlLoop:
    def __init__(self, store: ObjectStore, *, ready_delay: float, tick: float, restart_interval: float,
                 grace_scale: float = 0.01) -> None:
        self.store = store
        self.tick = tick
        self.events = EventRecorder(store)
        self.pods = PodLifecycle(store, self.events, ready_delay=ready_delay, restart_interval=restart_interval,
                                 grace_scale=grace_scale)
        self.replicasets = ReplicaSetController(store, self.events)
        self.replication_controllers = ReplicaSetController(store, self.events, REPLICATION_CONTROLLER)
        self.daemonsets = DaemonSetController(store, self.events)
        self.deployments = DeploymentController(store, self.events)
        self.jobs = JobController(store, self.events)
        self.endpoints = EndpointSliceController(store)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._resumed = threading.Event()
        self._resumed.set()
        self._thread = threading.Thread(target=self._run, name="kube-sim-controller", daemon=True)
        store.add_listener(self._on_write)

    def _on_write(self, event: WatchEvent) -> None:
        if event.rtype.kind in _WORKLOAD_KINDS:
            self._wake.set()

    def step(self) -> None:
        """One pass of every controller over the current state."""
        deployments, _ = self.store.list(DEPLOYMENT)
        replicasets, _ = self.store.list(REPLICASET)
        pods, _ = self.store.list(POD)
        self.deployments.sync(deployments, replicasets, by_controller(pods))
        replicasets, _ = self.store.list(REPLICASET)
        self.replicasets.sync(replicasets, pods)
        self._sync_other_workloads()
        jobs, _ = self.store.list(JOB)
        if jobs:
            pods, _ = self.store.list(POD)
            self.jobs.sync(jobs, pods)
        pods, _ = self.store.list(POD)
        self.pods.sync(pods)
        pods, _ = self.store.list(POD)
        self.endpoints.sync(list_services(self.store), pods)

    def _sync_other_workloads(self) -> None:
        """ReplicationControllers and DaemonSets: rare next to Deployments, so listed pods only when present."""
        controllers, _ = self.store.list(REPLICATION_CONTROLLER)
        daemonsets, _ = self.store.list(DAEMONSET)
        if controllers or daemonsets:
            pods, _ = self.store.list(POD)
            self.replication_controllers.sync(controllers, pods)
            self.daemonsets.sync(daemonsets, pods)

    def pause(self) -> None:
        """Stop reconciling (as if kube-controller-manager and the kubelet were down) until `resume()`."""
        self._resumed.clear()

    def resume(self) -> None:
        self._resumed.set()
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not self._resumed.wait(_IDLE_WAIT_S):
                continue
            self._wake.clear()
            before = self.store.resource_version
            try:
                self.step()
            except Exception:  # a controller bug must not stop the cluster; it is logged and retried
                log.exception("kube simulator controller step failed")
            self._wake.wait(self._pause(moved=self.store.resource_version != before))

    def _pause(self, *, moved: bool) -> float:
        """One tick while things move; when idle, sleep until the next pod transition (at most 0.5 s).
        Any write wakes the loop at once."""
        if moved:
            return self.tick
        return max(self.tick, min(self.pods.next_due - time.monotonic(), _IDLE_WAIT_S))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.ident is not None:  # it was started
            self._thread.join(timeout=5)
