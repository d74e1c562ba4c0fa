"""Plausible container logs for `kubectl logs`: a start-up banner, then one access-log line per second.

A crash-looping container ends each run with a traceback, an OOM-killed one with the kernel's kill; an
unready one logs failing dependency checks. `previous=true` gives the run before the current one. Every line
carries the (wall-clock) moment the runtime received it, which `timestamps=true` prints and
`sinceSeconds` / `sinceTime` filter on, as the kubelet does.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from magent.sandbox.kube.errors import ApiError, bad_request
from magent.sandbox.kube.pods import image_tag

if TYPE_CHECKING:
    from magent.sandbox.kube.pods import ContainerView, PodClock

LogLine = tuple[float, str]  # (wall-clock seconds, text)
_MAX_LINES = 500
_PATHS = ("/v1/chat", "/v1/agents/run", "/health", "/v1/conversations")


def _at(clock: PodClock, moment: float) -> str:
    return datetime.fromtimestamp(clock.wall(moment), UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def runtime_stamp(wall: float) -> str:
    """The RFC 3339 timestamp with nanoseconds that `kubectl logs --timestamps` puts before each line."""
    moment = datetime.fromtimestamp(wall, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}000Z"


def _banner(clock: PodClock, view: ContainerView, start: float) -> list[LogLine]:
    version = image_tag(view.image)
    wall = clock.wall(start)
    return [
        (wall, f"{_at(clock, start)} INFO  starting {view.name} version={version} image={view.image}"),
        (wall, f"{_at(clock, start)} INFO  mistral client ready (model=mistral-large-latest, timeout=30s)"),
        (wall, f"{_at(clock, start)} INFO  listening on 0.0.0.0:8080"),
    ]


def _traffic(clock: PodClock, start: float, end: float) -> list[LogLine]:
    lines = []
    first = max(1, int(end - start) - _MAX_LINES + 1)  # only the last _MAX_LINES seconds are kept
    for second in range(first, int(end - start) + 1):
        path = _PATHS[second % len(_PATHS)]
        lines.append((clock.wall(start + second), f'{_at(clock, start + second)} INFO  "POST {path} HTTP/1.1" 200 '
                      f"{40 + (second * 37) % 900}ms"))
    return lines


def _crash(clock: PodClock, view: ContainerView, at: float) -> list[LogLine]:
    wall = clock.wall(at)
    if view.fault == "oom":
        texts = [f"{_at(clock, at)} INFO  loading conversation cache into memory",
                 f"{_at(clock, at)} WARN  memory usage 98% of limit", "Killed"]
    else:
        texts = [f"{_at(clock, at)} ERROR startup check failed", "Traceback (most recent call last):",
                 '  File "/app/server.py", line 42, in <module>', "    client.models.list()",
                 "RuntimeError: cannot reach the Mistral API: connection refused"]
    return [(wall, text) for text in texts]


def log_lines(clock: PodClock, view: ContainerView, previous: bool, now: float) -> list[LogLine]:
    if view.fault in ("crashloop", "oom"):
        start = view.running_since
        if previous and not view.crashed and view.previous_since is not None:
            start = view.previous_since
        return _banner(clock, view, start) + (_crash(clock, view, start + view.run_s)
                                              if previous or view.crashed else [])
    lines = _banner(clock, view, view.running_since)
    if view.fault == "unready":
        return lines + [(clock.wall(now), f"{_at(clock, now)} WARN  readiness: dependency check failing, "
                                          "answering 503 on /ready")]
    return (lines + _traffic(clock, view.running_since, now))[-_MAX_LINES:]


@dataclass(frozen=True)
class LogOptions:
    """The PodLogOptions of a log request that shape the answer: since, tail, timestamps."""

    since_wall: float | None = None
    tail: int | None = None
    timestamps: bool = False

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> LogOptions:
        """From the query string; bad values are the API server's 400/422."""
        since_seconds, since_time = query.get("sinceSeconds"), query.get("sinceTime")
        if since_seconds and since_time:
            raise _invalid("sinceSeconds", "at most one of `sinceTime` or `sinceSeconds` may be specified")
        since = None
        if since_seconds:
            seconds = _integer("sinceSeconds", since_seconds)
            if seconds < 1:
                raise _invalid("sinceSeconds", f"{seconds}: must be greater than 0")
            since = time.time() - seconds
        elif since_time:
            since = _rfc3339("sinceTime", since_time)
        tail = _integer("tailLines", query["tailLines"]) if query.get("tailLines") else None
        if tail is not None and tail < 0:
            raise _invalid("tailLines", f"{tail}: must be greater than or equal to 0")
        return cls(since, tail, (query.get("timestamps") or "").lower() in ("1", "t", "true"))

    def render(self, lines: list[LogLine]) -> list[str]:
        # a sinceTime copied from a printed stamp is rounded to the microsecond: compare at that precision
        kept = [(wall, text) for wall, text in lines if self.since_wall is None or wall >= self.since_wall - 1e-6]
        if self.timestamps:
            return [f"{runtime_stamp(wall)} {text}" for wall, text in kept]
        return [text for _, text in kept]

    def select(self, lines: list[LogLine]) -> list[str]:
        """What a request returns (a follow then goes on with `render` of the new lines)."""
        rendered = self.render(lines)
        if self.tail is not None:
            rendered = rendered[len(rendered) - self.tail:] if self.tail else []
        return rendered


def _invalid(field: str, detail: str) -> ApiError:
    return ApiError(422, "Invalid", f"PodLogOptions is invalid: {field}: Invalid value: {detail}")


def _integer(field: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise bad_request(f'{field}: invalid value "{text}": strconv.ParseInt: parsing "{text}": '
                          "invalid syntax") from None


def _rfc3339(field: str, text: str) -> float:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise bad_request(f'{field}: invalid value "{text}": parsing time as RFC 3339')
    return moment.timestamp()
