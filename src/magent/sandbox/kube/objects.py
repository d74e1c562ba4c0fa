"""What the API server does to an object before storing it: defaults, validation, status/spec rules.

Like the registry "strategies" of kube-apiserver: on create the defaults of the real API are filled in (so
templates compare equal to what a real cluster would store), on update `status` is kept unless the `status`
subresource is written (and the reverse), and malformed objects are refused with 422 Invalid.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from typing import Any

from magent.sandbox.kube import jobspec
from magent.sandbox.kube.discovery import ResourceType
from magent.sandbox.kube.errors import bad_request, invalid
from magent.sandbox.kube.selectors import selector_matches

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_WORKLOADS = ("Deployment", "ReplicaSet")
# Kinds whose `status` is written only through the status subresource.
STATUS_SUBRESOURCE_KINDS = frozenset(
    {"Deployment", "ReplicaSet", "Pod", "Service", "Namespace", "HorizontalPodAutoscaler", "PodDisruptionBudget",
     "Job", "Node", "ReplicationController", "DaemonSet", "APIService"}
)


def check_type(rtype: ResourceType, obj: Any) -> dict[str, Any]:
    """The body must be an object of this resource's kind; fills in apiVersion/kind when they are missing."""
    if not isinstance(obj, dict):
        raise bad_request("the body of the request must be a JSON object")
    api_version, kind = obj.setdefault("apiVersion", rtype.api_version), obj.setdefault("kind", rtype.kind)
    if kind != rtype.kind:
        raise bad_request(f"the object kind {kind!r} does not match the resource {rtype.plural!r}")
    if api_version != rtype.api_version:
        raise bad_request(
            f"the API version in the data ({api_version}) does not match the expected API version "
            f"({rtype.api_version})"
        )
    if not isinstance(obj.setdefault("metadata", {}), dict):
        raise bad_request("metadata must be an object")
    return obj


def image_pull_policy(image: str) -> str:
    name = image.rsplit("/", 1)[-1]
    if "@" in name:
        return "IfNotPresent"
    tag = name.split(":", 1)[1] if ":" in name else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


# Non-pointer booleans (`omitempty`): the API server never shows them as false, so neither do we.
_POD_FALSE_OMITTED = ("hostNetwork", "hostPID", "hostIPC")
_CONTAINER_FALSE_OMITTED = ("stdin", "stdinOnce", "tty")


def default_pod_spec(spec: dict[str, Any]) -> None:
    for key in _POD_FALSE_OMITTED:
        if spec.get(key) is False:
            del spec[key]
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    lists = [spec.get(key) for key in ("initContainers", "containers")]
    for container in [item for items in lists if isinstance(items, list) for item in items]:  # validated later
        if not isinstance(container, dict):
            continue
        for key in _CONTAINER_FALSE_OMITTED:
            if container.get(key) is False:
                del container[key]
        container.setdefault("resources", {})
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        if isinstance(container.get("image"), str):
            container.setdefault("imagePullPolicy", image_pull_policy(container["image"]))
        for port in container.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")


def _default_workload(kind: str, spec: dict[str, Any]) -> None:
    spec.setdefault("replicas", 1)
    template = spec.setdefault("template", {})
    if isinstance(template, dict):
        if isinstance(template.setdefault("metadata", {}), dict):
            # As kube-apiserver 1.32 serialises an unset time; makes `null` sent back by clients compare equal.
            template["metadata"]["creationTimestamp"] = None
        if isinstance(template.setdefault("spec", {}), dict):
            default_pod_spec(template["spec"])
    if kind != "Deployment":
        return
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")


def _default_replication_controller(obj: dict[str, Any]) -> None:
    """An RC's selector, and its own labels, default to its template's labels (SetDefaults_ReplicationController)."""
    spec = obj["spec"]
    _default_workload("ReplicationController", spec)
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
    if isinstance(labels, dict) and labels:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        if not obj["metadata"].get("labels"):
            obj["metadata"]["labels"] = dict(labels)


def _default_daemonset(spec: dict[str, Any]) -> None:
    _default_workload("DaemonSet", spec)
    spec.pop("replicas", None)  # a DaemonSet has none: one pod per node
    spec.setdefault("revisionHistoryLimit", 10)
    strategy = spec.setdefault("updateStrategy", {})
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            strategy.setdefault("rollingUpdate", {"maxUnavailable": 1, "maxSurge": 0})


