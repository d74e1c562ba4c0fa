"""Extreme instants for --since/--until: a clean error naming the value, never an OverflowError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from magent.core.cost import parse_window, plan_window
from magent.core.errors import UsageError
from magent.core.timeutil import parse_instant

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("9999-12-31T23:59:59Z", "before the year 9999"),
    ("9999-12-31", "before the year 9999"),
    ("9999-12-31T23:59:59-01:00", "before the year 9999"),  # the year 10000 in UTC
    ("0001-01-01T00:00:00+05:00", "before the year 1 in UTC"),
])
def test_instants_past_the_ends_of_the_calendar_are_refused(text, expected):
    with pytest.raises(ValueError, match=expected):
        parse_instant(text, now=NOW)


def test_until_the_end_of_time_is_a_usage_error_not_a_traceback():
    with pytest.raises(UsageError, match="--until: invalid time '9999-12-31T23:59:59Z'"):
        parse_window(None, "9999-12-31T23:59:59Z", NOW)


@given(st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()))
def test_any_iso_instant_is_a_window_edge_or_a_value_error(text):
    try:
        moment = parse_instant(text, now=NOW)
    except ValueError:
        return
    assert moment < datetime(9999, 1, 1, tzinfo=UTC)
    since = min(moment, NOW - timedelta(days=1))
    plan_window(since, moment if moment > since else None)  # widens the window to whole UTC days


@pytest.mark.parametrize("value", ["99999999999999999999999999d", 10**5000, "1" * 400, 1e300, 4e9],
                         ids=["huge-days", "5000-digit-int", "400-digit-text", "1e300", "127-years"])
def test_durations_past_a_century_are_refused_not_overflowed(value):
    from magent.core.timeutil import parse_duration

    with pytest.raises(ValueError, match="too long"):
        parse_duration(value)
