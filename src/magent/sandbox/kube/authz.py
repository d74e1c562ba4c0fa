"""Authorization in the simulator: the sandbox user may do everything, unless a test (or the demo) denies
some operations. Denials apply to real requests (403 Forbidden, as RBAC would answer) and to
SelfSubjectAccessReview (`kubectl auth can-i`), so both always agree.

    sim.deny("patch", "deployments", group="apps", namespace="shop")   # namespace None: everywhere
    sim.allow_all()
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from magent.sandbox.kube.errors import ApiError, bad_request

USER = "magent-sandbox"


@dataclass(frozen=True)
class Denial:
    verb: str  # "*" for every verb
    resource: str  # "*" for every resource
    group: str = ""
    subresource: str = ""
    namespace: str | None = None  # None: every namespace

    def covers(self, verb: str, group: str, resource: str, subresource: str, namespace: str | None) -> bool:
        return (self.verb in ("*", verb) and self.resource in ("*", resource) and self.group in ("*", group)
                and self.subresource in ("*", subresource)
                and (self.namespace is None or self.namespace == namespace))


class Authorizer:
    def __init__(self) -> None:
        self._denials: list[Denial] = []
        self._lock = threading.Lock()

    def deny(self, denial: Denial) -> None:
        with self._lock:
            self._denials.append(denial)

    def allow_all(self) -> None:
        with self._lock:
            self._denials.clear()

    def allowed(self, verb: str, group: str, resource: str, subresource: str = "",
                namespace: str | None = None) -> bool:
        with self._lock:
            return not any(d.covers(verb, group, resource, subresource, namespace) for d in self._denials)


def forbidden(verb: str, group: str, resource: str, subresource: str, namespace: str | None,
              name: str | None) -> ApiError:
    """403 worded as kube-apiserver's RBAC denial (kubectl prints it as is)."""
    qualified = f"{resource}.{group}" if group else resource
    shown = f"{resource}/{subresource}" if subresource else resource
    what = f'{qualified} "{name}"' if name else qualified
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    message = (f'{what} is forbidden: User "{USER}" cannot {verb} resource "{shown}" in API group "{group}"'
               f"{where}")
    details: dict[str, Any] = {"kind": resource, **({"name": name} if name else {}),
                               **({"group": group} if group else {})}
    return ApiError(403, "Forbidden", message, details)


def review(authorizer: Authorizer, body: Any) -> dict[str, Any]:
    """Answer a SelfSubjectAccessReview: the request echoed with its `status`."""
    if not isinstance(body, dict) or not isinstance(body.get("spec"), dict):
        raise bad_request("SelfSubjectAccessReview needs a spec")
    spec = body["spec"]
    attributes = spec.get("resourceAttributes")
    if isinstance(attributes, dict):
        allowed = authorizer.allowed(str(attributes.get("verb") or ""), str(attributes.get("group") or ""),
                                     str(attributes.get("resource") or ""), str(attributes.get("subresource") or ""),
                                     attributes.get("namespace") or None)
    elif isinstance(spec.get("nonResourceAttributes"), dict):
        allowed = True  # /healthz, /version, …: open to every authenticated user
    else:
        raise bad_request("spec.resourceAttributes or spec.nonResourceAttributes is required")
    status: dict[str, Any] = {"allowed": allowed}
    status["reason"] = "the sandbox user may do everything" if allowed else "denied by the simulator's rules"
    if not allowed:
        status["denied"] = True
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    return {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {**metadata, "creationTimestamp": None}, "spec": spec, "status": status}


def request_verb(method: str, has_name: bool, watch: bool) -> str:
    if method == "GET":
        return "get" if has_name else ("watch" if watch else "list")
    if method == "DELETE":
        return "delete" if has_name else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())
