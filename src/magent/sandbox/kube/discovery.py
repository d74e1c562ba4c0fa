"""The resource types the simulator serves, and the discovery documents kubectl and the clients read.

One `ResourceType` per kind: its group/version, plural and short names, whether it is namespaced, which
verbs and subresources it has. Discovery (`/api`, `/apis`, `/api/v1`, `/apis/apps/v1`, …) is derived from
this table, so adding a kind here is enough for kubectl to find it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-magent-sandbox",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}

_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
# A pod's streams into its running containers: discovered as on a cluster, refused (no container runs here).
STREAMING_SUBRESOURCES = ("exec", "attach", "portforward")


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()  # "status", "scale", "log"
    categories: tuple[str, ...] = ()
    has_spec_generation: bool = False  # metadata.generation bumps on spec changes
    verbs: tuple[str, ...] = field(default=tuple(_VERBS))
    virtual: bool = False  # a review API (create only, answered, never stored)
    computed: bool = False  # read-only, computed from other objects on each request (metrics.k8s.io)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def qualified(self) -> str:
        """`deployments.apps`: how the API server names a resource in its messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


RESOURCES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "namespaces", "Namespace", namespaced=False, short_names=("ns",),
                 subresources=("status",), verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    ResourceType("", "v1", "pods", "Pod", short_names=("po",),
                 subresources=("status", "log", *STREAMING_SUBRESOURCES), categories=("all",)),
    ResourceType("", "v1", "events", "Event", short_names=("ev",)),
    ResourceType("", "v1", "services", "Service", short_names=("svc",), subresources=("status",),
                 categories=("all",)),
    ResourceType("", "v1", "secrets", "Secret"),
    ResourceType("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    ResourceType("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",)),
    ResourceType("", "v1", "replicationcontrollers", "ReplicationController", short_names=("rc",),
                 subresources=("status", "scale"), categories=("all",), has_spec_generation=True),
    ResourceType("", "v1", "nodes", "Node", namespaced=False, short_names=("no",), subresources=("status",)),
    ResourceType("apps", "v1", "deployments", "Deployment", short_names=("deploy",),
                 subresources=("status", "scale"), categories=("all",), has_spec_generation=True),
    ResourceType("apps", "v1", "replicasets", "ReplicaSet", short_names=("rs",),
                 subresources=("status", "scale"), categories=("all",), has_spec_generation=True),
    ResourceType("apps", "v1", "statefulsets", "StatefulSet", short_names=("sts",),
                 subresources=("status", "scale"), categories=("all",), has_spec_generation=True),
    ResourceType("apps", "v1", "daemonsets", "DaemonSet", short_names=("ds",), subresources=("status",),
                 categories=("all",), has_spec_generation=True),
    ResourceType("batch", "v1", "jobs", "Job", subresources=("status",), categories=("all",),
                 has_spec_generation=True),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease"),
    ResourceType("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
    # Gateway API (a CRD on a real cluster): what `deploy --router gateway-api` shifts weights on
    ResourceType("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", subresources=("status",),
                 has_spec_generation=True),
    ResourceType("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", short_names=("hpa",),
                 subresources=("status",), categories=("all",), has_spec_generation=False),
    ResourceType("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short_names=("pdb",),
                 subresources=("status",), has_spec_generation=True),
    ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    ResourceType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", namespaced=False),
    ResourceType("apiregistration.k8s.io", "v1", "apiservices", "APIService", namespaced=False,
                 subresources=("status",)),
    # metrics-server's API (an aggregated APIService on a cluster): `kubectl top`
    ResourceType("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", namespaced=False, verbs=("get", "list"),
                 computed=True),
    ResourceType("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", verbs=("get", "list"), computed=True),
    ResourceType("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview",
                 namespaced=False, verbs=("create",), virtual=True),
)

_BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
_BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES}


def by_path(group: str, version: str, plural: str) -> ResourceType | None:
    return _BY_PATH.get((group, version, plural))


