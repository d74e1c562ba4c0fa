"""Exact traffic weights through the Gateway API: an `HTTPRoute`'s backendRefs, and the two Services a weighted
canary needs (`<service>-stable` on the stable ReplicaSet's pods only, `<service>-canary` on the canary's).

A Service cannot say "app=web but not track=canary", so the stable one selects the stable ReplicaSet's
`pod-template-hash` as Argo Rollouts does. The route's own backendRefs are kept in an annotation while magent
weighs it, and put back (one patch) when the canary ends.
"""

from __future__ import annotations

import json
from typing import Any

from magent.core.errors import UsageError
from magent.services.kube.client import Conflict, Kube, NotFound

GROUP, VERSION, PLURAL = "gateway.networking.k8s.io", "v1", "httproutes"
ORIGINAL_BACKENDS = "magent.dev/original-backend-refs"
WEIGHED_FOR = "magent.dev/canary-of"  # the Deployment whose canary the route is weighed for
MERGE_PATCH = "application/merge-patch+json"


def get_route(kube: Kube, name: str) -> dict[str, Any]:
    return kube.call(kube.custom.get_namespaced_custom_object, GROUP, VERSION, kube.namespace, PLURAL, name,
                     not_found=f"HTTPRoute {name} not found in namespace {kube.namespace}")


def route_backends(route: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [list(rule.get("backendRefs") or []) for rule in (route.get("spec") or {}).get("rules") or []]


def original_service(route: dict[str, Any]) -> str:
    """The one Service the route sends to outside a canary (from its kept backendRefs while magent weighs it)."""
    kept = (route["metadata"].get("annotations") or {}).get(ORIGINAL_BACKENDS)
    backends = json.loads(kept) if kept else route_backends(route)
    names = {ref.get("name") for rule in backends for ref in rule}
    if len(names) != 1:
        raise UsageError(f"HTTPRoute {route['metadata']['name']} sends to {len(names)} Services; magent weighs a "
                         "route with one backend", hint="point the route at the app's Service only")
    return str(names.pop())


def weigh(kube: Kube, route: dict[str, Any], stable: str, canary: str, canary_percent: int, *,
          deployment: str) -> None:
    """Every rule of the route to `stable` (100 − p) and `canary` (p), remembering its own backendRefs once."""
    name = route["metadata"]["name"]
    annotations = route["metadata"].get("annotations") or {}
    original = annotations.get(ORIGINAL_BACKENDS) or json.dumps(route_backends(route))
    rules = []
    for rule, refs in zip(route["spec"]["rules"], json.loads(original)):
        port = next((ref.get("port") for ref in refs if ref.get("port")), None)
        backends = [{"name": stable, "weight": 100 - canary_percent}, {"name": canary, "weight": canary_percent}]
        rules.append({**rule, "backendRefs": [{**b, **({"port": port} if port else {})} for b in backends]})
    body = {"metadata": {"annotations": {ORIGINAL_BACKENDS: original, WEIGHED_FOR: deployment}},
            "spec": {"rules": rules}}
    kube.call(kube.custom.patch_namespaced_custom_object, GROUP, VERSION, kube.namespace, PLURAL, name, body,
              _content_type=MERGE_PATCH, not_found=f"HTTPRoute {name} not found in namespace {kube.namespace}")


def restore(kube: Kube, name: str) -> bool:
    """The route's own backendRefs back (one patch); False when there was nothing to restore."""
    try:
        route = get_route(kube, name)
    except NotFound:
        return False
    original = (route["metadata"].get("annotations") or {}).get(ORIGINAL_BACKENDS)
    if original is None:
        return False
    rules = [{**rule, "backendRefs": refs} for rule, refs in zip(route["spec"]["rules"], json.loads(original))]
    body = {"metadata": {"annotations": {ORIGINAL_BACKENDS: None, WEIGHED_FOR: None}}, "spec": {"rules": rules}}
    kube.call(kube.custom.patch_namespaced_custom_object, GROUP, VERSION, kube.namespace, PLURAL, name, body,
              _content_type=MERGE_PATCH)
    return True


def unweigh_all(kube: Kube, deployment: str) -> list[str]:
    """Put back every route weighed for `deployment`'s canary and drop its two Services (what `magent rollback`
    does before the canary goes, whatever the deploy's --route was); the names of the routes restored."""
    try:
        listed = kube.call(kube.custom.list_namespaced_custom_object, GROUP, VERSION, kube.namespace, PLURAL)
    except NotFound:  # the Gateway API is not installed: no route was weighed
        return []
    restored = []
    for route in (listed or {}).get("items") or []:
        annotations = route["metadata"].get("annotations") or {}
        if annotations.get(WEIGHED_FOR) != deployment:
            continue
        service = original_service(route)
        restore(kube, route["metadata"]["name"])
        delete_service(kube, f"{service}-stable")
        delete_service(kube, f"{service}-canary")
        restored.append(route["metadata"]["name"])
    return restored


def ensure_service(kube: Kube, name: str, like: str, selector: dict[str, str]) -> None:
    """A Service `name` with the ports of Service `like` and this selector (created, or its selector updated)."""
    model = kube.call(kube.core.read_namespaced_service, like, kube.namespace,
                      not_found=f"service {like} not found in namespace {kube.namespace}")
    ports = [{k: v for k, v in port.items() if k in ("name", "port", "targetPort", "protocol")}
             for port in (model.get("spec") or {}).get("ports") or []]
    body = {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "magent"}},
            "spec": {"selector": selector, "ports": ports}}
    try:
        kube.call(kube.core.create_namespaced_service, kube.namespace, body)
    except Conflict:
        kube.call(kube.core.patch_namespaced_service, name, kube.namespace, {"spec": {"selector": selector}},
                  _content_type=MERGE_PATCH)


def delete_service(kube: Kube, name: str) -> None:
    try:
        kube.call(kube.core.delete_namespaced_service, name, kube.namespace)
    except NotFound:
        return
