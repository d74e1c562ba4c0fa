"""Server-side printing: `meta.k8s.io/v1` Table responses, the columns `kubectl get` shows.

kubectl asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,…`; with a Table it prints READY,
UP-TO-DATE, STATUS, RESTARTS… exactly as against a real cluster (a plain list would only give NAME and AGE).
Columns follow kubernetes/pkg/printers/internalversion/printers.go; priority 1 columns are `-o wide` only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from magent.sandbox.kube.nodes import node_ready, node_roles
from magent.sandbox.kube.selectors import selector_string

Obj = dict[str, Any]
Column = tuple[str, str, int, Callable[[Obj], Any]]  # name, type, priority, cell


def human_duration(seconds: float) -> str:
    """Kubernetes' HumanDuration: 45s, 2m5s, 12m, 3h20m, 2d4h, …"""
    seconds = int(seconds)
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    return f"{hours // (24 * 365)}y"


def _age(stamp: str | None) -> str:
    if not stamp:
        return "<unknown>"
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return human_duration((datetime.now(UTC) - moment).total_seconds())


def _name(obj: Obj) -> str:
    return obj["metadata"]["name"]


def _created(obj: Obj) -> str:
    return _age(obj["metadata"].get("creationTimestamp"))


def _status(obj: Obj, key: str, default: Any = 0) -> Any:
    return (obj.get("status") or {}).get(key, default)


def _containers(obj: Obj) -> list[Obj]:
    spec = obj.get("spec") or {}
    template = spec.get("template") or {}
    return (template.get("spec") or spec).get("containers") or []


def _pod_status(pod: Obj) -> str:
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    reason = _status(pod, "phase", "Pending")
    for status in _status(pod, "containerStatuses", []) or []:
        state = status.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            reason = state["terminated"].get("reason") or "Error"
    return reason


def _restarts(pod: Obj) -> str:
    statuses = _status(pod, "containerStatuses", []) or []
    count = sum(s.get("restartCount", 0) for s in statuses)
    finished = [((s.get("lastState") or {}).get("terminated") or {}).get("finishedAt") for s in statuses]
    finished = [f for f in finished if f]
    return f"{count} ({_age(max(finished))} ago)" if count and finished else str(count)


def _pod_ready(pod: Obj) -> str:
    ready = sum(1 for s in _status(pod, "containerStatuses", []) or [] if s.get("ready"))
    return f"{ready}/{len(pod['spec'].get('containers') or [])}"


def _service_selector(service: Obj) -> str:
    selector = (service.get("spec") or {}).get("selector") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>"


def _hpa_reference(hpa: Obj) -> str:
    target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    return f"{target.get('kind', '')}/{target.get('name', '')}"


def _ports(service: Obj) -> str:
    ports = (service.get("spec") or {}).get("ports") or []
    return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _holder(lease: Obj) -> str:
    return (lease.get("spec") or {}).get("holderIdentity") or ""


def _event_object(event: Obj) -> str:
    involved = event.get("involvedObject") or {}
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


