"""Wait for a Deployment's rollout as `kubectl rollout status` does: on a watch, which tells of the change that
completes the rollout when it happens, where a poll learns of it up to one interval later.

`magent rollback` says "ROLLED BACK" only once the rollout is complete; polling every 0.1 s made that line
0.05 s late on average, and a second later it would be 0.5 s. Each round reads the Deployment (its errors
are the command's: not found, credentials refused, unreachable), then watches it from that version until
the rollout is complete, the watch ends (its server-side timeout, a dropped connection, an ERROR event such as
"410 Gone") or the deadline. A watch the API server refuses (RBAC allowing get but not watch) costs nothing:
the rounds then poll every `poll_s`, as before.
"""

from __future__ import annotations

import json
import time
from typing import Any

from magent.core.errors import InconsistentState
from magent.core.rollout import RolloutStatus, rollout_status
from magent.services.kube import deployments as kd
from magent.services.kube.client import Kube

WATCH_ROUND_S = 30  # the server closes each watch after this long; the next round reads the Deployment again


def wait_rollout_watching(kube: Kube, name: str, *, timeout_s: float, poll_s: float) -> RolloutStatus:
    """The status once the rollout is done; RolloutFailed past its progress deadline, InconsistentState on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        deployment = kd.get_deployment(kube, name)
        status = rollout_status(deployment.raw)
        if status.done:
            return status
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise InconsistentState(f"timed out after {timeout_s:.0f}s waiting for deployment {name}: {status.message}",
                                    hint=f"kubectl rollout status deployment/{name} -n {kube.namespace}")
        opened = time.monotonic()
        done = _watch(kube, name, deployment.metadata.get("resourceVersion"), min(remaining, WATCH_ROUND_S))
        if done is not None:
            return done
        time.sleep(max(0.0, min(poll_s - (time.monotonic() - opened), deadline - time.monotonic())))


def _watch(kube: Kube, name: str, resource_version: str | None, seconds: float) -> RolloutStatus | None:
    """The done status if a watch event shows the rollout complete within `seconds`, else None."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        response = kube.apps.list_namespaced_deployment(
            kube.namespace, field_selector=f"metadata.name={name}", watch=True, resource_version=resource_version,
            timeout_seconds=max(1, int(seconds)), _preload_content=False,
            _request_timeout=(kube.timeout[0], seconds + 5))
    except (ApiException, HTTPError, OSError):
        return None  # refused or unreachable: the next round's read says why, if it matters
    try:
        for event in _events(response):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind not in ("ADDED", "MODIFIED"):
                return None  # DELETED (the next read says so), ERROR (e.g. the version expired: read again)
            status = rollout_status(obj)
            if status.done:
                return status
    except (HTTPError, OSError, ValueError):
        return None
    finally:
        response.close()  # mid-stream: the connection cannot serve another request
        response.release_conn()
    return None


def _events(response: Any) -> Any:
    """The watch's events, one JSON object per line, as the chunks arrive."""
    pending = b""
    for chunk in response.stream(amt=None, decode_content=True):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.strip():
                yield json.loads(line)
