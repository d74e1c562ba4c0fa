"""The simulator's sliding-window rate limiter, on a fake clock."""

from __future__ import annotations

from magent.sandbox.mistral.limits import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_requests_per_minute_slide_with_the_window():
    clock = FakeClock()
    limiter = RateLimiter(clock)
    assert limiter.admit("k", rpm=2, tpm=100, tokens=0).allowed
    clock.now += 20
    assert limiter.admit("k", rpm=2, tpm=100, tokens=0).allowed
    refused = limiter.admit("k", rpm=2, tpm=100, tokens=0)
    assert not refused.allowed and refused.retry_after_s == 40  # the first request leaves the window at +60 s
    assert refused.headers["x-ratelimit-remaining-req-minute"] == "0"
    clock.now += 40
    assert limiter.admit("k", rpm=2, tpm=100, tokens=0).allowed


def test_tokens_per_minute_and_headers():
    clock = FakeClock()
    limiter = RateLimiter(clock)
    admitted = limiter.admit("k", rpm=10, tpm=100, tokens=70)
    assert admitted.headers == {
        "x-ratelimit-limit-req-minute": "10", "x-ratelimit-remaining-req-minute": "9",
        "x-ratelimit-limit-tokens-minute": "100", "x-ratelimit-remaining-tokens-minute": "30",
        "x-ratelimit-tokens-query-cost": "70",
    }
    refused = limiter.admit("k", rpm=10, tpm=100, tokens=40)
    assert not refused.allowed and refused.retry_after_s == 60
    assert limiter.admit("k", rpm=10, tpm=100, tokens=30).allowed
    assert limiter.admit("other", rpm=10, tpm=100, tokens=100).allowed  # per key


def test_a_request_bigger_than_the_whole_budget_waits_a_full_window():
    limiter = RateLimiter(FakeClock())
    refused = limiter.admit("k", rpm=10, tpm=100, tokens=500)
    assert not refused.allowed and refused.retry_after_s == 60
