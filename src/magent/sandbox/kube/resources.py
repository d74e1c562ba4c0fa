"""Verbs built on the store: atomic patch, the `scale` subresource, delete results."""

from __future__ import annotations

from typing import Any

from magent.sandbox.kube.discovery import ResourceType
from magent.sandbox.kube.errors import ApiError, bad_request, conflict, not_found
from magent.sandbox.kube.patch import APPLY, apply_patch
from magent.sandbox.kube.selectors import selector_string
from magent.sandbox.kube.store import ObjectStore


def read(store: ObjectStore, rtype: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
    obj = store.get(rtype, namespace, name)
    if obj is None:
        raise not_found(rtype, name)
    return obj


def to_scale(obj: dict[str, Any]) -> dict[str, Any]:
    """The `autoscaling/v1` Scale view of a Deployment or ReplicaSet."""
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                     if k in meta},
        "spec": {"replicas": obj["spec"].get("replicas", 1)},
        "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                   "selector": selector_string(_label_selector(obj))},
    }


def _label_selector(obj: dict[str, Any]) -> dict[str, Any] | None:
    selector = obj["spec"].get("selector")
    if obj.get("kind") == "ReplicationController" and isinstance(selector, dict):
        return {"matchLabels": selector}  # an RC's selector is a plain label map
    return selector


def write_scale(store: ObjectStore, rtype: ResourceType, namespace: str | None, scale: Any,
                dry_run: bool = False) -> dict[str, Any]:
    """PUT …/scale: set spec.replicas from a Scale (409 on a stale resourceVersion, 422 on a bad count)."""
    if not isinstance(scale, dict) or not isinstance(scale.get("metadata"), dict):
        raise bad_request("the body must be an autoscaling/v1 Scale")
    name = scale["metadata"].get("name", "")
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        message = f'Scale.autoscaling "{name}" is invalid: spec.replicas: Invalid value: {replicas!r}: ' \
                  "must be greater than or equal to 0"
        raise ApiError(422, "Invalid", message, {"name": name, "group": "autoscaling", "kind": "Scale"})
    with store.lock:
        current = read(store, rtype, namespace, name)
        if scale["metadata"].get("resourceVersion") not in (None, "", current["metadata"]["resourceVersion"]):
            raise conflict(rtype, name)
        current["spec"]["replicas"] = replicas
        return to_scale(store.update(rtype, current, dry_run=dry_run))


def patch(store: ObjectStore, rtype: ResourceType, namespace: str | None, name: str, subresource: str | None,
          content_type: str, body: Any, dry_run: bool = False) -> tuple[dict[str, Any], bool]:
    """Apply a patch atomically; returns (result, created). Server-side apply creates a missing object."""
    with store.lock:
        current = store.get(rtype, namespace, name)
        if current is None:
            if content_type.startswith(APPLY) and subresource is None and isinstance(body, dict):
                body.setdefault("metadata", {}).update(name=name, **({"namespace": namespace} if namespace else {}))
                return store.create(rtype, body, dry_run=dry_run), True
            raise not_found(rtype, name)
        if subresource == "scale":
            patched = apply_patch(content_type, to_scale(current), body)
            return write_scale(store, rtype, namespace, patched, dry_run), False
        patched = apply_patch(content_type, current, body)
        meta = patched.get("metadata") if isinstance(patched.get("metadata"), dict) else {}
        if meta.get("name") != name:
            raise bad_request("the name of a patched object cannot change")
        if rtype.namespaced:
            meta["namespace"] = namespace
        return store.update(rtype, patched, subresource=subresource, dry_run=dry_run), False


def grace_period(from_query: str | None, from_body: Any) -> int | None:
    """`gracePeriodSeconds` of a delete (query or DeleteOptions); a negative one counts as 1, as the API server has it."""
    value: Any = from_body if from_query in (None, "") else from_query
    if value is None:
        return None
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        raise bad_request(f"gracePeriodSeconds: invalid value {value!r}: must be an integer") from None
    if isinstance(value, (bool, float)):
        raise bad_request(f"gracePeriodSeconds: invalid value {value!r}: must be an integer")
    return seconds if seconds >= 0 else 1


def delete_quietly(store: ObjectStore, rtype: ResourceType, item: dict[str, Any], propagation: str,
                   grace_period_seconds: int | None = None) -> None:
    """Delete for deletecollection: an object already gone (a dependent of an earlier one) is fine."""
    try:
        store.delete(rtype, item["metadata"].get("namespace"), item["metadata"]["name"], propagation=propagation,
                     grace_period_seconds=grace_period_seconds)
    except ApiError as exc:
        if exc.code != 404:
            raise


def delete_status(rtype: ResourceType, deleted: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = {"name": deleted["metadata"]["name"], "kind": rtype.plural,
                               "uid": deleted["metadata"]["uid"]}
    if rtype.group:
        details["group"] = rtype.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
