"""The usage queries against a real (embedded) Postgres: hand-checked figures, rollup = entries, windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fixtures.usage import (
    DAY1,
    DAY2,
    EXPECTED_COMPLETION,
    EXPECTED_COST,
    EXPECTED_PROMPT,
    EXPECTED_TOTAL_COST,
    load_sample_usage,
    sample_pricing,
)

from magent.core.cost import PARTIAL, UNPRICED, plan_window, price_usage
from magent.core.pricing import load_pricing
from magent.services.store.usage import fetch_usage


@pytest.fixture
def sample_store(store):
    with store.connection() as conn:
        load_sample_usage(conn)
    return store


@pytest.fixture
def prices(tmp_path):
    return load_pricing(sample_pricing(tmp_path))


def report_for(store, by, since, until, prices, *, use_rollup=True):
    with store.connection() as conn:
        data = fetch_usage(conn, by, plan_window(since, until), use_rollup=use_rollup)
    return data, price_usage(data.rows, prices, by)


def test_by_model_matches_the_hand_computed_costs(sample_store, prices):
    data, report = report_for(sample_store, ("model",), DAY1, DAY2 + timedelta(days=1), prices)
    costs = {line.key[0]: line.cost for line in report.lines}
    assert costs == EXPECTED_COST
    large = next(line for line in report.lines if line.key == ("mistral-large-latest",))
    assert (large.prompt_tokens, large.completion_tokens) == (4_500_000, 600_000)
    assert (large.input_cost, large.output_cost) == (Decimal("2.25"), Decimal("0.9"))
    assert (large.outputs, large.estimated_outputs) == (3, 1)
    assert (report.total.prompt_tokens, report.total.completion_tokens) == (EXPECTED_PROMPT, EXPECTED_COMPLETION)
    assert report.total.cost == EXPECTED_TOTAL_COST and report.total.status == PARTIAL
    assert report.unpriced_models == ["my-finetune"]
    assert report.prices_used["mistral-large-latest"].priced_as == "mistral-large-2512"
    assert data.sources == ("usage_daily (whole UTC days) 2026-11-01 → 2026-11-03",)


def test_by_day_and_agent_with_names(sample_store, prices):
    data, report = report_for(sample_store, ("day", "agent"), DAY1, DAY2 + timedelta(days=1), prices)
    lines = {line.key: line for line in report.lines}
    assert set(lines) == {(DAY1.date(), "ag_support"), (DAY2.date(), "ag_code"), (DAY2.date(), "")}
    assert lines[(DAY1.date(), "ag_support")].cost == Decimal("3.15")
    assert lines[(DAY2.date(), "ag_code")].cost == Decimal("0.24")
    assert lines[(DAY2.date(), "")].status == UNPRICED and lines[(DAY2.date(), "")].cost is None
    assert data.agent_names == {"ag_support": "Support bot"}  # ag_code has no name
    assert [(line.key[0], line.cost, line.status) for line in report.daily] == [
        (DAY1.date(), Decimal("3.15"), "priced"), (DAY2.date(), Decimal("0.24"), PARTIAL)]


def test_by_conversation_reads_the_conversation_rollup(sample_store, prices):
    data, report = report_for(sample_store, ("conversation",), DAY1, DAY2 + timedelta(days=1), prices)
    assert {line.key[0]: line.cost for line in report.lines} == {
        "conv_a": Decimal("3.15"), "conv_b": Decimal("0.24"), "conv_c": None}
    assert data.conversation_names == {"conv_a": "Refund question"}
    assert data.sources == ("usage_conversation_daily (whole UTC days) 2026-11-01 → 2026-11-03",)
    # partial edges still come from the entries, subtracted from the conversation rollup's days
    since, until = DAY1 + timedelta(hours=10, minutes=1), DAY2 + timedelta(hours=23)
    data, report = report_for(sample_store, ("conversation", "model"), since, until, prices)
    assert [source.split(" (")[0] for source in data.sources] == ["usage_conversation_daily"] + [
        "conversation_entries"] * 2
    assert {line.key[1]: line.cost for line in report.lines} == WITHOUT_FIRST_OUTPUT


# conv_a without its first output: prompt 3,500,000 × 0.5 + completion 400,000 × 1.5 = 1.75 + 0.6
WITHOUT_FIRST_OUTPUT = {"mistral-large-latest": Decimal("2.35"), "codestral-2508": Decimal("0.24")}


def test_long_partial_days_subtract_from_the_rollup_exactly(sample_store, prices):
    # From 10:01 on day 1 the first output of conv_a (10:00:10) is out; to 23:00 on day 2 conv_c is out.
    # Both edges hold more than half a day: whole rollup days, minus the entries outside the window.
    since = DAY1 + timedelta(hours=10, minutes=1)
    until = DAY2 + timedelta(hours=23)
    data, report = report_for(sample_store, ("model",), since, until, prices)
    assert {line.key[0]: line.cost for line in report.lines} == WITHOUT_FIRST_OUTPUT
    assert [source.split(" (")[0] for source in data.sources] == ["usage_daily"] + ["conversation_entries"] * 2
    assert sum("subtracted" in source for source in data.sources) == 2


def test_short_partial_days_are_read_from_the_entries(sample_store, prices):
    since = DAY1 + timedelta(hours=18)  # after all of conv_a
    until = DAY2 + timedelta(hours=9)  # conv_b is in, conv_c (23:30) is out
    data, report = report_for(sample_store, ("model",), since, until, prices)
    assert {line.key[0]: line.cost for line in report.lines} == {"codestral-2508": Decimal("0.24")}
    assert all(source.startswith("conversation_entries (partial day)") for source in data.sources)
    data, report = report_for(sample_store, ("model",), DAY1 + timedelta(hours=10, minutes=1),
                              DAY1 + timedelta(hours=11), prices)
    assert {line.key[0]: line.cost for line in report.lines} == {"mistral-large-latest": Decimal("2.35")}


WINDOWS = [
    (DAY1, None),
    (DAY1 - timedelta(days=3), DAY2),
    (DAY1 + timedelta(hours=10, seconds=10), DAY2 + timedelta(hours=8, seconds=30)),  # edges on exact instants
    (DAY1 + timedelta(hours=10, seconds=11), DAY2 + timedelta(hours=8, seconds=31)),
    (DAY2 + timedelta(hours=23, minutes=30, seconds=30), None),
    (DAY1 + timedelta(hours=1), None),  # a long open first day: the rollup day minus 00:00–01:00
    (DAY1 + timedelta(hours=10, seconds=10), DAY1 + timedelta(hours=23)),  # inside one day, > 12 h
    (DAY1 + timedelta(hours=10, seconds=11), DAY2 + timedelta(hours=23, minutes=30)),  # conv_c's entry on the edge
]


def _summary(report):
    return [(line.key, line.prompt_tokens, line.completion_tokens, line.outputs, line.estimated_outputs, line.cost)
            for line in report.lines]


def test_rollup_plan_equals_a_scan_of_the_entries(sample_store, prices):
    # One database for every case (creating one per case would cost more than the queries).
    for since, until in WINDOWS:
        for by in (("model",), ("day", "model"), ("agent",), ("day", "agent", "model")):
            _, fast = report_for(sample_store, by, since, until, prices)
            _, scan = report_for(sample_store, by, since, until, prices, use_rollup=False)
            assert _summary(fast) == _summary(scan), (since, until, by)
            assert fast.lines, (since, until, by)  # every window holds outputs: the check is never vacuous


def test_empty_store_says_so(store, prices):
    now = datetime.now(UTC)
    data, report = report_for(store, ("model",), now - timedelta(days=30), None, prices)
    assert data.rows == [] and report.lines == [] and not data.store_has_entries
    assert report.total.cost == 0


def test_store_with_data_outside_the_window(sample_store, prices):
    data, report = report_for(sample_store, ("model",), DAY2 + timedelta(days=1), None, prices)
    assert report.lines == [] and data.store_has_entries
