"""`magent status` and `magent history`: what a Deployment runs, its canary, its last deploy, its revisions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from magent.core.canary import canary_name
from magent.core.canary_manifest import is_canary_of
from magent.core.errors import InconsistentState, MagentError
from magent.core.rollout import rollout_status
from magent.core.timeutil import isoformat
from magent.services.kube import deployments as kd
from magent.services.kube import lease as kl
from magent.services.kube.client import Kube
from magent.services.kube.objects import Deployment
from magent.services.kube.revisions import history
from magent.workflows.deploy.waves import Wave

# clusters read at once: enough for any real release, few enough for a laptop's sockets
_MAX_PARALLEL_READS = 8


def _replicas(deployment: Deployment) -> dict[str, int]:
    return {"desired": deployment.replicas, "ready": deployment.ready_replicas,
            "updated": deployment.updated_replicas, "available": deployment.available_replicas}


def _rollout(deployment: Deployment) -> dict[str, Any]:
    """`rollout`: what `kubectl rollout status` would print; `rollout_done`; `rollout_error` when it failed."""
    try:
        status = rollout_status(deployment.raw)
    except InconsistentState as exc:
        return {"rollout": exc.message, "rollout_done": False, "rollout_error": True}
    return {"rollout": status.message, "rollout_done": status.done, "rollout_error": False}


def deployment_status(kube: Kube, name: str) -> dict[str, Any]:
    """The stable Deployment, its canary (if any), the last deploy recorded on it, and the deploy lock."""
    stable = kd.get_deployment(kube, name)
    canary = kd.find_deployment(kube, canary_name(name))
    if canary is not None and not is_canary_of(canary.raw, name):
        canary = None
    state = kd.read_state(stable)
    lease = kl.read_lease(kube, name)
    deploy = None
    if state is not None:
        deploy = {**asdict(state), "phase": state.phase.value, "step": state.step + 1, "weight": state.weight,
                  "in_progress": not state.phase.terminal}
    return {
        "deployment": name,
        "namespace": kube.namespace,
        "context": kube.context,
        "images": stable.images,
        "revision": stable.revision,
        "replicas": _replicas(stable),
        "paused": stable.paused,
        **_rollout(stable),
        "canary": None if canary is None else {"name": canary.name, "images": canary.images,
                                               "replicas": _replicas(canary)},
        "deploy": deploy,
        "lock": None if lease is None or not lease.holder else {
            "holder": lease.holder, "renewed_at": isoformat(lease.renewed_at) if lease.renewed_at else None,
            "duration_s": lease.duration_s, "expired": lease.expired()},
    }


def revision_history(kube: Kube, name: str) -> list[dict[str, Any]]:
    """`kubectl rollout history` as records: revision, images, change-cause, creation time, current."""
    return [{"revision": r.number, "images": r.images, "change_cause": r.change_cause, "created": r.created,
             "replica_set": r.replica_set, "current": r.current} for r in history(kube, name)]


@dataclass(frozen=True)
class ClusterStatus:
    """One wave's `deployment_status`, or why it could not be read (`error`: unreachable, unknown context...)."""

    wave: Wave
    status: dict[str, Any] | None = None
    error: MagentError | None = None


def clusters_status(waves: Sequence[Wave], connect: Callable[[Wave], Kube], name: str) -> list[ClusterStatus]:
    """Every wave's status, in the waves' order. The clusters are read at once, so a hung one costs its own
    timeout, not the sum; a cluster that cannot be read is recorded with its error and the others are still read."""

    def read(wave: Wave) -> ClusterStatus:
        try:
            with connect(wave) as kube:
                return ClusterStatus(wave, status=deployment_status(kube, name))
        except MagentError as exc:
            return ClusterStatus(wave, error=exc)

    with ThreadPoolExecutor(max_workers=max(1, min(_MAX_PARALLEL_READS, len(waves)))) as pool:
        return list(pool.map(read, waves))
