"""Pure parts of the export workers: `--shard I/N`, the worker's shard, and the rate shared among workers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from magent.core.errors import UsageError
from magent.core.export_shard import MAX_SHARDS, parse_shard
from magent.services.mistral.ratelimit import RequestRateLimiter
from magent.services.store.work_queue import PlanInfo
from magent.workflows.export.worker import resolve_shard


@pytest.mark.parametrize(("text", "expected"), [("0/1", (0, 1)), ("3/8", (3, 8)), (" 9999/10000 ", (9999, 10000))])
def test_shard_parses(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["", "3", "3/", "/8", "8/8", "9/8", "0/0", "-1/8", "1/10001", "a/b", "1.0/2",
                                  "3/8/1", "１/２"])
def test_shard_refuses_what_is_not_a_shard(text):
    with pytest.raises(ValueError, match="--shard"):
        parse_shard(text)


@given(st.text(max_size=20))
def test_shard_parser_returns_a_valid_shard_or_one_line_value_error(text):
    try:
        index, shards = parse_shard(text)
    except ValueError as exc:
        assert "\n" not in str(exc)
        return
    assert 0 <= index < shards <= MAX_SHARDS
    assert parse_shard(f"{index}/{shards}") == (index, shards)


@given(st.integers(0, MAX_SHARDS - 1), st.integers(1, MAX_SHARDS))
def test_every_index_below_the_count_is_a_shard(index, shards):
    if index < shards:
        assert parse_shard(f"{index}/{shards}") == (index, shards)
    else:
        with pytest.raises(ValueError):
            parse_shard(f"{index}/{shards}")


PLAN = PlanInfo(id=7, shards=4, status="open", created_at=datetime(2026, 11, 28, tzinfo=UTC), since=None,
                full_export=False, redact_content=False, total=100)


def test_the_shard_comes_from_the_flag_or_the_job_index():
    assert resolve_shard(PLAN, (2, 4), {"JOB_COMPLETION_INDEX": "1"}) == 2
    assert resolve_shard(PLAN, None, {"JOB_COMPLETION_INDEX": "3"}) == 3
    for shard, environ in [((1, 8), {}), (None, {}), (None, {"JOB_COMPLETION_INDEX": "4"}),
                           (None, {"JOB_COMPLETION_INDEX": "x"}), (None, {"JOB_COMPLETION_INDEX": "²"})]:
        with pytest.raises(UsageError) as refused:
            resolve_shard(PLAN, shard, environ)
        assert refused.value.exit_code == 2 and refused.value.hint


class FakeClock:
    def __init__(self) -> None:
        self.now, self.slept = 100.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_workers_share_the_advertised_limit_and_pace_at_once_with_a_limit_another_learned():
    clock = FakeClock()
    limiter = RequestRateLimiter(None, adaptive=True, clock=clock, sleep=clock.sleep)
    limiter.learn_limit(600)  # recorded in the plan by another worker: no probe
    assert limiter.per_minute == pytest.approx(540) and limiter.advertised_per_minute == 600
    limiter.set_share(3)
    assert limiter.per_minute == pytest.approx(180)  # a third of the headroom
    limiter.acquire()
    limiter.acquire()
    assert clock.slept == [pytest.approx(60 / 180)]
    limiter.observe({"x-ratelimit-limit-req-minute": "1200", "x-ratelimit-remaining-req-minute": "1100"})
    assert limiter.per_minute == pytest.approx(360)  # the share holds when the limit changes
    limiter.set_share(0)  # no live worker counted yet (this one's first heartbeat): the whole budget
    assert limiter.per_minute == pytest.approx(1080)


def test_a_fixed_rate_is_not_overridden_by_what_workers_learn():
    limiter = RequestRateLimiter(120)
    limiter.learn_limit(600)
    assert limiter.per_minute == 120
