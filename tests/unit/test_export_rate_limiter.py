"""The request pacer: a fixed rate, or the rate the server advertises in x-ratelimit-* headers."""

from __future__ import annotations

from magent.services.mistral.conversations import RequestRateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_fixed_rate_spaces_request_starts():
    clock = FakeClock()
    limiter = RequestRateLimiter(120, clock=clock, sleep=clock.sleep)  # one every 0.5 s
    for _ in range(4):
        limiter.acquire()
    assert clock.slept == [0.5, 0.5, 0.5]
    limiter.observe({"x-ratelimit-limit-req-minute": "6"})  # a fixed --rate ignores the headers
    assert limiter.per_minute == 120


def test_adaptive_rate_follows_the_advertised_limit():
    clock = FakeClock()
    limiter = RequestRateLimiter(None, adaptive=True, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.acquire()
    assert clock.slept == []  # nothing known yet: no pacing
    limiter.observe({"x-ratelimit-limit-req-minute": "600", "x-ratelimit-remaining-req-minute": "598"})
    assert limiter.per_minute == 600
    limiter.acquire()
    limiter.acquire()
    assert clock.slept == [0.1]


def test_adaptive_rate_pauses_when_the_budget_is_spent():
    clock = FakeClock()
    limiter = RequestRateLimiter(None, adaptive=True, clock=clock, sleep=clock.sleep)
    limiter.observe({"x-ratelimit-limit-req-minute": "60", "x-ratelimit-remaining-req-minute": "0"})
    limiter.acquire()
    assert clock.slept == [1.0]


def test_garbage_headers_are_ignored():
    limiter = RequestRateLimiter(None, adaptive=True)
    limiter.observe({"x-ratelimit-limit-req-minute": "lots"})
    assert limiter.per_minute is None
