"""Core v1 Events, as controllers and the kubelet record them (repeats bump `count`, not a new Event)."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Any

from magent.sandbox.kube.discovery import by_kind
from magent.sandbox.kube.errors import ApiError
from magent.sandbox.kube.store import ObjectStore, now_rfc3339

EVENT = by_kind("v1", "Event")
_MAX_EVENTS_PER_NAMESPACE = 500


class EventRecorder:
    """Writes Events about objects; keeps at most 500 per namespace (the oldest go first, like the TTL)."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, str, str, str], str] = {}
        self._names: dict[str, OrderedDict[str, None]] = {}

    def record(self, obj: dict[str, Any], event_type: str, reason: str, message: str, *,
               component: str, field_path: str | None = None) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        key = (meta.get("uid", ""), reason, message, field_path or "")
        with self._lock:
            name = self._by_key.get(key)
            if name is not None and self._bump(namespace, name):
                return
            self._create(obj, namespace, key, event_type, reason, message, component, field_path)

    def _bump(self, namespace: str, name: str) -> bool:
        event = self._store.get(EVENT, namespace, name)
        if event is None:
            return False
        event["count"] = event.get("count", 1) + 1
        event["lastTimestamp"] = now_rfc3339()
        try:
            self._store.update(EVENT, event)
        except ApiError:
            return False
        return True

    def _create(self, obj: dict[str, Any], namespace: str, key: tuple[str, str, str, str], event_type: str,
                reason: str, message: str, component: str, field_path: str | None) -> None:
        meta = obj["metadata"]
        involved = {"kind": obj.get("kind"), "namespace": namespace, "name": meta["name"], "uid": meta.get("uid"),
                    "apiVersion": obj.get("apiVersion"), "resourceVersion": meta.get("resourceVersion")}
        if field_path:
            involved["fieldPath"] = field_path
        stamp = now_rfc3339()
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{secrets.token_hex(8)}", "namespace": namespace},
            "involvedObject": involved, "reason": reason, "message": message, "type": event_type,
            "count": 1, "firstTimestamp": stamp, "lastTimestamp": stamp,
            "source": {"component": component}, "reportingComponent": component, "reportingInstance": "",
        }
        try:
            created = self._store.create(EVENT, event)
        except ApiError:  # the namespace is gone
            return
        name = created["metadata"]["name"]
        self._by_key[key] = name
        names = self._names.setdefault(namespace, OrderedDict())
        names[name] = None
        while len(names) > _MAX_EVENTS_PER_NAMESPACE:
            oldest, _ = names.popitem(last=False)
            self._forget(namespace, oldest)

    def _forget(self, namespace: str, name: str) -> None:
        try:
            self._store.delete(EVENT, namespace, name)
        except ApiError:
            pass
        for key in [k for k, v in self._by_key.items() if v == name]:
            del self._by_key[key]
