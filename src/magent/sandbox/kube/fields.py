"""Server-side field validation (`?fieldValidation=Strict|Warn|Ignore`) and the decoding errors of typed fields.

A real API server decodes a body into its Go struct: a field the struct lacks is an "unknown field" (a 400 under
Strict, kubectl's default, a `Warning` header under Warn, the server default) and a value of the wrong JSON type
is a 400 "cannot be handled as a <Kind>". The simulator knows the structs of the objects magent and its sample
app write; an object part it has no schema for is accepted as is.
"""

from __future__ import annotations

import re
from typing import Any

from magent.sandbox.kube.errors import bad_request

_Schema = dict[str, Any]  # field -> nested schema, or None for a leaf

_OBJECT_META: _Schema = dict.fromkeys((
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
    "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers",
    "managedFields"))
_CONTAINER: _Schema = dict.fromkeys((
    "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources", "resizePolicy",
    "restartPolicy", "volumeMounts", "volumeDevices", "livenessProbe", "readinessProbe", "startupProbe",
    "lifecycle", "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy", "securityContext",
    "stdin", "stdinOnce", "tty"))
_POD_SPEC: _Schema = {
    **dict.fromkeys((
        "volumes", "restartPolicy", "terminationGracePeriodSeconds", "activeDeadlineSeconds", "dnsPolicy",
        "nodeSelector", "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "nodeName",
        "hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace", "securityContext", "imagePullSecrets",
        "hostname", "subdomain", "affinity", "schedulerName", "tolerations", "hostAliases", "priorityClassName",
        "priority", "dnsConfig", "readinessGates", "runtimeClassName", "enableServiceLinks", "preemptionPolicy",
        "overhead", "topologySpreadConstraints", "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates",
        "resourceClaims", "ephemeralContainers")),
    "containers": [_CONTAINER], "initContainers": [_CONTAINER]}
_POD_TEMPLATE: _Schema = {"metadata": _OBJECT_META, "spec": _POD_SPEC}
_DEPLOYMENT_SPEC: _Schema = {
    **dict.fromkeys(("replicas", "selector", "strategy", "minReadySeconds", "revisionHistoryLimit", "paused",
                     "progressDeadlineSeconds")),
    "template": _POD_TEMPLATE}
_JOB_SPEC: _Schema = {**dict.fromkeys((
    "parallelism", "completions", "activeDeadlineSeconds", "podFailurePolicy", "successPolicy", "backoffLimit",
    "backoffLimitPerIndex", "maxFailedIndexes", "selector", "manualSelector", "ttlSecondsAfterFinished",
    "completionMode", "suspend", "podReplacementPolicy", "managedBy")), "template": _POD_TEMPLATE}
_LEASE_SPEC: _Schema = dict.fromkeys((
    "holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime", "leaseTransitions", "strategy",
    "preferredHolder"))
_TOP: _Schema = {"apiVersion": None, "kind": None, "metadata": _OBJECT_META, "status": None}

SCHEMAS: dict[str, _Schema] = {
    "Deployment": {**_TOP, "spec": _DEPLOYMENT_SPEC},
    "ReplicaSet": {**_TOP, "spec": dict.fromkeys(("replicas", "selector", "minReadySeconds", "template"))},
    "ReplicationController": {**_TOP, "spec": {**dict.fromkeys(("replicas", "minReadySeconds", "selector")),
                                               "template": _POD_TEMPLATE}},
    "DaemonSet": {**_TOP, "spec": {**dict.fromkeys(("selector", "updateStrategy", "minReadySeconds",
                                                    "revisionHistoryLimit")), "template": _POD_TEMPLATE}},
    "Pod": {**_TOP, "spec": _POD_SPEC},
    "Job": {**_TOP, "spec": _JOB_SPEC},
    "ConfigMap": {**_TOP, "data": None, "binaryData": None, "immutable": None},
    "Secret": {**_TOP, "data": None, "stringData": None, "type": None, "immutable": None},
    "Service": {**_TOP, "spec": None},
    "ServiceAccount": {**_TOP, "secrets": None, "imagePullSecrets": None, "automountServiceAccountToken": None},
    "Lease": {**_TOP, "spec": _LEASE_SPEC},
    "Namespace": {**_TOP, "spec": None},
}

