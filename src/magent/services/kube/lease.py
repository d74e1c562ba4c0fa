"""The deploy lock: a coordination.k8s.io/v1 Lease named after the Deployment.

The holder renews it while it works; a Lease not renewed within its duration has expired and may be taken
over (a CI runner that died). `--resume` may also take over a Lease whose holder is a dead process on this
very host (same user@host, pid gone), without waiting for the expiry.
"""

from __future__ import annotations

from datetime import datetime

from magent.core.canary import lease_name
from magent.core.errors import InconsistentState
from magent.core.timeutil import utcnow
from magent.services.kube.client import Conflict, Kube, NotFound
from magent.services.kube.objects import Obj

# the lock's vocabulary is the port's (an ECS target holds its lock in tags); re-exported for this module's users
from magent.services.targets.lock import LeaseHeld, LeaseInfo, LeaseLost, holder_is_dead_here, identity

__all__ = ["LeaseHeld", "LeaseInfo", "LeaseLost", "acquire", "holder_is_dead_here", "identity", "read_lease",
           "release", "renew"]

_MICROTIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def _parse(raw: Obj) -> LeaseInfo:
    spec = raw.get("spec") or {}
    renewed = spec.get("renewTime") or spec.get("acquireTime")
    moment = None
    if renewed:
        moment = datetime.fromisoformat(renewed.replace("Z", "+00:00"))
    return LeaseInfo(raw["metadata"]["name"], spec.get("holderIdentity"), int(spec.get("leaseDurationSeconds") or 0),
                     moment, raw["metadata"].get("resourceVersion"))


def _body(name: str, holder: str, duration_s: int, resource_version: str | None, transitions: int) -> Obj:
    now = utcnow().strftime(_MICROTIME)
    metadata: Obj = {"name": name, "labels": {"app.kubernetes.io/managed-by": "magent"}}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata,
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration_s, "acquireTime": now,
                     "renewTime": now, "leaseTransitions": transitions}}


def read_lease(kube: Kube, deployment: str) -> LeaseInfo | None:
    try:
        return _parse(kube.call(kube.coordination.read_namespaced_lease, lease_name(deployment), kube.namespace))
    except NotFound:
        return None


def acquire(kube: Kube, deployment: str, holder: str, duration_s: int, *, take_over_dead: bool = False) -> LeaseInfo:
    """Take the deploy lock, or raise LeaseHeld naming the live holder."""
    name = lease_name(deployment)
    for _ in range(3):
        try:
            raw = kube.call(kube.coordination.read_namespaced_lease, name, kube.namespace)
        except NotFound:
            try:
                created = kube.call(kube.coordination.create_namespaced_lease, kube.namespace,
                                    _body(name, holder, duration_s, None, 0))
                return _parse(created)
            except Conflict:
                continue  # someone created it meanwhile: read it again
        current = _parse(raw)
        free = current.holder == holder or current.expired() or (take_over_dead and holder_is_dead_here(current.holder))
        if not free:
            raise LeaseHeld(deployment, current)
        transitions = int((raw.get("spec") or {}).get("leaseTransitions") or 0) + (current.holder != holder)
        try:
            replaced = kube.call(kube.coordination.replace_namespaced_lease, name, kube.namespace,
                                 _body(name, holder, duration_s, current.resource_version, transitions))
            return _parse(replaced)
        except Conflict:
            continue
    raise InconsistentState(f"lease {name} kept changing while magent tried to take it", hint="try again")


def renew(kube: Kube, deployment: str, holder: str) -> LeaseInfo:
    """Push the Lease's renewTime; LeaseLost when it is gone or held by someone else."""
    name = lease_name(deployment)
    try:
        raw = kube.call(kube.coordination.read_namespaced_lease, name, kube.namespace)
    except NotFound:
        raise LeaseLost(f"the deploy lock {name} was removed (by `magent rollback`?)") from None
    current = _parse(raw)
    if current.holder != holder:
        raise LeaseLost(f"the deploy lock {name} is now held by {current.holder or 'nobody'}")
    raw["spec"]["renewTime"] = utcnow().strftime(_MICROTIME)
    try:
        return _parse(kube.call(kube.coordination.replace_namespaced_lease, name, kube.namespace, raw))
    except Conflict:
        raise LeaseLost(f"the deploy lock {name} changed hands while magent renewed it") from None


def release(kube: Kube, deployment: str, holder: str | None = None) -> None:
    """Delete the Lease (only if `holder` still holds it, when given). Missing is fine."""
    name = lease_name(deployment)
    try:
        body = None
        if holder is not None:
            current = _parse(kube.call(kube.coordination.read_namespaced_lease, name, kube.namespace))
            if current.holder != holder:
                return
            body = {"preconditions": {"resourceVersion": current.resource_version}}
        kube.call(kube.coordination.delete_namespaced_lease, name, kube.namespace, body=body)
    except (NotFound, Conflict):
        return
