"""The in-memory object store: one resourceVersion counter, uid/generation/creationTimestamp, watch fan-out.

Thread-safe (the HTTP server, the controller thread and test code all use it). Every write gets the next
resourceVersion and becomes a watch event; the last events are kept so that a watch can resume from a
resourceVersion (older than the kept window → 410 Expired, as etcd compaction does).
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from magent.core.timeutil import utcnow
from magent.sandbox.kube import graceful, objects
from magent.sandbox.kube.discovery import RESOURCES, ResourceType, by_kind
from magent.sandbox.kube.errors import already_exists, conflict, gone, namespace_not_found, not_found
from magent.sandbox.kube.fields import check_types

Obj = dict[str, Any]
_NAMESPACE = by_kind("v1", "Namespace")
_SERVICE_ACCOUNT = by_kind("v1", "ServiceAccount")
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now_rfc3339() -> str:
    return utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(_NAME_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class WatchEvent:
    rv: int
    type: str  # ADDED, MODIFIED or DELETED
    rtype: ResourceType
    obj: Obj
    old: Obj | None = None

    @property
    def namespace(self) -> str:
        return self.obj["metadata"].get("namespace", "")


@dataclass(eq=False)
class Watcher:
    """One open watch: events are queued on the watching request's event loop."""

    rtype: ResourceType
    namespace: str | None
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)

    def wants(self, event: WatchEvent) -> bool:
        return event.rtype == self.rtype and (self.namespace is None or event.namespace == self.namespace)

    def push(self, event: WatchEvent | None) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, event)
        except RuntimeError:  # the loop is closed: the client went away
            pass


def _key(rtype: ResourceType, namespace: str | None, name: str) -> tuple[str, str]:
    return (namespace or "" if rtype.namespaced else "", name)


def _comparable(obj: Obj) -> Obj:
    stripped = copy.deepcopy(obj)
    stripped["metadata"].pop("resourceVersion", None)
    stripped["metadata"].pop("managedFields", None)
    return stripped


