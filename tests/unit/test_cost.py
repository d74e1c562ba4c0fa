"""The cost model: grouping, exact prices, unpriced models never counted as zero, and window planning."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from magent.core.cost import (
    PARTIAL,
    PRICED,
    UNPRICED,
    EntrySpan,
    UsageRow,
    default_since,
    fill_days,
    parse_dimensions,
    parse_window,
    plan_window,
    price_usage,
)
from magent.core.errors import UsageError
from magent.core.pricing import ModelPrice, PricingTable

D1, D2 = date(2026, 11, 1), date(2026, 11, 2)
TABLE = PricingTable(
    {
        "large": ModelPrice(input=Decimal(2), output=Decimal(6), source="t", as_of=D1, aliases=("large-latest",)),
        "small": ModelPrice(input=Decimal("0.1"), output=Decimal("0.3"), source="t", as_of=D1),
    },
    ("test",),
)


def row(model, day, agent="ag1", prompt=0, completion=0, outputs=1, estimated=0):
    return UsageRow({"model": model, "day": day, "agent": agent}, prompt, completion, outputs, estimated)


def test_cost_is_exact_per_million_tokens():
    report = price_usage([row("large", D1, prompt=1_000_000, completion=500_000)], TABLE, ["model"])
    (line,) = report.lines
    assert line.input_cost == Decimal(2) and line.output_cost == Decimal(3)
    assert line.cost == Decimal(5) and line.status == PRICED
    # 0.1 + 0.2 style drift would show here with floats.
    report = price_usage([row("small", D1, prompt=3, completion=7)] * 3, TABLE, ["model"])
    assert report.total.cost == Decimal("0.0000072")  # 9 × 0.1e-6 + 21 × 0.3e-6


def test_unpriced_model_keeps_tokens_and_has_no_cost():
    rows = [row("large", D1, prompt=100, completion=10), row("mystery", D1, prompt=50, completion=5, estimated=1)]
    report = price_usage(rows, TABLE, ["model"])
    by_model = {line.key: line for line in report.lines}
    mystery = by_model[("mystery",)]
    assert mystery.cost is None and mystery.status == UNPRICED
    assert (mystery.prompt_tokens, mystery.completion_tokens) == (50, 5)
    assert report.unpriced_models == ["mystery"]
    assert set(report.prices_used) == {"large"}
    # The totals hold every token, and the cost of the priced part only, marked partial.
    assert report.total.total_tokens == 165
    assert report.total.status == PARTIAL
    assert report.total.cost == Decimal(100 * 2 + 10 * 6) / 1_000_000
    assert (report.total.unpriced_prompt_tokens, report.total.unpriced_completion_tokens) == (50, 5)
    assert (report.total.outputs, report.total.estimated_outputs, report.total.counted_outputs) == (2, 1, 1)


def test_unpriced_with_zero_tokens_is_still_not_zero_cost():
    report = price_usage([row("mystery", D1)], TABLE, ["model"])
    assert report.lines[0].cost is None


def test_alias_rows_are_priced_through_the_table():
    report = price_usage([row("large-latest", D1, prompt=1_000_000)], TABLE, ["model"])
    assert report.total.cost == Decimal(2)
    assert report.prices_used["large-latest"].priced_as == "large"


def test_grouping_by_several_dimensions_in_order_and_daily_series():
    rows = [
        row("small", D2, agent="b", prompt=10),
        row("large", D1, agent="a", prompt=20),
        row("small", D1, agent="a", prompt=30),
        row("large", D2, agent="a", prompt=40),
    ]
    report = price_usage(rows, TABLE, ["day", "agent"])
    assert [line.key for line in report.lines] == [(D1, "a"), (D2, "a"), (D2, "b")]
    assert [line.prompt_tokens for line in report.lines] == [50, 40, 10]
    assert [line.key for line in report.daily] == [(D1,), (D2,)]
    assert [line.prompt_tokens for line in report.daily] == [50, 50]


def test_fill_days_gives_every_day_a_line():
    report = price_usage([row("large", D2, prompt=1)], TABLE, ["model"])
    filled = fill_days(report.daily, D1, date(2026, 11, 3))
    assert [line.key[0] for line in filled] == [D1, D2, date(2026, 11, 3)]
    assert [line.cost for line in filled] == [0, Decimal(2) / 1_000_000, 0]


@given(st.lists(st.tuples(st.sampled_from(["large", "small", "x"]), st.integers(0, 10**9), st.integers(0, 10**9))))
def test_totals_equal_the_sum_of_groups(items):
    rows = [row(model, D1, prompt=p, completion=c) for model, p, c in items]
    report = price_usage(rows, TABLE, ["model"])
    assert report.total.prompt_tokens == sum(line.prompt_tokens for line in report.lines)
    assert report.total.input_cost + report.total.output_cost == sum(
        (line.input_cost + line.output_cost for line in report.lines), Decimal(0)
    )


# --- window planning ---------------------------------------------------------------------------------


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_day_aligned_window_reads_only_the_rollup():
    plan = plan_window(at("2026-11-01T00:00"), at("2026-11-08T00:00"))
    assert plan.rollup_days == (date(2026, 11, 1), date(2026, 11, 8))
    assert plan.entry_spans == ()


def test_short_partial_edges_are_read_from_entries():
    plan = plan_window(at("2026-11-01T18:00"), at("2026-11-08T06:00"))
    assert plan.rollup_days == (date(2026, 11, 2), date(2026, 11, 8))
    assert plan.entry_spans == (EntrySpan(at("2026-11-01T18:00"), at("2026-11-02T00:00")),
                                EntrySpan(at("2026-11-08T00:00"), at("2026-11-08T06:00")))


def test_long_partial_edges_subtract_the_outside_part_from_the_rollup_day():
    plan = plan_window(at("2026-11-01T06:00"), at("2026-11-08T20:00"))
    assert plan.rollup_days == (date(2026, 11, 1), date(2026, 11, 9))
    assert plan.entry_spans == (EntrySpan(at("2026-11-01T00:00"), at("2026-11-01T06:00"), -1),
                                EntrySpan(at("2026-11-08T20:00"), at("2026-11-09T00:00"), -1))


def test_window_inside_one_day():
    plan = plan_window(at("2026-11-01T06:00"), at("2026-11-01T07:00"))
    assert plan.rollup_days is None and plan.entry_spans == (EntrySpan(at("2026-11-01T06:00"), at("2026-11-01T07:00")),)
    plan = plan_window(at("2026-11-01T01:00"), at("2026-11-01T23:00"))
    assert plan.rollup_days == (date(2026, 11, 1), date(2026, 11, 2))
    assert plan.entry_spans == (EntrySpan(at("2026-11-01T00:00"), at("2026-11-01T01:00"), -1),
                                EntrySpan(at("2026-11-01T23:00"), at("2026-11-02T00:00"), -1))


def test_open_ended_window():
    plan = plan_window(at("2026-11-01T18:00"), None)
    assert plan.rollup_days == (date(2026, 11, 2), None)
    assert plan.entry_spans == (EntrySpan(at("2026-11-01T18:00"), at("2026-11-02T00:00")),)
    plan = plan_window(at("2026-11-01T02:00"), None)
    assert plan.rollup_days == (date(2026, 11, 1), None)
    assert plan.entry_spans == (EntrySpan(at("2026-11-01T00:00"), at("2026-11-01T02:00"), -1),)


def test_default_window_is_thirty_whole_days_with_today():
    now = at("2026-11-23T19:03")
    since = default_since(now)
    assert since == at("2026-10-25T00:00")
    assert plan_window(since, None).entry_spans == ()


def _coverage(plan, moment: datetime) -> int:
    """How many times the plan counts an entry created at `moment` (signed)."""
    count = sum(span.sign for span in plan.entry_spans if span.start <= moment < span.end)
    if plan.rollup_days:
        first, end = plan.rollup_days
        count += first <= moment.date() and (end is None or moment.date() < end)
    return count


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)),
       st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=40)),
       st.booleans(), st.lists(st.floats(min_value=-1.5, max_value=1.5), min_size=1, max_size=20))
def test_plan_counts_every_instant_of_the_window_exactly_once(start, length, open_ended, probes):
    since = start.replace(tzinfo=UTC)
    until = None if open_ended else since + length
    plan = plan_window(since, until)
    assert all(span.end - span.start <= timedelta(hours=12) for span in plan.entry_spans)
    for fraction in probes:  # instants before, inside and after the window
        moment = since + length * fraction
        inside = since <= moment and (until is None or moment < until)
        assert _coverage(plan, moment) == int(inside), moment
    for edge in (since, since - timedelta(microseconds=1), since + length, since + length - timedelta(microseconds=1)):
        assert _coverage(plan, edge) == int(since <= edge and (until is None or edge < until))


# --- parsing the request -----------------------------------------------------------------------------


def test_by_values_are_split_deduplicated_and_checked():
    assert parse_dimensions(None) == ("model",)
    assert parse_dimensions(["day", "model,Agent", "day"]) == ("day", "model", "agent")
    with pytest.raises(UsageError, match="unknown --by value 'week'"):
        parse_dimensions(["day,week"])


def test_until_before_the_default_since_says_so():
    now = at("2026-11-23T19:00")
    assert parse_window("7d", None, now) == (at("2026-11-16T19:00"), None)
    with pytest.raises(UsageError, match=r"is not after the default --since \(30 UTC days\) 2026-10-25T00:00:00Z"):
        parse_window(None, "2026-10-01", now)
