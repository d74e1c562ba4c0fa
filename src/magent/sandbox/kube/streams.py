"""Streaming responses: watches (newline-delimited JSON events, chunked) and `kubectl logs -f`.

A watch sends `{"type": "ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|"ERROR", "object": …}` lines. With a
label or field selector, an object that stops matching is sent as DELETED and one that starts matching as
ADDED, as the API server does.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from magent.sandbox.kube.discovery import ResourceType
from magent.sandbox.kube.errors import ApiError
from magent.sandbox.kube.store import ObjectStore, Watcher, WatchEvent

DEFAULT_WATCH_TIMEOUT_S = 1800.0
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


@dataclass
class WatchRequest:
    rtype: ResourceType
    namespace: str | None
    matcher: Callable[[dict[str, Any]], bool]
    resource_version: str | None
    timeout_s: float = DEFAULT_WATCH_TIMEOUT_S
    bookmarks: bool = False
    send_initial_events: bool = False
    bookmark_interval_s: float = 5.0
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # e.g. each object as a Table

    def render(self, kind: str, obj: dict[str, Any]) -> bytes:
        return _line(kind, self.transform(obj) if self.transform else obj)


def _line(kind: str, obj: dict[str, Any]) -> bytes:
    return (json.dumps({"type": kind, "object": obj}, separators=(",", ":")) + "\n").encode()


def filtered_type(event: WatchEvent, matcher: Callable[[dict[str, Any]], bool]) -> str | None:
    """The event type this watcher should see, or None when neither old nor new object matches."""
    new_matches = matcher(event.obj)
    if event.type == "DELETED":
        return "DELETED" if new_matches else None
    old_matches = event.old is not None and matcher(event.old)
    if new_matches:
        return "MODIFIED" if event.type == "MODIFIED" and old_matches else "ADDED"
    return "DELETED" if old_matches else None


def _bookmark(rtype: ResourceType, rv: int, annotations: dict[str, str] | None = None) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if annotations:
        meta["annotations"] = annotations
    return _line("BOOKMARK", {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": meta})


def _parse_rv(text: str | None) -> int | None:
    if text in (None, "", "0"):
        return None
    try:
        return int(text)
    except ValueError:
        raise ApiError(400, "BadRequest", f"invalid resource version: {text!r}") from None


async def watch_stream(store: ObjectStore, request: WatchRequest) -> AsyncIterator[bytes]:
    """The body of a watch response; ends at the timeout, when the store closes, or on client disconnect."""
    since = _parse_rv(request.resource_version)
    try:
        watcher, backlog, rv = store.watch(request.rtype, request.namespace, since, asyncio.get_running_loop())
    except ApiError as exc:  # 410 Expired arrives as an ERROR event in a 200 response
        yield _line("ERROR", exc.status())
        return
    try:
        async for chunk in _follow(store, request, watcher, backlog, initial_end=rv if since is None else None):
            yield chunk
    finally:
        store.unwatch(watcher)


async def _follow(store: ObjectStore, request: WatchRequest, watcher: Watcher, backlog: list[WatchEvent],
                  initial_end: int | None) -> AsyncIterator[bytes]:
    deadline = time.monotonic() + request.timeout_s
    for event in backlog:
        kind = filtered_type(event, request.matcher)
        if kind:
            yield request.render(kind, event.obj)
    if initial_end is not None and request.send_initial_events and request.bookmarks:
        yield _bookmark(request.rtype, initial_end, {INITIAL_EVENTS_END: "true"})
    while (remaining := deadline - time.monotonic()) > 0:
        wait = min(remaining, request.bookmark_interval_s) if request.bookmarks else remaining
        try:
            event = await asyncio.wait_for(watcher.queue.get(), timeout=wait)
        except TimeoutError:
            if request.bookmarks and deadline - time.monotonic() > 0:
                yield _bookmark(request.rtype, store.resource_version)
            continue
        if event is None:
            return
        kind = filtered_type(event, request.matcher)
        if kind:
            yield request.render(kind, event.obj)


async def follow_lines(first: list[str], more: Callable[[], list[str] | None],
                       interval_s: float = 1.0) -> AsyncIterator[bytes]:
    """`logs -f`: the lines so far, then new ones every `interval_s` until `more()` returns None."""
    for line in first:
        yield (line + "\n").encode()
    while True:
        await asyncio.sleep(interval_s)
        lines = more()
        if lines is None:
            return
        for line in lines:
            yield (line + "\n").encode()