class ObjectStore:
    """Objects by resource type and (namespace, name); every method returns copies."""

    def __init__(self, *, history: int = 20000, first_rv: int = 1000) -> None:
        self._lock = threading.RLock()
        self._objects: dict[ResourceType, dict[tuple[str, str], Obj]] = {r: {} for r in RESOURCES}
        self._rv = first_rv
        self._history: deque[WatchEvent] = deque(maxlen=history)
        self._compacted_rv = first_rv
        self._watchers: set[Watcher] = set()
        self._listeners: list[Callable[[WatchEvent], None]] = []

    @property
    def lock(self) -> threading.RLock:
        """Hold it to read-modify-write atomically (PATCH, the scale subresource)."""
        return self._lock

    @property
    def resource_version(self) -> int:
        with self._lock:
            return self._rv

    def add_listener(self, listener: Callable[[WatchEvent], None]) -> None:
        """Called (under the store lock, so keep it short) after every write; the controller wakes on it."""
        self._listeners.append(listener)

    # --- reads ---------------------------------------------------------------------------------------
    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> Obj | None:
        with self._lock:
            obj = self._objects[rtype].get(_key(rtype, namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def list(self, rtype: ResourceType, namespace: str | None = None,
             matcher: Callable[[Obj], bool] | None = None) -> tuple[list[Obj], int]:
        """Objects sorted by (namespace, name), and the resourceVersion the list is consistent with."""
        with self._lock:
            items = [
                copy.deepcopy(obj) for key, obj in sorted(self._objects[rtype].items())
                if (namespace is None or key[0] == namespace) and (matcher is None or matcher(obj))
            ]
            return items, self._rv

    def namespace_exists(self, namespace: str) -> bool:
        with self._lock:
            return ("", namespace) in self._objects[_NAMESPACE]

    # --- writes --------------------------------------------------------------------------------------
    def create(self, rtype: ResourceType, obj: Obj, *, dry_run: bool = False) -> Obj:
        obj = objects.check_type(rtype, copy.deepcopy(obj))
        check_types(rtype.kind, rtype.api_version, obj)
        meta = obj["metadata"]
        with self._lock:
            if rtype.namespaced and not self.namespace_exists(meta.get("namespace") or ""):
                raise namespace_not_found(meta.get("namespace") or "")
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = self._generate_name(rtype, meta)
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=now_rfc3339())
            for transient in ("resourceVersion", "deletionTimestamp", "generation"):
                meta.pop(transient, None)
            if not rtype.namespaced:
                meta.pop("namespace", None)
            if rtype.has_spec_generation:
                meta["generation"] = 1
            objects.prepare_create(rtype, obj)
            objects.apply_defaults(rtype, obj)
            objects.validate(rtype, obj)
            key = _key(rtype, meta.get("namespace"), meta["name"])
            if key in self._objects[rtype]:
                raise already_exists(rtype, meta["name"])
            if dry_run:
                return obj
            created = self._commit("ADDED", rtype, key, obj, None)
            if rtype == _NAMESPACE:
                self._add_default_service_account(meta["name"])
            return created

    def _add_default_service_account(self, namespace: str) -> None:
        """What the serviceaccount controller does for each new namespace (pods and kubectl expect `default`)."""
        account = {"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": "default", "namespace": namespace, "uid": str(uuid.uuid4()),
                                "creationTimestamp": now_rfc3339()}}
        self._commit("ADDED", _SERVICE_ACCOUNT, _key(_SERVICE_ACCOUNT, namespace, "default"), account, None)

    def _generate_name(self, rtype: ResourceType, meta: Obj) -> str:
        for _ in range(20):
            name = f"{meta['generateName']}{random_suffix()}"
            if _key(rtype, meta.get("namespace"), name) not in self._objects[rtype]:
                return name
        raise already_exists(rtype, meta["generateName"])

    def update(self, rtype: ResourceType, obj: Obj, *, subresource: str | None = None,
               dry_run: bool = False) -> Obj:
        """Replace an object (PUT semantics). A stale `metadata.resourceVersion` is a 409 Conflict."""
        new = objects.check_type(rtype, copy.deepcopy(obj))
        check_types(rtype.kind, rtype.api_version, new)
        meta = new["metadata"]
        with self._lock:
            key = _key(rtype, meta.get("namespace"), meta.get("name", ""))
            old = self._objects[rtype].get(key)
            if old is None:
                raise not_found(rtype, meta.get("name", ""))
            if meta.get("resourceVersion") not in (None, "", old["metadata"]["resourceVersion"]):
                raise conflict(rtype, meta["name"])
            objects.prepare_update(rtype, new, old, subresource)
            objects.apply_defaults(rtype, new)
            objects.validate(rtype, new, old)
            if rtype.has_spec_generation and subresource != "status" and new.get("spec") != old.get("spec"):
                meta["generation"] = old["metadata"].get("generation", 1) + 1
            if _comparable(new) == _comparable(old) or dry_run:
                new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
                return new if dry_run else copy.deepcopy(old)
            return self._commit("MODIFIED", rtype, key, new, old)

    def delete(self, rtype: ResourceType, namespace: str | None, name: str, *,
               propagation: str = "Background", dry_run: bool = False,
               grace_period_seconds: int | None = None) -> Obj:
        """Delete an object; dependents (ownerReferences to it) are deleted too unless propagation is Orphan.

        A running pod is deleted gracefully, as kube-apiserver does: it gets a `deletionTimestamp` (now +
        its grace period: `grace_period_seconds`, else `spec.terminationGracePeriodSeconds`) and stays,
        Terminating, until the kubelet removes it; a grace of 0 (`kubectl delete --now/--force`) removes it.
        """
        with self._lock:
            key = _key(rtype, namespace, name)
            old = self._objects[rtype].get(key)
            if old is None:
                raise not_found(rtype, name)
            if dry_run:
                return copy.deepcopy(old)
            if rtype.kind == "Pod" and (grace := graceful.pod_grace(old, grace_period_seconds)) is not None:
                return self._mark_terminating(rtype, key, old, grace)
            deleted = self._remove(rtype, key)
            if rtype == _NAMESPACE:
                self._delete_namespace_contents(name)
            else:
                self._collect_dependents(deleted["metadata"]["uid"], orphan=propagation == "Orphan")
            return deleted

    def _mark_terminating(self, rtype: ResourceType, key: tuple[str, str], old: Obj, grace: int) -> Obj:
        marked = graceful.terminating(old, grace)
        if marked == old:  # already terminating at least as soon
            return copy.deepcopy(old)
        return self._commit("MODIFIED", rtype, key, marked, old)

    def _remove(self, rtype: ResourceType, key: tuple[str, str]) -> Obj:
        old = self._objects[rtype].pop(key)
        self._rv += 1
        gone_obj = copy.deepcopy(old)
        gone_obj["metadata"]["resourceVersion"] = str(self._rv)
        self._publish(WatchEvent(self._rv, "DELETED", rtype, gone_obj, old))
        return copy.deepcopy(gone_obj)

    def _delete_namespace_contents(self, namespace: str) -> None:
        for rtype, table in self._objects.items():
            for key in [k for k in table if rtype.namespaced and k[0] == namespace]:
                self._remove(rtype, key)

    def _collect_dependents(self, owner_uid: str, *, orphan: bool) -> None:
        for rtype, table in self._objects.items():
            for key, obj in list(table.items()):
                refs = obj["metadata"].get("ownerReferences") or []
                if not any(ref.get("uid") == owner_uid for ref in refs):
                    continue
                if orphan:
                    orphaned = copy.deepcopy(obj)
                    orphaned["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != owner_uid]
                    self._commit("MODIFIED", rtype, key, orphaned, obj)
                elif rtype.kind == "Pod" and (grace := graceful.pod_grace(obj, None)) is not None:
                    self._mark_terminating(rtype, key, obj, grace)
                elif key in table:
                    dependent = self._remove(rtype, key)
                    self._collect_dependents(dependent["metadata"]["uid"], orphan=False)

    def _commit(self, kind: str, rtype: ResourceType, key: tuple[str, str], obj: Obj, old: Obj | None) -> Obj:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        self._objects[rtype][key] = obj
        self._publish(WatchEvent(self._rv, kind, rtype, copy.deepcopy(obj), old))
        return copy.deepcopy(obj)

    def _publish(self, event: WatchEvent) -> None:
        if len(self._history) == self._history.maxlen:
            self._compacted_rv = self._history[0].rv
        self._history.append(event)
        for watcher in self._watchers:
            if watcher.wants(event):
                watcher.push(event)
        for listener in self._listeners:
            listener(event)

    # --- watch ---------------------------------------------------------------------------------------
    def watch(self, rtype: ResourceType, namespace: str | None, since_rv: int | None,
              loop: asyncio.AbstractEventLoop) -> tuple[Watcher, list[WatchEvent], int]:
        """Register a watcher. Returns it, the events to send first, and the resourceVersion they reach.

        From a resourceVersion: the kept events after it. Without one: a synthetic ADDED per current object.
        Both are taken under the lock that publishes, so nothing falls between them and the live events.
        """
        with self._lock:
            if since_rv is not None and since_rv < self._compacted_rv:
                raise gone(str(since_rv), self._rv)
            watcher = Watcher(rtype, namespace, loop)
            if since_rv is None:
                backlog = [WatchEvent(self._rv, "ADDED", rtype, copy.deepcopy(obj))
                           for key, obj in sorted(self._objects[rtype].items())
                           if namespace is None or key[0] == namespace]
            else:
                backlog = [e for e in self._history if e.rv > since_rv and watcher.wants(e)]
            self._watchers.add(watcher)
            return watcher, backlog, self._rv

    def unwatch(self, watcher: Watcher) -> None:
        with self._lock:
            self._watchers.discard(watcher)

    def close_watchers(self) -> None:
        """End every open watch (the server is stopping)."""
        with self._lock:
            for watcher in self._watchers:
                watcher.push(None)
            self._watchers.clear()
