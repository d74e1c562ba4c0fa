"""Deployments: read, the canary's create/scale/delete, the stable's image and state annotation, rollout waits.

Scaling goes through the `scale` subresource (what `kubectl scale` and an HPA use): it is not an eviction, so
a PodDisruptionBudget never blocks scaling the canary to zero, and magent never evicts pods. The stable
Deployment is only read during a canary (an HPA on it keeps working); its replicas are never changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from magent.core.canary import DEPLOY_ID_ANNOTATION, STATE_ANNOTATION, CanaryState
from magent.core.canary_manifest import is_canary_of, set_image_patch, state_patch
from magent.core.errors import InconsistentState
from magent.core.rollout import RolloutStatus, rollout_status
from magent.services.kube.client import Conflict, Kube, NotFound
from magent.services.kube.objects import Deployment, Obj, Pod

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
_CONFLICT_RETRIES = 5


def _missing(kube: Kube, name: str) -> str:
    return f"deployment {name} not found in namespace {kube.namespace}"


def get_deployment(kube: Kube, name: str) -> Deployment:
    """The Deployment `name`; UsageError (exit 2) naming the namespace when it does not exist."""
    return Deployment(kube.call(kube.apps.read_namespaced_deployment, name, kube.namespace,
                                not_found=_missing(kube, name)))


def find_deployment(kube: Kube, name: str) -> Deployment | None:
    """The Deployment `name`, or None when it does not exist."""
    try:
        return get_deployment(kube, name)
    except NotFound:
        return None


def read_state(deployment: Deployment) -> CanaryState | None:
    text = deployment.annotations.get(STATE_ANNOTATION)
    return CanaryState.from_json(text, where=deployment.name) if text else None


def write_state(
    kube: Kube, name: str, new_state: CanaryState | None,
    *, unless: Callable[[CanaryState | None], Exception | None] | None = None,
) -> Deployment:
    """Compare-and-swap the state annotation on the stable Deployment (retried on 409).

    `unless(current_state)` returns an exception to raise instead of writing (e.g. another process aborted
    the deploy meanwhile); it sees the state as read just before the write.
    """
    for _ in range(_CONFLICT_RETRIES):
        current = get_deployment(kube, name)
        problem = unless(read_state(current)) if unless else None
        if problem is not None:
            raise problem
        body = state_patch(new_state.to_json() if new_state else None, current.resource_version)
        try:
            return Deployment(kube.call(kube.apps.patch_namespaced_deployment, name, kube.namespace, body,
                                        _content_type=MERGE_PATCH, not_found=_missing(kube, name)))
        except Conflict:
            continue
    raise InconsistentState(f"deployment {name} kept changing while magent wrote its state",
                            hint="another client is updating it; try again")


def ensure_canary(kube: Kube, manifest: Obj) -> Deployment:
    """Create the canary Deployment, or bring an existing one (from a resumed deploy) to `manifest`."""
    name = manifest["metadata"]["name"]
    stable_name = manifest["metadata"]["annotations"]["magent.dev/canary-of"]
    for _ in range(_CONFLICT_RETRIES):
        existing = find_deployment(kube, name)
        if existing is None:
            try:
                return Deployment(kube.call(kube.apps.create_namespaced_deployment, kube.namespace, manifest))
            except Conflict:
                continue  # created meanwhile: update it instead
        if not is_canary_of(existing.raw, stable_name):
            raise InconsistentState(f"deployment {name} exists and was not made by magent for {stable_name}",
                                    hint=f"rename or delete it: magent needs {name} for the canary")
        if existing.selector != manifest["spec"]["selector"]:
            delete_deployment(kube, name)  # a selector is immutable: start the canary afresh
            continue
        body = {**manifest, "metadata": {**manifest["metadata"], "resourceVersion": existing.resource_version}}
        try:
            return Deployment(kube.call(kube.apps.replace_namespaced_deployment, name, kube.namespace, body,
                                        not_found=_missing(kube, name)))
        except Conflict:
            continue
    raise InconsistentState(f"deployment {name} kept changing while magent updated it", hint="try again")


def scale(kube: Kube, name: str, replicas: int) -> None:
    """Set spec.replicas through the scale subresource (as `kubectl scale` does; never an eviction)."""
    kube.call(kube.apps.patch_namespaced_deployment_scale, name, kube.namespace, {"spec": {"replicas": replicas}},
              _content_type=MERGE_PATCH, not_found=_missing(kube, name))


def scale_to_zero(kube: Kube, name: str) -> bool:
    """Scale `name` (a canary) to zero replicas; False when it does not exist (nothing left to stop)."""
    try:
        scale(kube, name, 0)
    except NotFound:
        return False
    return True


def wait_out_of_service(kube: Kube, name: str, *, timeout_s: float = 10.0, poll_s: float = 0.05) -> bool:
    """After `name` is scaled to zero: wait until none of its pods takes new requests, i.e. each is Terminating
    (which takes it out of its Service's ready endpoints) or gone; in-flight requests finish within the pods'
    grace period, which is not waited for. False when that was not seen within `timeout_s` (or the API stopped
    answering): the scale itself is done, so the caller goes on."""
    from magent.core.errors import MagentError

    deadline = time.monotonic() + timeout_s
    try:
        deployment = find_deployment(kube, name)
        if deployment is None:
            return True
        selector = label_selector(deployment.spec.get("selector") or {})
        while any(not p.metadata.get("deletionTimestamp") for p in list_pods(kube, selector)):
            if time.monotonic() > deadline:
                return False
            time.sleep(poll_s)
    except MagentError:
        return False
    return True


def delete_deployment(kube: Kube, name: str) -> bool:
    """Delete a Deployment and (in the background) its ReplicaSets and pods; False when it was already gone."""
    try:
        kube.call(kube.apps.delete_namespaced_deployment, name, kube.namespace,
                  body={"propagationPolicy": "Background"}, not_found=_missing(kube, name))
    except NotFound:
        return False
    return True


def delete_canary(kube: Kube, name: str, deploy_id: str) -> bool:
    """Delete the canary `name` only while it is still the one of `deploy_id`.

    The lock is given back with the final state, just before this cleanup: a new deploy may already have
    taken the canary over, and its canary must survive the old deploy's cleanup.
    """
    canary = find_deployment(kube, name)
    if canary is None or canary.annotations.get(DEPLOY_ID_ANNOTATION) != deploy_id:
        return False
    return delete_deployment(kube, name)


def set_image(kube: Kube, deployment: Deployment, container: str, image: str, change_cause: str) -> Deployment:
    """`kubectl set image deployment/NAME CONTAINER=IMAGE`, recording the change-cause."""
    body = set_image_patch(deployment.containers, container, image, change_cause)
    return Deployment(kube.call(kube.apps.patch_namespaced_deployment, deployment.name, kube.namespace, body,
                                _content_type=STRATEGIC_PATCH, not_found=_missing(kube, deployment.name)))


def patch_json(kube: Kube, name: str, operations: list[Obj]) -> Deployment:
    return Deployment(kube.call(kube.apps.patch_namespaced_deployment, name, kube.namespace, operations,
                                _content_type=JSON_PATCH, not_found=_missing(kube, name)))


def wait_rollout(
    kube: Kube, name: str, *, timeout_s: float, poll_s: float = 0.25,
    on_poll: Callable[[RolloutStatus], None] | None = None,
) -> RolloutStatus:
    """Wait as `kubectl rollout status` does; RolloutFailed on ProgressDeadlineExceeded, InconsistentState on timeout.

    `on_poll` sees every observation (to show progress, or to renew a lease during a long rollout).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        status = rollout_status(get_deployment(kube, name).raw)
        if on_poll:
            on_poll(status)
        if status.done:
            return status
        if time.monotonic() > deadline:
            raise InconsistentState(f"timed out after {timeout_s:.0f}s waiting for deployment {name}: {status.message}",
                                    hint=f"kubectl rollout status deployment/{name} -n {kube.namespace}")
        time.sleep(poll_s)


def wait_observed(kube: Kube, name: str, *, timeout_s: float = 10.0, poll_s: float = 0.1) -> Deployment:
    """The Deployment once its controller has seen its latest spec (so its newest ReplicaSet exists)."""
    deadline = time.monotonic() + timeout_s
    while True:
        deployment = get_deployment(kube, name)
        observed = deployment.status.get("observedGeneration", 0)
        if observed >= deployment.metadata.get("generation", 0) or time.monotonic() > deadline:
            return deployment
        time.sleep(poll_s)


def list_pods(kube: Kube, selector: str) -> list[Pod]:
    data = kube.call(kube.core.list_namespaced_pod, kube.namespace, label_selector=selector)
    return [Pod(item) for item in (data or {}).get("items") or []]


def list_events(kube: Kube, *, field_selector: str | None = None) -> list[Obj]:
    data = kube.call(kube.core.list_namespaced_event, kube.namespace, field_selector=field_selector)
    return (data or {}).get("items") or []


def label_selector(selector: Obj) -> str:
    """A LabelSelector (matchLabels + matchExpressions) as the query string the API takes."""
    from magent.core.label_selector import selector_string

    return selector_string(selector)

