"""Per-key rate limits over a sliding 60-second window: requests per minute and tokens per minute."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

WINDOW_S = 60.0


@dataclass
class _Usage:
    events: deque[tuple[float, int]] = field(default_factory=deque)  # (monotonic time, tokens)
    tokens: int = 0

    def prune(self, now: float) -> None:
        while self.events and self.events[0][0] <= now - WINDOW_S:
            self.tokens -= self.events.popleft()[1]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    headers: dict[str, str]
    retry_after_s: int = 0


class RateLimiter:
    """Admits or refuses one request of a key; a refused request is not counted."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._usage: dict[str, _Usage] = {}
        self._lock = threading.Lock()

    def admit(self, key: str, *, rpm: int, tpm: int, tokens: int) -> Decision:
        with self._lock:
            now = self._clock()
            usage = self._usage.setdefault(key, _Usage())
            usage.prune(now)
            allowed = len(usage.events) + 1 <= rpm and usage.tokens + tokens <= tpm
            if allowed:
                usage.events.append((now, tokens))
                usage.tokens += tokens
            retry = 0 if allowed else self._retry_after(usage, now, rpm, tpm, tokens)
            return Decision(allowed, _headers(usage, rpm, tpm, tokens), retry)

    def peek(self, key: str, *, rpm: int, tpm: int) -> dict[str, str]:
        """The key's headers as they stand, without counting a request."""
        with self._lock:
            usage = self._usage.setdefault(key, _Usage())
            usage.prune(self._clock())
            return _headers(usage, rpm, tpm, 0)

    @staticmethod
    def _retry_after(usage: _Usage, now: float, rpm: int, tpm: int, tokens: int) -> int:
        """Seconds until enough of the window has expired for this request to fit."""
        if tokens > tpm or rpm < 1:
            return int(WINDOW_S)
        count, used = len(usage.events), usage.tokens
        for at, spent in usage.events:
            count, used = count - 1, used - spent
            if count + 1 <= rpm and used + tokens <= tpm:
                return max(1, math.ceil(at + WINDOW_S - now))
        return int(WINDOW_S)


def _headers(usage: _Usage, rpm: int, tpm: int, tokens: int) -> dict[str, str]:
    return {
        "x-ratelimit-limit-req-minute": str(rpm),
        "x-ratelimit-remaining-req-minute": str(max(0, rpm - len(usage.events))),
        "x-ratelimit-limit-tokens-minute": str(tpm),
        "x-ratelimit-remaining-tokens-minute": str(max(0, tpm - usage.tokens)),
        "x-ratelimit-tokens-query-cost": str(tokens),
    }
