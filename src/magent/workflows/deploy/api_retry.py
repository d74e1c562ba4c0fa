"""Riding out an API-server blip during a canary's analysis.

An API server restarting (a control-plane upgrade, a load balancer failing over) must not end a deploy at
once, with a canary left serving and nobody watching it. The analysis loop retries its Kubernetes calls
with exponential backoff (0.5 s doubling, at most 5 s apart) for `deploy.api_retry_window`; when the API
answers again the loop carries on (and a canary that went bad meanwhile is aborted by that very analysis).
When it does not, `ApiOutage` (exit 3) ends the deploy naming what is left running.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from magent.core.errors import Unreachable

T = TypeVar("T")
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 5.0


class ApiOutage(Unreachable):
    """The Kubernetes API stayed unreachable for the whole retry window; the message names the canary left."""


def backoff_delays(window_s: float) -> list[float]:
    """The waits between attempts within `window_s`: 0.5, 1, 2, 4, 5, 5… (their sum never exceeds the window)."""
    delays, total, delay = [], 0.0, FIRST_DELAY_S
    while total < window_s:
        step = min(delay, MAX_DELAY_S, window_s - total)
        delays.append(step)
        total += step
        delay *= 2
    return delays


class ApiRetry:
    """Runs a unit of work, retrying it while the API is unreachable for at most `window_s` seconds."""

    def __init__(self, window_s: float, *, sleep: Callable[[float], None] = time.sleep,
                 on_down: Callable[[Unreachable], None] = lambda exc: None,
                 on_up: Callable[[float], None] = lambda seconds: None) -> None:
        self.window_s, self._sleep, self._on_down, self._on_up = window_s, sleep, on_down, on_up

    def call(self, work: Callable[[], T], *, gone: Callable[[Unreachable, float], ApiOutage]) -> T:
        """`work()`, retried on Unreachable; `gone(last_error, seconds)` is raised once the window is spent."""
        delays: list[float] | None = None
        started = 0.0
        while True:
            try:
                result = work()
            except Unreachable as exc:
                if delays is None:
                    started, delays = time.monotonic(), backoff_delays(self.window_s)
                    self._on_down(exc)
                if not delays or time.monotonic() - started >= self.window_s:
                    raise gone(exc, time.monotonic() - started) from None
                self._sleep(delays.pop(0))
                continue
            if delays is not None:
                self._on_up(time.monotonic() - started)
            return result
