"""Plausible container logs for `kubectl logs`: a start-up banner, then one access-log line per second.

A crash-looping container ends each run with a traceback, an OOM-killed one with the kernel's kill; an
unready one logs failing dependency checks. `previous=true` gives the run before the current one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from magent.sandbox.kube.pods import image_tag

if TYPE_CHECKING:
    from magent.sandbox.kube.pods import ContainerView, PodClock

_MAX_LINES = 500
_PATHS = ("/v1/chat", "/v1/agents/run", "/health", "/v1/conversations")


def _at(clock: PodClock, moment: float) -> str:
    return datetime.fromtimestamp(clock.wall(moment), UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _banner(clock: PodClock, view: ContainerView, start: float) -> list[str]:
    version = image_tag(view.image)
    return [
        f"{_at(clock, start)} INFO  starting {view.name} version={version} image={view.image}",
        f"{_at(clock, start)} INFO  mistral client ready (model=mistral-large-latest, timeout=30s)",
        f"{_at(clock, start)} INFO  listening on 0.0.0.0:8080",
    ]


def _traffic(clock: PodClock, start: float, end: float) -> list[str]:
    lines = []
    second = 1
    while start + second <= end and len(lines) < _MAX_LINES:
        path = _PATHS[second % len(_PATHS)]
        lines.append(f'{_at(clock, start + second)} INFO  "POST {path} HTTP/1.1" 200 '
                     f"{40 + (second * 37) % 900}ms")
        second += 1
    return lines


def _crash(clock: PodClock, view: ContainerView, at: float) -> list[str]:
    if view.fault == "oom":
        return [f"{_at(clock, at)} INFO  loading conversation cache into memory",
                f"{_at(clock, at)} WARN  memory usage 98% of limit", "Killed"]
    return [
        f"{_at(clock, at)} ERROR startup check failed",
        "Traceback (most recent call last):",
        '  File "/app/server.py", line 42, in <module>',
        "    client.models.list()",
        "RuntimeError: cannot reach the Mistral API: connection refused",
    ]


def log_lines(clock: PodClock, view: ContainerView, previous: bool, now: float, restart_interval: float) -> list[str]:
    if view.fault in ("crashloop", "oom"):
        cycle = max(restart_interval, 0.05)
        start = view.running_since - (cycle if previous and not view.crashed else 0)
        return _banner(clock, view, start) + (_crash(clock, view, start + cycle / 2)
                                              if previous or view.crashed else [])
    lines = _banner(clock, view, view.running_since)
    if view.fault == "unready":
        return lines + [f"{_at(clock, now)} WARN  readiness: dependency check failing, answering 503 on /ready"]
    return (lines + _traffic(clock, view.running_since, now))[-_MAX_LINES:]