def by_kind(api_version: str, kind: str) -> ResourceType:
    """The resource type for `("apps/v1", "Deployment")`; KeyError when the simulator does not serve it."""
    try:
        return _BY_KIND[(api_version, kind)]
    except KeyError:
        raise KeyError(f"the sandbox does not serve {kind} in {api_version}") from None


def group_versions() -> dict[str, list[str]]:
    """Every non-core group and its versions, in table order."""
    groups: dict[str, list[str]] = {}
    for resource in RESOURCES:
        if resource.group and resource.version not in groups.setdefault(resource.group, []):
            groups[resource.group].append(resource.version)
    return groups


def api_versions() -> dict:
    """`GET /api`: the core group's versions."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
    }


def _group_entry(group: str, versions: list[str]) -> dict:
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def api_group_list() -> dict:
    """`GET /apis`: every named group."""
    groups = [_group_entry(g, vs) for g, vs in group_versions().items()]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(group: str) -> dict | None:
    versions = group_versions().get(group)
    if versions is None:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)}


def _resource_entries(resource: ResourceType) -> list[dict]:
    main = {
        "name": resource.plural,
        "singularName": resource.singular,
        "namespaced": resource.namespaced,
        "kind": resource.kind,
        "verbs": list(resource.verbs),
    }
    if resource.short_names:
        main["shortNames"] = list(resource.short_names)
    if resource.categories:
        main["categories"] = list(resource.categories)
    entries = [main]
    for sub in resource.subresources:
        entry = {"name": f"{resource.plural}/{sub}", "singularName": "", "namespaced": resource.namespaced,
                 "kind": resource.kind, "verbs": ["get", "patch", "update"]}
        if sub == "scale":
            entry.update(group="autoscaling", version="v1", kind="Scale")
        elif sub == "log":
            entry["verbs"] = ["get"]
        elif sub in STREAMING_SUBRESOURCES:
            entry.update(kind="PodExecOptions" if sub == "exec" else
                         "PodAttachOptions" if sub == "attach" else "PodPortForwardOptions", verbs=["create", "get"])
        entries.append(entry)
    return entries


def api_resource_list(group: str, version: str) -> dict | None:
    """`GET /api/v1` or `GET /apis/GROUP/VERSION`: the resources of one group version."""
    selected = [r for r in RESOURCES if r.group == group and r.version == version]
    if not selected:
        return None
    resources = [entry for r in selected for entry in _resource_entries(r)]
    group_version = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


# --- OpenAPI v3: just enough for kubectl's checks --------------------------------------------------------
# kubectl apply/create -f ask /openapi/v3 whether a kind's PATCH takes `fieldValidation` (then validation is
# left to the server). Documents list each resource's PATCH operation with that parameter and no schemas;
# without schemas kubectl computes apply patches from its built-in types, as it does for an unknown server.
def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v3_index() -> dict:
    versions = {(r.group, r.version) for r in RESOURCES if not r.virtual and not r.computed}
    return {"paths": {_gv_path(g, v): {"serverRelativeURL": f"/openapi/v3/{_gv_path(g, v)}?hash=magent-sandbox"}
                      for g, v in sorted(versions)}}


def openapi_v3_document(path: str) -> dict | None:
    selected = [r for r in RESOURCES
                if _gv_path(r.group, r.version) == path.strip("/") and not r.virtual and not r.computed]
    if not selected:
        return None
    paths = {}
    for resource in selected:
        scope = "/namespaces/{namespace}" if resource.namespaced else ""
        gvk = {"group": resource.group, "version": resource.version, "kind": resource.kind}
        paths[f"/{path.strip('/')}{scope}/{resource.plural}/{{name}}"] = {"patch": {
            "operationId": f"patch{resource.kind}",
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": gvk,
            "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                           {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                           {"name": "dryRun", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK"}},
        }}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": SERVER_VERSION["gitVersion"]},
            "paths": paths, "components": {"schemas": {}}}
