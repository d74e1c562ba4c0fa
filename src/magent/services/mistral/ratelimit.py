"""Pacing of Mistral API requests: a fixed rate (`--rate`), or the rate the server advertises, with headroom.

The API counts requests over a sliding 60-second window. A client paced at exactly the advertised limit keeps
that window full, so any jitter between when it sends and when the server counts tips a request over the
limit; and every 429 it draws is retried, which adds to the load. The adaptive pacer therefore:

- sends one probe request and holds the others until a response tells it the limit (a burst before then
  could spend a whole window's budget);
- paces at `HEADROOM` (90 %) of `x-ratelimit-limit-req-minute`, and slower as
  `x-ratelimit-remaining-req-minute` falls under the 10 % the headroom should leave (someone else is using
  the key, or the window is fuller than our pace explains);
- after a 429, holds every request until its Retry-After has passed.

The workers of an export plan (separate machines, sharing nothing but the store) each pace at 1/N of that
(`set_share(N)`, N the live workers they count in the store), and start at the limit another worker learned
(`learn_limit`) instead of probing.

Every HTTP request goes through `acquire()`, the SDK's retries included (the client calls it from its
request hook), so retries are paced too, and counted: `stats()` gives requests sent, 429s and retries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

LIMIT_HEADER = "x-ratelimit-limit-req-minute"
REMAINING_HEADER = "x-ratelimit-remaining-req-minute"
HEADROOM = 0.9  # share of the advertised limit an adaptive pacer uses
MAX_SLOWDOWN = 10.0  # at most this many times the paced interval while the remaining budget is low
PROBE_WAIT_S = 30.0  # how long requests wait for the probe's answer before going on unpaced
_POLL_S = 0.005

# slots of the shared state (one array of doubles: shared memory when the limiter is shared)
_INTERVAL, _NEXT, _KNOWN, _PROBING, _SENT, _CALLS, _REFUSED, _LIMIT, _SHARE = range(9)


@dataclass(frozen=True)
class PacingStats:
    requests: int  # HTTP requests sent, retries included
    refused: int  # answered 429
    retries: int  # requests beyond one per API call: the SDK's retries after a 429, 5xx or reset


class RequestRateLimiter:
    """Paces request starts for all threads (and, once shared, all processes): burst 1.

    `per_minute` fixes the rate and ignores the headers. Without it and `adaptive=True`, the rate follows
    the headers (see the module doc); `adaptive=False` without a rate never waits (it still counts).

    Shared (`context=` or `share()`, with a multiprocessing context) the state lives in shared memory under
    a process-shared lock: handed to worker processes when they start, it bounds the total request rate of
    all of them, what one learns from the headers paces the others, and the counts cover them all.
    """

    def __init__(self, per_minute: float | None = None, *, adaptive: bool = True,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 context: Any = None) -> None:
        interval = 60.0 / per_minute if per_minute else 0.0
        self._adaptive = adaptive and not per_minute
        state = [0.0] * 9
        state[_INTERVAL] = interval
        state[_SHARE] = 1.0
        state[_KNOWN] = 0.0 if self._adaptive else 1.0
        # time.monotonic is one clock for every process
        self._state: Any = state
        self._lock: Any = threading.Lock()
        self._shared = False
        self._clock, self._sleep = clock, sleep
        if context is not None:
            self.share(context)

    def share(self, context: Any) -> None:
        """Move the state into shared memory (see the class doc); call before any other thread uses it."""
        with self._lock:
            if self._shared:
                return
            self._state = context.RawArray("d", list(self._state))
            self._lock, self._shared = context.Lock(), True

    @property
    def per_minute(self) -> float | None:
        """The rate requests are paced at (for an adaptive pacer: with the headroom taken off)."""
        interval = self._state[_INTERVAL]
        return 60.0 / interval if interval else None

    @property
    def advertised_per_minute(self) -> float | None:
        return self._state[_LIMIT] or None

    def acquire(self) -> None:
        """Block until the next request may start; counts it as sent."""
        self._wait_for_probe()
        with self._lock:
            now = self._clock()
            start = max(now, self._state[_NEXT])
            self._state[_NEXT] = start + self._state[_INTERVAL]
            self._state[_SENT] += 1
        if start > now:
            self._sleep(start - now)

    def _wait_for_probe(self) -> None:
        """Before the limit is known, one request goes (the probe); the others wait for its answer."""
        if self._state[_KNOWN]:
            return
        deadline = self._clock() + PROBE_WAIT_S
        while self._clock() < deadline:
            with self._lock:
                if self._state[_KNOWN]:
                    return
                if not self._state[_PROBING]:
                    self._state[_PROBING] = 1.0
                    return
            self._sleep(_POLL_S)

    def end_probe(self) -> None:
        """A call ended without any response (refused, DNS): stop holding the others back for it."""
        if not self._state[_KNOWN]:
            with self._lock:
                self._state[_KNOWN] = 1.0

    def count_call(self) -> None:
        """One API call made (its retries, if any, are the requests beyond one per call)."""
        with self._lock:
            self._state[_CALLS] += 1

    def observe(self, headers: Mapping[str, str], status: int | None = None,
                retry_after_s: float | None = None) -> None:
        """Learn from one response: count a 429, hold everyone for its Retry-After, adapt to the headers."""
        limit = _header_number(headers, LIMIT_HEADER) if self._adaptive else None
        remaining = _header_number(headers, REMAINING_HEADER) if self._adaptive else None
        with self._lock:
            now = self._clock()
            self._state[_KNOWN] = 1.0  # any answer ends the probe: without headers there is nothing to wait for
            if status == 429:
                self._state[_REFUSED] += 1
                if retry_after_s:
                    self._state[_NEXT] = max(self._state[_NEXT], now + retry_after_s)
            if limit and limit > 0:
                self._set_limit(limit)
            if remaining is not None and self._state[_LIMIT]:
                self._slow_down(now, remaining)

    def set_share(self, clients: int) -> None:
        """Pace at 1/`clients` of the headroom: `clients` processes that cannot share memory (the workers of an
        export Job, each counting the others through the store) share one key's advertised limit."""
        with self._lock:
            self._state[_SHARE] = float(max(1, clients))
            if self._state[_LIMIT]:
                self._set_limit(self._state[_LIMIT])

    def learn_limit(self, per_minute: float) -> None:
        """The advertised limit, as another client learned it: pace at once, without a probe."""
        if self._adaptive and per_minute > 0:
            with self._lock:
                self._set_limit(per_minute)
                self._state[_KNOWN] = 1.0

    def _set_limit(self, limit: float) -> None:
        self._state[_LIMIT] = limit
        self._state[_INTERVAL] = 60.0 * self._state[_SHARE] / (limit * HEADROOM)

    def _slow_down(self, now: float, remaining: float) -> None:
        """Under the headroom's margin of remaining requests, push the next start out in proportion."""
        interval, margin = self._state[_INTERVAL], self._state[_LIMIT] * (1 - HEADROOM)
        if remaining >= margin:
            return
        factor = min(MAX_SLOWDOWN, margin / max(remaining, margin / MAX_SLOWDOWN))
        self._state[_NEXT] = max(self._state[_NEXT], now + interval * factor)

    def stats(self) -> PacingStats:
        with self._lock:
            sent, calls, refused = int(self._state[_SENT]), int(self._state[_CALLS]), int(self._state[_REFUSED])
        return PacingStats(requests=sent, refused=refused, retries=max(0, sent - calls))


def _header_number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, TypeError, ValueError):
        return None