def _default_service(spec: dict[str, Any], uid: str) -> None:
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName" and "clusterIP" not in spec:
        spec["clusterIP"] = f"10.96.{int(uid[:2], 16)}.{int(uid[2:4], 16) % 254 + 1}"
        spec["clusterIPs"] = [spec["clusterIP"]]
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))


def _default_secret(obj: dict[str, Any], rtype: ResourceType) -> None:
    obj.setdefault("type", "Opaque")
    data = obj.setdefault("data", {}) or {}
    for key, value in (obj.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    for key, value in data.items():
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            cause = (f"data[{key}]", "Invalid value: illegal base64 data")
            raise invalid(rtype, obj["metadata"].get("name", ""), [cause]) from None
    obj["data"] = data


def apply_defaults(rtype: ResourceType, obj: dict[str, Any]) -> None:
    """The defaults kube-apiserver fills in, for the kinds whose defaults matter to clients."""
    kind = rtype.kind
    if kind in _WORKLOADS and isinstance(obj.setdefault("spec", {}), dict):
        _default_workload(kind, obj["spec"])
    elif kind == "Pod" and isinstance(obj.setdefault("spec", {}), dict):
        default_pod_spec(obj["spec"])
    elif kind == "Service" and isinstance(obj.setdefault("spec", {}), dict):
        _default_service(obj["spec"], obj["metadata"].get("uid") or "0000")
        obj.setdefault("status", {"loadBalancer": {}})
    elif kind == "ReplicationController" and isinstance(obj.setdefault("spec", {}), dict):
        _default_replication_controller(obj)
    elif kind == "DaemonSet" and isinstance(obj.setdefault("spec", {}), dict):
        _default_daemonset(obj["spec"])
    elif kind == "Job":
        jobspec.default_job(obj, default_pod_spec)
    elif kind == "Secret":
        _default_secret(obj, rtype)
    elif kind == "Namespace":
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"].get("name", "")
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj["status"] = {"phase": "Active"}


def _validate_name(rtype: ResourceType, name: Any) -> list[tuple[str, str]]:
    pattern = _DNS_LABEL if rtype.kind in ("Namespace", "Service") else _DNS_SUBDOMAIN
    if not name:
        return [("metadata.name", "Required value: name or generateName is required")]
    if not isinstance(name, str) or len(name) > 253 or not pattern.match(name):
        return [("metadata.name", f"Invalid value: {name!r}: a lowercase RFC 1123 name must consist of lower "
                                  "case alphanumeric characters, '-' or '.', and must start and end with an "
                                  "alphanumeric character")]
    return []


def _validate_containers(path: str, pod_spec: Any) -> list[tuple[str, str]]:
    if not isinstance(pod_spec, dict):
        return [(path, "Required value")]
    containers = pod_spec.get("containers")
    if not isinstance(containers, list) or not containers:
        return [(f"{path}.containers", "Required value")]
    causes, seen = [], set()
    for index, container in enumerate(containers):
        where = f"{path}.containers[{index}]"
        if not isinstance(container, dict):
            causes.append((where, "Invalid value: must be an object"))
            continue
        name = container.get("name")
        if not name:
            causes.append((f"{where}.name", "Required value"))
        elif not isinstance(name, str) or not _DNS_LABEL.match(name):
            causes.append((f"{where}.name", f"Invalid value: {name!r}: a lowercase RFC 1123 label is required"))
        elif name in seen:
            causes.append((f"{where}.name", f"Duplicate value: {name!r}"))
        seen.add(name)
        if not container.get("image") or not isinstance(container.get("image"), str):
            causes.append((f"{where}.image", "Required value"))
    return causes


def _int_or_percent(value: Any) -> bool:
    return (isinstance(value, int) and value >= 0) or (isinstance(value, str) and bool(re.fullmatch(r"\d+%", value)))


def _validate_strategy(spec: dict[str, Any]) -> list[tuple[str, str]]:
    strategy = spec.get("strategy") or {}
    kind, rolling = strategy.get("type"), strategy.get("rollingUpdate")
    if kind not in ("RollingUpdate", "Recreate"):
        return [("spec.strategy.type", f'Unsupported value: "{kind}": supported values: "Recreate", "RollingUpdate"')]
    if kind == "Recreate":
        if rolling is not None:
            return [("spec.strategy.rollingUpdate",
                     "Forbidden: may not be specified when strategy `type` is 'Recreate'")]
        return []
    causes = []
    for key in ("maxSurge", "maxUnavailable"):
        if not _int_or_percent((rolling or {}).get(key)):
            causes.append((f"spec.strategy.rollingUpdate.{key}", f"Invalid value: {rolling.get(key)!r}: "
                                                                  "must be a non-negative integer or percentage"))
    if not causes and str(rolling["maxSurge"]) in ("0", "0%") and str(rolling["maxUnavailable"]) in ("0", "0%"):
        causes.append(("spec.strategy.rollingUpdate.maxUnavailable",
                       "Invalid value: 0: may not be 0 when `maxSurge` is 0"))
    return causes


def _validate_workload(obj: dict[str, Any]) -> list[tuple[str, str]]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [("spec", "Required value")]
    causes: list[tuple[str, str]] = []
    replicas = spec.get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        causes.append(("spec.replicas", f"Invalid value: {replicas!r}: must be greater than or equal to 0"))
    selector = spec.get("selector")
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not isinstance(selector, dict) or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.append(("spec.selector", "Required value"))
    elif not selector_matches(selector, labels):
        causes.append(("spec.template.metadata.labels",
                       f"Invalid value: {labels!r}: `selector` does not match template `labels`"))
    causes += _validate_containers("spec.template.spec", template.get("spec"))
    if obj.get("kind") == "Deployment":
        causes += _validate_strategy(spec)
    return causes


def validate(rtype: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None = None) -> None:
    """Raise 422 Invalid listing every problem, as the API server does."""
    name = obj["metadata"].get("name")
    causes = _validate_name(rtype, name)
    if rtype.kind in _WORKLOADS:
        causes += _validate_workload(obj)
        if old is not None and (obj.get("spec") or {}).get("selector") != old["spec"].get("selector"):
            causes.append(("spec.selector", "Invalid value: field is immutable"))
    elif rtype.kind == "Job":
        causes += jobspec.validate_job(obj, old, _validate_containers)
    elif rtype.kind == "Pod":
        causes += _validate_containers("spec", obj.get("spec"))
    elif rtype.kind == "Service" and (obj.get("spec") or {}).get("type") != "ExternalName":
        if not (obj.get("spec") or {}).get("ports"):
            causes.append(("spec.ports", "Required value"))
    if causes:
        raise invalid(rtype, str(name or ""), causes)


def prepare_create(rtype: ResourceType, obj: dict[str, Any]) -> None:
    """A new object's status is the server's, never the client's (PrepareForCreate)."""
    if rtype.kind in STATUS_SUBRESOURCE_KINDS:
        obj["status"] = copy.deepcopy(_INITIAL_STATUS.get(rtype.kind, {}))


# Status fields without `omitempty` in the Go types are served from the start (clients require them).
_INITIAL_STATUS: dict[str, dict[str, Any]] = {
    "Pod": {"phase": "Pending", "qosClass": "BestEffort"},
    "Service": {"loadBalancer": {}},
    "ReplicaSet": {"replicas": 0},
    "ReplicationController": {"replicas": 0},
    "DaemonSet": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                  "numberReady": 0},
}


def prepare_update(rtype: ResourceType, new: dict[str, Any], old: dict[str, Any], subresource: str | None) -> None:
    """Keep what an update may not change: identity, and status (or everything but status for /status)."""
    meta, old_meta = new["metadata"], old["metadata"]
    for key in ("uid", "creationTimestamp", "namespace", "name", "generation", "deletionTimestamp"):
        if key in old_meta:
            meta[key] = old_meta[key]
        else:
            meta.pop(key, None)
    if subresource == "status":
        kept = {k: copy.deepcopy(v) for k, v in old.items() if k != "status"}
        kept["status"] = new.get("status", {})
        new.clear()
        new.update(kept)
    elif rtype.kind in STATUS_SUBRESOURCE_KINDS:
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)

