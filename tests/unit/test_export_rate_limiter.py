"""The request pacer: a fixed rate, or the rate the server advertises in x-ratelimit-* headers."""

from __future__ import annotations

import itertools
import multiprocessing
import time

import pytest

from magent.services.mistral.conversations import PacingStats, RequestRateLimiter


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


def test_adaptive_rate_follows_the_advertised_limit_with_headroom():
    clock = FakeClock()
    limiter = RequestRateLimiter(None, adaptive=True, clock=clock, sleep=clock.sleep)
    limiter.acquire()  # the probe goes at once
    limiter.observe({"x-ratelimit-limit-req-minute": "600", "x-ratelimit-remaining-req-minute": "598"})
    assert limiter.per_minute == pytest.approx(540) and limiter.advertised_per_minute == 600  # 90 % of it
    limiter.acquire()
    limiter.acquire()
    assert clock.slept == [pytest.approx(60 / 540, abs=1e-6)]


def test_adaptive_requests_wait_for_the_probe_answer():
    clock = FakeClock()
    limiter = RequestRateLimiter(None, adaptive=True, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.acquire()  # nothing answered the probe: waits (here the fake clock's 30 s) before going unpaced
    assert sum(clock.slept) == pytest.approx(30, abs=0.01)


def test_adaptive_rate_slows_as_the_remaining_budget_falls_and_holds_after_a_429():
    clock = FakeClock()
    limiter = RequestRateLimiter(None, adaptive=True, clock=clock, sleep=clock.sleep)
    limiter.observe({"x-ratelimit-limit-req-minute": "60", "x-ratelimit-remaining-req-minute": "3"})
    limiter.acquire()
    assert clock.slept == [pytest.approx(60 / 54 * 2, abs=1e-6)]  # 3 left of a 6-request margin: half speed
    clock.slept.clear()
    limiter.observe({"x-ratelimit-limit-req-minute": "60", "x-ratelimit-remaining-req-minute": "0"}, 429, 7.0)
    limiter.acquire()
    assert clock.slept == [pytest.approx(60 / 54 * 10, abs=1e-6)]  # the slowest pace outlasts the 7 s Retry-After
    assert limiter.stats() == PacingStats(requests=2, refused=1, retries=2)


def test_garbage_headers_are_ignored():
    limiter = RequestRateLimiter(None, adaptive=True)
    limiter.observe({"x-ratelimit-limit-req-minute": "lots"})
    assert limiter.per_minute is None


def _take_turns(limiter: RequestRateLimiter, count: int, starts) -> None:
    for _ in range(count):
        limiter.acquire()
        starts.put(time.monotonic())


def test_a_shared_limiter_paces_several_processes_together():
    context = multiprocessing.get_context("spawn")
    limiter = RequestRateLimiter(1200)  # one start every 50 ms, over all processes
    limiter.share(context)
    starts = context.Queue()
    workers = [context.Process(target=_take_turns, args=(limiter, 5, starts)) for _ in range(2)]
    for worker in workers:
        worker.start()
    _take_turns(limiter, 5, starts)
    for worker in workers:
        worker.join(timeout=30)
    times = sorted(starts.get(timeout=5) for _ in range(15))
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # 15 starts over all processes take at least 14 intervals; a start is stamped after acquire() returns, so on a
    # loaded machine one stamp may come late and shorten the next gap: the span is the exact measure, not each gap
    assert times[-1] - times[0] >= 14 * 0.05 * 0.97, gaps
    assert min(gaps) >= 0.02, gaps  # and no burst: never two starts at once
    limiter.observe({"x-ratelimit-limit-req-minute": "60"})  # a fixed rate stays fixed when shared too
    assert limiter.per_minute == 1200