# Typed leaves: (kind, dotted path) -> (Go type, predicate). MicroTime must be RFC 3339 with a time zone.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_INT32 = ("int32", lambda v: isinstance(v, int) and not isinstance(v, bool) and -2**31 <= v < 2**31)
_INT64 = ("int64", lambda v: isinstance(v, int) and not isinstance(v, bool))
_MICRO_TIME = ("MicroTime", lambda v: isinstance(v, str) and bool(_RFC3339.match(v)))
_STRING = ("string", lambda v: isinstance(v, str))
_TYPED: dict[tuple[str, str], tuple[str, Any]] = {
    ("Deployment", "spec.replicas"): _INT32, ("ReplicaSet", "spec.replicas"): _INT32,
    ("ReplicationController", "spec.replicas"): _INT32, ("DaemonSet", "spec.minReadySeconds"): _INT32,
    ("Deployment", "spec.minReadySeconds"): _INT32, ("Deployment", "spec.progressDeadlineSeconds"): _INT32,
    ("Lease", "spec.holderIdentity"): _STRING, ("Lease", "spec.leaseDurationSeconds"): _INT32,
    ("Lease", "spec.leaseTransitions"): _INT32,
    ("Lease", "spec.acquireTime"): _MICRO_TIME, ("Lease", "spec.renewTime"): _MICRO_TIME,
    ("Pod", "spec.terminationGracePeriodSeconds"): _INT64,
    **{("Job", f"spec.{key}"): _INT32 for key in ("parallelism", "completions", "backoffLimit",
                                                  "backoffLimitPerIndex", "maxFailedIndexes")},
    ("Job", "spec.activeDeadlineSeconds"): _INT64,
    **{("Job", f"spec.{key}"): ("bool", lambda v: isinstance(v, bool)) for key in ("suspend", "manualSelector")},
    ("Job", "spec.completionMode"): _STRING,
}


def unknown_fields(kind: str, obj: Any) -> list[str]:
    """Dotted paths of the fields in `obj` that the kind's struct lacks (empty when there is no schema)."""
    schema = SCHEMAS.get(kind)
    return _walk(schema, obj, "") if schema is not None else []


def _walk(schema: Any, value: Any, prefix: str) -> list[str]:
    if isinstance(schema, list) and isinstance(value, list):
        return [path for i, item in enumerate(value) for path in _walk(schema[0], item, f"{prefix}[{i}]")]
    if not isinstance(schema, dict) or not isinstance(value, dict):
        return []
    found: list[str] = []
    for key, child in value.items():
        path = f"{prefix}.{key}" if prefix else key
        if key not in schema:
            found.append(path)
        else:
            found.extend(_walk(schema[key], child, path))
    return found


def check_types(kind: str, api_version: str, obj: Any) -> None:
    """A typed field holding a value of the wrong JSON type is a 400, as Go's decoder makes it."""
    for (typed_kind, path), (go_type, ok) in _TYPED.items():
        if typed_kind != kind:
            continue
        value: Any = obj
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None and not ok(value):
            version = api_version.rsplit("/", 1)[-1]
            raise bad_request(f'{kind} in version "{version}" cannot be handled as a {kind}: '
                              f"{path}: invalid value {value!r} for type {go_type}")


def field_validation(kind: str, api_version: str, obj: Any, directive: str | None) -> list[str]:
    """Apply `?fieldValidation=`: raise under Strict, return the warnings under Warn (the server default).

    Value types are checked by the store on every write (`check_types`), whatever the directive."""
    directive = directive or "Warn"
    if directive not in ("Strict", "Warn", "Ignore"):
        raise bad_request(f'fieldValidation parameter unsupported: "{directive}"; '
                          'valid values are: "Ignore", "Warn", "Strict"')
    unknown = [] if directive == "Ignore" else unknown_fields(kind, obj)
    if unknown and directive == "Strict":
        version = api_version.rsplit("/", 1)[-1]
        listed = ", ".join(f'unknown field "{path}"' for path in unknown)
        raise bad_request(f'{kind} in version "{version}" cannot be handled as a {kind}: strict decoding error: '
                          f"{listed}")
    return [f'unknown field "{path}"' for path in unknown]