_COLUMNS: dict[str, list[Column]] = {
    "Deployment": [
        ("Name", "string", 0, _name),
        ("Ready", "string", 0, lambda d: f"{_status(d, 'readyReplicas')}/{d['spec'].get('replicas', 1)}"),
        ("Up-to-date", "integer", 0, lambda d: _status(d, "updatedReplicas")),
        ("Available", "integer", 0, lambda d: _status(d, "availableReplicas")),
        ("Age", "string", 0, _created),
        ("Containers", "string", 1, lambda d: ",".join(c["name"] for c in _containers(d))),
        ("Images", "string", 1, lambda d: ",".join(c.get("image", "") for c in _containers(d))),
        ("Selector", "string", 1, lambda d: selector_string(d["spec"].get("selector"))),
    ],
    "ReplicaSet": [
        ("Name", "string", 0, _name),
        ("Desired", "integer", 0, lambda r: r["spec"].get("replicas", 1)),
        ("Current", "integer", 0, lambda r: _status(r, "replicas")),
        ("Ready", "integer", 0, lambda r: _status(r, "readyReplicas")),
        ("Age", "string", 0, _created),
        ("Containers", "string", 1, lambda r: ",".join(c["name"] for c in _containers(r))),
        ("Images", "string", 1, lambda r: ",".join(c.get("image", "") for c in _containers(r))),
        ("Selector", "string", 1, lambda r: selector_string(r["spec"].get("selector"))),
    ],
    "Pod": [
        ("Name", "string", 0, _name),
        ("Ready", "string", 0, _pod_ready),
        ("Status", "string", 0, _pod_status),
        ("Restarts", "string", 0, _restarts),
        ("Age", "string", 0, _created),
        ("IP", "string", 1, lambda p: _status(p, "podIP", "<none>")),
        ("Node", "string", 1, lambda p: p["spec"].get("nodeName") or "<none>"),
        ("Nominated Node", "string", 1, lambda p: "<none>"),
        ("Readiness Gates", "string", 1, lambda p: "<none>"),
    ],
    "Namespace": [("Name", "string", 0, _name), ("Status", "string", 0, lambda n: _status(n, "phase", "Active")),
                  ("Age", "string", 0, _created)],
    "Service": [
        ("Name", "string", 0, _name),
        ("Type", "string", 0, lambda s: s["spec"].get("type", "ClusterIP")),
        ("Cluster-IP", "string", 0, lambda s: s["spec"].get("clusterIP", "<none>")),
        ("External-IP", "string", 0, lambda s: "<none>"),
        ("Port(s)", "string", 0, _ports),
        ("Age", "string", 0, _created),
        ("Selector", "string", 1, _service_selector),
    ],
    "Secret": [("Name", "string", 0, _name), ("Type", "string", 0, lambda s: s.get("type", "Opaque")),
               ("Data", "integer", 0, lambda s: len(s.get("data") or {})), ("Age", "string", 0, _created)],
    "ConfigMap": [("Name", "string", 0, _name), ("Data", "integer", 0, lambda c: len(c.get("data") or {})),
                  ("Age", "string", 0, _created)],
    "Lease": [("Name", "string", 0, _name), ("Holder", "string", 0, _holder), ("Age", "string", 0, _created)],
    "Event": [
        ("Last Seen", "string", 0, lambda e: _age(e.get("lastTimestamp") or e["metadata"].get("creationTimestamp"))),
        ("Type", "string", 0, lambda e: e.get("type", "")),
        ("Reason", "string", 0, lambda e: e.get("reason", "")),
        ("Object", "string", 0, _event_object),
        ("Message", "string", 0, lambda e: e.get("message", "")),
        ("Count", "integer", 1, lambda e: e.get("count", 1)),
        ("Name", "string", 1, _name),
    ],
    "HorizontalPodAutoscaler": [
        ("Name", "string", 0, _name),
        ("Reference", "string", 0, _hpa_reference),
        ("MinPods", "integer", 0, lambda h: h["spec"].get("minReplicas", 1)),
        ("MaxPods", "integer", 0, lambda h: h["spec"].get("maxReplicas", 0)),
        ("Replicas", "integer", 0, lambda h: _status(h, "currentReplicas")),
        ("Age", "string", 0, _created),
    ],
    "PodDisruptionBudget": [
        ("Name", "string", 0, _name),
        ("Min Available", "string", 0, lambda p: str(p["spec"].get("minAvailable", "N/A"))),
        ("Max Unavailable", "string", 0, lambda p: str(p["spec"].get("maxUnavailable", "N/A"))),
        ("Allowed Disruptions", "integer", 0, lambda p: _status(p, "disruptionsAllowed")),
        ("Age", "string", 0, _created),
    ],
}
def _slice_ports(endpoint_slice: Obj) -> str:
    ports = endpoint_slice.get("ports")
    if ports is None:
        return "<unset>"
    return ",".join(str(p.get("port")) for p in ports) or "<unset>"


def _slice_endpoints(endpoint_slice: Obj) -> str:
    addresses = [a for e in endpoint_slice.get("endpoints") or [] for a in e.get("addresses") or []]
    if not addresses:
        return "<none>"
    shown = ",".join(addresses[:3])
    return shown + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")


_COLUMNS["EndpointSlice"] = [
    ("Name", "string", 0, _name),
    ("AddressType", "string", 0, lambda s: s.get("addressType", "")),
    ("Ports", "string", 0, _slice_ports),
    ("Endpoints", "string", 0, _slice_endpoints),
    ("Age", "string", 0, _created),
]


