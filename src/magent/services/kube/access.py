"""What preflight reads about a namespace beside the Deployment, and what the current identity may do.

    list_objects(kube, "PodDisruptionBudget")      # raw dicts of the namespace's PDBs (or HPAs)
    env_source_keys(kube, "Secret", "app-env")     # the keys only (values are dropped at once), or None
    can_i(kube, "patch", "deployments", group="apps")   # SelfSubjectAccessReview → Access(allowed, reason)
"""

from __future__ import annotations

from dataclasses import dataclass

from magent.core.errors import CredentialsRefused
from magent.services.kube.client import Kube, NotFound
from magent.services.kube.objects import Obj


def _api(kube: Kube, kind: str):  # noqa: ANN202 - an SDK API object and its list method
    from kubernetes.client import AutoscalingV2Api, PolicyV1Api

    if kind == "PodDisruptionBudget":
        return PolicyV1Api(kube.api_client).list_namespaced_pod_disruption_budget
    if kind == "HorizontalPodAutoscaler":
        return AutoscalingV2Api(kube.api_client).list_namespaced_horizontal_pod_autoscaler
    raise ValueError(f"list_objects does not list {kind}")


def list_objects(kube: Kube, kind: str, namespace: str | None = None) -> list[Obj]:
    """Every PodDisruptionBudget or HorizontalPodAutoscaler in the namespace, with `kind` set on each item
    (list items come without it)."""
    listed = kube.call(_api(kube, kind), namespace or kube.namespace) or {}
    items = listed.get("items") or []
    for item in items:
        item.setdefault("kind", kind)
    return items


def env_source_keys(kube: Kube, kind: str, name: str, namespace: str | None = None) -> frozenset[str] | None:
    """The keys of a Secret or ConfigMap an envFrom names, or None when it is missing or we may not read it.
    A Secret's values are never kept."""
    read = kube.core.read_namespaced_secret if kind == "Secret" else kube.core.read_namespaced_config_map
    try:
        found = kube.call(read, name, namespace or kube.namespace) or {}
    except (NotFound, CredentialsRefused):
        return None
    keys = {*(found.get("data") or {}), *(found.get("stringData") or {}), *(found.get("binaryData") or {})}
    return frozenset(keys)


@dataclass(frozen=True)
class Access:
    allowed: bool
    reason: str = ""


def can_i(kube: Kube, verb: str, resource: str, *, group: str = "", subresource: str = "",
          namespace: str | None = None) -> Access:
    """Ask the API server (SelfSubjectAccessReview, as `kubectl auth can-i` does) whether we may."""
    from kubernetes.client import AuthorizationV1Api

    attributes = {"namespace": namespace or kube.namespace, "verb": verb, "group": group, "resource": resource}
    if subresource:
        attributes["subresource"] = subresource
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes}}
    review = kube.call(AuthorizationV1Api(kube.api_client).create_self_subject_access_review, body) or {}
    status = review.get("status") or {}
    return Access(bool(status.get("allowed")), str(status.get("reason") or status.get("evaluationError") or ""))
