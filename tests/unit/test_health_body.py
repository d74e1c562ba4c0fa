"""The /health body judge of http.health and the alert table's comparison: pure functions, fuzzed."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from magent.checks.http_health import judge_body, mistral_status
from magent.core.alert_table import ALERT_TABLE, RULES, alarm_differences

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=3), max_leaves=12)


def response(body):
    return SimpleNamespace(json=lambda: body)


@given(json_values)
def test_any_json_body_is_judged_without_crashing(body):
    problem, summary = judge_body(response(body), True, 1.0)
    assert (problem is None) != (summary == "")


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=4))
def test_mistral_status_never_crashes(body):
    mistral_status(body)


def test_shapes():
    assert judge_body(response({"status": "ok", "services": {"mistral": "ok"}}), True, 1)[0] is None
    assert judge_body(response({"status": "OK", "mistral": {"status": "ok"}}), True, 1)[0] is None
    assert judge_body(response({"status": "ok", "services": {"mistral": True}}), True, 1)[0] is None
    assert "down" in judge_body(response({"status": "ok", "services": {"mistral": "down"}}), True, 1)[0]
    assert "status is 'degraded'" in judge_body(response({"status": "degraded"}), False, 1)[0]


def test_alert_table_has_the_seed_rows():
    assert [rule.alarm_name() for rule in ALERT_TABLE] == [
        "magent-api-down", "magent-high-latency", "magent-rate-limited", "magent-auth-failures",
        "magent-circuit-breaker-open", "magent-cost-spike"]
    assert [rule.severity for rule in ALERT_TABLE] == ["P1", "P2", "P2", "P1", "P2", "P3"]
    assert RULES["cost-spike"].period_s == 3600 and RULES["high-latency"].evaluation_periods == 5


@given(st.sampled_from(ALERT_TABLE), st.floats(allow_nan=False, allow_infinity=False, width=32))
def test_differences_name_the_threshold(rule, threshold):
    differences = alarm_differences(rule, {"MetricName": rule.metric, "Threshold": threshold})
    assert bool(differences) == (float(threshold) != rule.threshold)