def _job_status(job: Obj) -> str:
    """kubectl's STATUS of a Job (printers.go printJob): its latest finishing condition, else Running."""
    if job["metadata"].get("deletionTimestamp"):
        return "Terminating"
    conditions = {c.get("type") for c in _status(job, "conditions", []) or [] if c.get("status") == "True"}
    for kind in ("Complete", "Failed", "FailureTarget", "SuccessCriteriaMet", "Suspended"):
        if kind in conditions:
            return kind
    return "Running"


def _job_completions(job: Obj) -> str:
    spec = job.get("spec") or {}
    if spec.get("completions") is not None:
        return f"{_status(job, 'succeeded')}/{spec['completions']}"
    return f"{_status(job, 'succeeded')}/1 of {spec.get('parallelism', 1)}"


def _job_duration(job: Obj) -> str:
    from magent.sandbox.kube.jobs import job_duration

    return job_duration(job)


_COLUMNS["Job"] = [
    ("Name", "string", 0, _name),
    ("Status", "string", 0, _job_status),
    ("Completions", "string", 0, _job_completions),
    ("Duration", "string", 0, _job_duration),
    ("Age", "string", 0, _created),
    ("Containers", "string", 1, lambda j: ",".join(c["name"] for c in _containers(j))),
    ("Images", "string", 1, lambda j: ",".join(c.get("image", "") for c in _containers(j))),
    ("Selector", "string", 1, lambda j: selector_string(j["spec"].get("selector"))),
]
# a ReplicaSet's columns, but a ReplicationController's selector is a plain map, not a LabelSelector
_COLUMNS["ReplicationController"] = [
    *_COLUMNS["ReplicaSet"][:-1],
    ("Selector", "string", 1, lambda r: ",".join(f"{k}={v}" for k, v in (r["spec"].get("selector") or {}).items())),
]
_COLUMNS["DaemonSet"] = [
    ("Name", "string", 0, _name),
    ("Desired", "integer", 0, lambda d: _status(d, "desiredNumberScheduled")),
    ("Current", "integer", 0, lambda d: _status(d, "currentNumberScheduled")),
    ("Ready", "integer", 0, lambda d: _status(d, "numberReady")),
    ("Up-to-date", "integer", 0, lambda d: _status(d, "updatedNumberScheduled")),
    ("Available", "integer", 0, lambda d: _status(d, "numberAvailable")),
    ("Node Selector", "string", 0, lambda d: ",".join(
        f"{k}={v}" for k, v in ((d["spec"].get("template") or {}).get("spec") or {}).get("nodeSelector", {}).items())
        or "<none>"),
    ("Age", "string", 0, _created),
    ("Containers", "string", 1, lambda d: ",".join(c["name"] for c in _containers(d))),
    ("Images", "string", 1, lambda d: ",".join(c.get("image", "") for c in _containers(d))),
    ("Selector", "string", 1, lambda d: selector_string(d["spec"].get("selector"))),
]
_COLUMNS["Node"] = [
    ("Name", "string", 0, _name),
    ("Status", "string", 0, node_ready),
    ("Roles", "string", 0, node_roles),
    ("Age", "string", 0, _created),
    ("Version", "string", 0, lambda n: _status(n, "nodeInfo", {}).get("kubeletVersion", "")),
    ("Internal-IP", "string", 1, lambda n: next((a["address"] for a in _status(n, "addresses", [])
                                                  if a.get("type") == "InternalIP"), "<none>")),
    ("OS-Image", "string", 1, lambda n: _status(n, "nodeInfo", {}).get("osImage", "")),
]
_DEFAULT: list[Column] = [("Name", "string", 0, _name), ("Age", "string", 0, _created)]


def wants_table(accept: str | None) -> bool:
    return bool(accept) and "as=Table" in accept  # type: ignore[operator]


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def to_table(kind: str, items: list[Obj], metadata: Obj, include_object: str | None = None) -> Obj:
    """A Table of `items` (objects of `kind`); `include_object` is None, Metadata (default) or Object."""
    columns = _COLUMNS.get(kind, _DEFAULT)
    include = include_object or "Metadata"
    rows = []
    for item in items:
        row: Obj = {"cells": [cell(item) for _, _, _, cell in columns]}
        embedded = _row_object(item, include)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    definitions = [{"name": name, "type": kind_, "format": "name" if name == "Name" else "", "description": name,
                    "priority": priority} for name, kind_, priority, _ in columns]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
            "columnDefinitions": definitions, "rows": rows}
