"""The EndpointSlice controller: one `discovery.k8s.io/v1` EndpointSlice per Service with a selector.

Each pod the Service selects that has an IP is an endpoint, with the conditions kube-proxy routes on:
`ready` (the pod is Ready and not terminating: it gets new connections), `serving` (its readiness, even while
terminating) and `terminating` (it has a `deletionTimestamp`). So a pod being deleted leaves the Service's
traffic at once, while it finishes in-flight requests. Slices carry `kubernetes.io/service-name` and are owned
by their Service (deleted with it). One slice holds up to 100 endpoints, as the controller's default.
"""

from __future__ import annotations

from typing import Any

from magent.sandbox.kube.discovery import by_kind
from magent.sandbox.kube.errors import ApiError
from magent.sandbox.kube.graceful import is_terminating
from magent.sandbox.kube.pods import NODE_NAME
from magent.sandbox.kube.replicaset import owner_reference, pod_ready
from magent.sandbox.kube.store import ObjectStore

ENDPOINT_SLICE = by_kind("discovery.k8s.io/v1", "EndpointSlice")
SERVICE = by_kind("v1", "Service")
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
MAX_ENDPOINTS = 100
Obj = dict[str, Any]


def selects(selector: dict[str, str], pod: Obj) -> bool:
    return selector.items() <= (pod["metadata"].get("labels") or {}).items()


def endpoint(pod: Obj) -> Obj | None:
    """The pod as an endpoint, or None while it has no IP."""
    ip = (pod.get("status") or {}).get("podIP")
    if not ip:
        return None
    serving = pod_ready(pod)
    terminating = is_terminating(pod)
    meta = pod["metadata"]
    return {"addresses": [ip],
            "conditions": {"ready": serving and not terminating, "serving": serving, "terminating": terminating},
            "nodeName": pod["spec"].get("nodeName") or NODE_NAME,
            "targetRef": {"kind": "Pod", "namespace": meta.get("namespace"), "name": meta["name"],
                          "uid": meta["uid"]}}


def _target_port(port: Obj, pods: list[Obj]) -> int | None:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    for pod in pods:  # a named port: the first selected container port of that name
        for container in pod["spec"].get("containers") or []:
            for declared in container.get("ports") or []:
                if declared.get("name") == target:
                    return declared.get("containerPort")
    return None


def slice_ports(service: Obj, pods: list[Obj]) -> list[Obj]:
    ports = []
    for port in (service.get("spec") or {}).get("ports") or []:
        number = _target_port(port, pods)
        if number is not None:
            ports.append({"name": port.get("name", ""), "port": number, "protocol": port.get("protocol", "TCP")})
    return ports


class EndpointSliceController:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def sync(self, services: list[Obj], pods: list[Obj]) -> None:
        slices, _ = self.store.list(ENDPOINT_SLICE)
        by_service: dict[tuple[str, str], list[Obj]] = {}
        for found in slices:
            name = (found["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL)
            if name and (found["metadata"].get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY:
                by_service.setdefault((found["metadata"]["namespace"], name), []).append(found)
        for service in services:
            selector = (service.get("spec") or {}).get("selector")
            if not selector:
                continue  # a Service without a selector has its slices written by hand
            namespace = service["metadata"]["namespace"]
            selected = [p for p in pods if p["metadata"].get("namespace") == namespace and selects(selector, p)]
            try:
                self._sync_service(service, selected, by_service.get((namespace, service["metadata"]["name"]), []))
            except ApiError:
                continue  # changed or deleted meanwhile: the next tick sees it

    def _sync_service(self, service: Obj, pods: list[Obj], existing: list[Obj]) -> None:
        endpoints = [e for e in (endpoint(p) for p in sorted(pods, key=lambda p: p["metadata"]["name"])) if e]
        ports = slice_ports(service, pods)
        chunks = [endpoints[i:i + MAX_ENDPOINTS] for i in range(0, len(endpoints), MAX_ENDPOINTS)] or [[]]
        existing = sorted(existing, key=lambda s: s["metadata"]["name"])
        for index, chunk in enumerate(chunks):
            if index < len(existing):
                current = existing[index]
                if current.get("endpoints") != chunk or current.get("ports") != ports:
                    current.update(endpoints=chunk, ports=ports)
                    self.store.update(ENDPOINT_SLICE, current)
            else:
                self.store.create(ENDPOINT_SLICE, self._new_slice(service, chunk, ports))
        for extra in existing[len(chunks):]:
            self.store.delete(ENDPOINT_SLICE, extra["metadata"]["namespace"], extra["metadata"]["name"])

    @staticmethod
    def _new_slice(service: Obj, endpoints: list[Obj], ports: list[Obj]) -> Obj:
        meta = service["metadata"]
        return {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"generateName": f"{meta['name']}-", "namespace": meta["namespace"],
                         "labels": {SERVICE_NAME_LABEL: meta["name"], MANAGED_BY_LABEL: MANAGED_BY},
                         "ownerReferences": [owner_reference(service)]},
            "addressType": "IPv4", "endpoints": endpoints, "ports": ports,
        }


def list_services(store: ObjectStore) -> list[Obj]:
    services, _ = store.list(SERVICE)
    return services


__all__ = ["ENDPOINT_SLICE", "EndpointSliceController", "list_services"]
