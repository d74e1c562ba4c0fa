"""The alert table: one source of defaults, the `alerts:` configuration, rendering, PutMetricAlarm validation,
and the plan of `magent alerts apply` (pure parts; the CloudWatch side is in tests/integration)."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from magent.core import alert_table
from magent.core.alert_config import AlertsSettings, parse_alerts
from magent.core.alert_promtests import prometheus_tests, selector_labels
from magent.core.alert_render import (
    alarm_changes,
    alarm_request,
    markdown_table,
    prometheus_rules,
    validate_alarm,
)
from magent.core.analysis_config import ThresholdSettings
from magent.core.config import Settings, load_settings
from magent.core.errors import ConfigError, UsageError
from magent.core.judge import DEFAULT_THRESHOLDS
from magent.workflows.alerts import CREATE, DELETE, UNCHANGED, UNMANAGED, UPDATE, desired_alarms, plan_alarms

SEED = {  # the table: name → (threshold, severity)
    "api-down": (10, "P1"), "high-latency": (5, "P2"), "rate-limited": (5, "P2"),
    "auth-failures": (0, "P1"), "circuit-breaker-open": (0, "P2"), "cost-spike": (10, "P3"),
}


def test_defaults_are_the_seed_table():
    table = AlertsSettings().table()
    assert {rule.name: (rule.threshold, rule.severity) for rule in table} == SEED
    assert [rule.alarm_name() for rule in table][0] == "magent-api-down"
    assert alert_table.RULES["high-latency"].statistic == "p95"
    assert alert_table.RULES["high-latency"].evaluation_periods * alert_table.RULES["high-latency"].period_s == 300
    assert alert_table.RULES["cost-spike"].period_s == 3600


def test_analysis_defaults_come_from_the_alert_table():
    analysis = ThresholdSettings()
    pairs = {
        "errors_5xx_per_min": alert_table.ERRORS_5XX_PER_MIN,
        "latency_p95_seconds": alert_table.LATENCY_P95_SECONDS,
        "rate_limited_429_per_min": alert_table.RATE_LIMITED_429_PER_MIN,
        "unauthorized_401": alert_table.UNAUTHORIZED_401,
    }
    for name, value in pairs.items():
        assert DEFAULT_THRESHOLDS[name].max == value == getattr(analysis, name)
    table = {rule.name: rule.threshold for rule in AlertsSettings().table()}
    assert (table["api-down"], table["high-latency"], table["rate-limited"], table["auth-failures"]) == (
        pairs["errors_5xx_per_min"], pairs["latency_p95_seconds"], pairs["rate_limited_429_per_min"],
        pairs["unauthorized_401"])


def test_every_runbook_named_exists():
    shipped = {p.name for p in resources.files("magent.data").joinpath("runbooks").iterdir()}
    assert {f"{name}.md" for name in alert_table.RUNBOOKS} <= shipped
    assert {rule.runbook for rule in alert_table.ALERT_TABLE} <= set(alert_table.RUNBOOKS)


@pytest.mark.parametrize(("base", "url"), [
    ("runbooks/", "runbooks/incident.md"),
    ("https://wiki.example.com/runbooks", "https://wiki.example.com/runbooks/incident.md"),
    ("", "incident.md"),
])
def test_runbook_url(base, url):
    assert alert_table.runbook_url(base, "incident") == url


def test_overrides_apply_to_both_backends():
    settings = parse_alerts({
        "runbook_base_url": "https://wiki/rb/",
        "cloudwatch": {"prefix": "shop-", "namespace": "Shop", "dimensions": {"Env": "prod"},
                       "actions": {"P1": ["arn:aws:sns:eu-west-1:1:page"]}},
        "prometheus": {"selector": 'namespace="shop"', "requests_metric": "requests_total"},
        "rules": {"api-down": {"threshold": 20, "severity": "P2", "for": "3m"},
                  "cost-spike": {"enabled": False}, "high-latency": {"statistic": "p99"}},
    })
    rules = {rule.name: rule for rule in settings.table()}
    assert "cost-spike" not in rules
    api = alarm_request(settings, rules["api-down"])
    assert (api["AlarmName"], api["Namespace"], api["Threshold"], api["AlarmActions"]) == ("shop-api-down", "Shop",
                                                                                             20.0, [])
    assert api["Dimensions"] == [{"Name": "Env", "Value": "prod"}]
    assert "https://wiki/rb/incident.md" in api["AlarmDescription"]
    group = prometheus_rules(settings, settings.table())["groups"][0]
    first = group["rules"][0]
    assert first["expr"] == 'sum(rate(requests_total{code=~"5..",namespace="shop"}[2m])) * 60 > 20'
    assert first["for"] == "3m"
    assert first["labels"] == {"severity": "warning", "priority": "P2", "alert_table": "api-down"}
    assert first["annotations"]["runbook_url"] == "https://wiki/rb/incident.md"
    latency = next(r for r in group["rules"] if r["alert"] == "MagentHighLatency")
    assert latency["expr"].startswith("histogram_quantile(0.99,")
    assert alarm_request(settings, rules["high-latency"])["ExtendedStatistic"] == "p99"
    assert "shop-api-down" in markdown_table(settings, settings.table())


def test_p1_alarm_gets_p1_actions():
    settings = parse_alerts({"cloudwatch": {"actions": {"P1": ["arn:aws:sns:eu-west-1:1:page"]}}})
    requests = {r["AlarmName"]: r for r in desired_alarms(settings)}
    assert requests["magent-api-down"]["AlarmActions"] == ["arn:aws:sns:eu-west-1:1:page"]
    assert requests["magent-high-latency"]["AlarmActions"] == []


@pytest.mark.parametrize(("data", "key"), [
    ({"rules": {"api-dwn": {}}}, "alerts.rules"),
    ({"rules": {"api-down": {"threshold": -1}}}, "alerts.rules.api-down.threshold"),
    ({"rules": {"api-down": {"threshold": "lots"}}}, "alerts.rules.api-down.threshold"),
    ({"rules": {"api-down": {"severity": "P0"}}}, "alerts.rules.api-down.severity"),
    ({"rules": {"api-down": {"period": "45s"}}}, "alerts.rules.api-down.period"),
    ({"rules": {"api-down": {"for": "soon"}}}, "alerts.rules.api-down.for"),
    ({"rules": {"api-down": {"statistic": "median"}}}, "alerts.rules.api-down.statistic"),
    ({"rules": {"api-down": {"runbook": "pager"}}}, "alerts.rules.api-down.runbook"),
    ({"prometheus": {"selector": "namespace=shop"}}, "alerts.prometheus.selector"),
    ({"prometheus": {"requests_metric": "http-requests"}}, "alerts.prometheus.requests_metric"),
    ({"prometheus": {"error_codes": "5(("}}, "alerts.prometheus.error_codes"),
    ({"cloudwatch": {"actions": {"P1": ["not-an-arn"]}}}, "alerts.cloudwatch.actions.P1.0"),
    ({"cloudwatch": {"treat_missing_data": "zero"}}, "alerts.cloudwatch.treat_missing_data"),
    ({"cloudwatch": {"prefix": ""}}, "alerts.cloudwatch.prefix"),
    ({"colour": "red"}, "alerts.colour"),
    ([1, 2], "alerts"),
])
def test_bad_alerts_config_names_the_key(data, key):
    with pytest.raises(ConfigError) as caught:
        parse_alerts(data)
    assert str(caught.value).startswith(f"{key}:")


def test_bad_alerts_config_in_the_file_names_file_and_line(tmp_path):
    path = tmp_path / "magent.yaml"
    path.write_text("alerts:\n  rules:\n    api-down:\n      threshold: -3\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), env={})
    assert f"{path}:4: alerts.rules.api-down.threshold" in str(caught.value)


# --- PutMetricAlarm validation (moto does not enforce it) ---------------------------------------------------

def _math(queries: list[dict], **extra) -> dict:
    return {"AlarmName": "a", "Metrics": queries, "EvaluationPeriods": 1, "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanThreshold", **extra}


def _stat(query_id: str, return_data: bool | None = None) -> dict:
    query = {"Id": query_id, "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 60,
                                            "Stat": "Sum"}}
    if return_data is not None:
        query["ReturnData"] = return_data
    return query


SUM = {"Id": "e1", "Expression": "m1 + m2", "ReturnData": True}


@pytest.mark.parametrize(("request_", "problem"), [
    (_math([_stat("m1", False), _stat("m2", False), SUM]), None),
    (_math([_stat("m1", False), SUM], MetricName="M"), "exactly one of MetricName and Metrics"),
    (_math([_stat(f"m{i}", False) for i in range(20)] + [SUM]), "1 to 20 allowed"),
    (_math([_stat("m1"), _stat("m2", False), SUM]), "exactly one metric-data query must have ReturnData"),
    (_math([_stat("m1", False), {**SUM, "ReturnData": False}]), "exactly one metric-data query must have ReturnData"),
    (_math([_stat("M1", False), SUM]), "Id must start with a lower-case letter"),
    (_math([_stat("m1", False), _stat("m1", False), SUM]), "Ids must be unique"),
    (_math([{"Id": "m1", "ReturnData": True}]), "exactly one of MetricStat and Expression"),
    (_math([_stat("m1", False), SUM], Period=60), "Period must not be given with Metrics"),
    ({"AlarmName": "a", "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"},
     "exactly one of MetricName and Metrics"),
])
def test_put_metric_alarm_rules(request_, problem):
    problems = validate_alarm(request_)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_single_metric_rules():
    good = alarm_request(AlertsSettings(), alert_table.RULES["api-down"])
    assert validate_alarm(good) == []
    assert "give exactly one of Statistic and ExtendedStatistic" in validate_alarm({**good, "ExtendedStatistic": "p9"})
    assert any("Period must be 10, 30" in p for p in validate_alarm({**good, "Period": 45}))
    assert any("must not exceed 86400" in p for p in validate_alarm({**good, "EvaluationPeriods": 1441}))
    assert any("unknown Statistic" in p for p in validate_alarm({**good, "Statistic": "Median"}))


def test_metric_math_rule_is_validated_before_anything_is_written():
    settings = parse_alerts({"rules": {"cost-spike": {"metrics": [_stat("m1"), SUM]}}})
    with pytest.raises(ConfigError, match="alerts.rules.cost-spike: CloudWatch would refuse.*ReturnData"):
        desired_alarms(settings)
    fixed = parse_alerts({"rules": {"cost-spike": {"metrics": [_stat("m1", False), _stat("m2", False), SUM]}}})
    request = {r["AlarmName"]: r for r in desired_alarms(fixed)}["magent-cost-spike"]
    assert "MetricName" not in request and len(request["Metrics"]) == 3


# --- the plan ----------------------------------------------------------------------------------------------

def _described(request: dict, managed: bool = True) -> dict:
    """What DescribeAlarms returns for an alarm put with `request` (plus the tags magent adds)."""
    alarm = {k: v for k, v in request.items() if k != "Tags"}
    alarm["Dimensions"] = list(reversed(alarm.get("Dimensions", [])))  # order is not significant
    alarm.update(OKActions=[], InsufficientDataActions=[], StateValue="OK", Managed=managed)
    return alarm


def test_plan_covers_every_action():
    settings = parse_alerts({"cloudwatch": {"dimensions": {"A": "1", "B": "2"}}})
    desired = desired_alarms(settings)
    existing = {r["AlarmName"]: _described(r) for r in desired[1:]}
    existing["magent-high-latency"]["Threshold"] = 9.0
    existing["magent-rate-limited"]["Managed"] = False
    existing["magent-old"] = {"AlarmName": "magent-old", "Managed": True}
    existing["magent-handmade"] = {"AlarmName": "magent-handmade", "Managed": False}
    plan = plan_alarms(desired, existing, prefix="magent-", prune=True)
    actions = {item.name: item.action for item in plan.items}
    assert actions == {"magent-api-down": CREATE, "magent-high-latency": UPDATE, "magent-rate-limited": UPDATE,
                       "magent-auth-failures": UNCHANGED, "magent-circuit-breaker-open": UNCHANGED,
                       "magent-cost-spike": UNCHANGED, "magent-handmade": UNMANAGED, "magent-old": DELETE}
    items = {item.name: item for item in plan.items}
    assert items["magent-high-latency"].changes == {"Threshold": (9.0, 5.0)}
    assert set(items["magent-rate-limited"].changes) == {"Tags"}
    kept = plan_alarms(desired, existing, prefix="magent-", prune=False)
    assert {item.name: item.action for item in kept.items}["magent-old"] == UNCHANGED


def test_unchanged_alarm_has_no_changes():
    request = desired_alarms(AlertsSettings())[0]
    assert alarm_changes(request, _described(request)) == {}
    assert alarm_changes(request, {**_described(request), "TreatMissingData": None}) == {
        "TreatMissingData": ("missing", "notBreaching")}


# --- promtool tests generation -----------------------------------------------------------------------------

def test_selector_labels():
    assert selector_labels('namespace="shop", app="a\\"b"') == {"namespace": "shop", "app": 'a"b'}
    with pytest.raises(UsageError, match="app=~"):
        selector_labels('namespace="shop",app=~"agent.*"')


def test_tests_cover_each_alert_bad_and_good():
    settings = AlertsSettings()
    document = prometheus_tests(settings, settings.table(), "rules.yml")
    assert document["rule_files"] == ["rules.yml"]
    assert len(document["tests"]) == 12
    firing = [t for t in document["tests"] if t["alert_rule_test"][0]["exp_alerts"]]
    assert len(firing) == 6


# --- fuzz: any alerts: mapping either parses or is one clean ConfigError --------------------------------------

_scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=20))
_value = st.recursive(_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=10), inner, max_size=3)),
                      max_leaves=8)
_rule = st.fixed_dictionaries({}, optional={
    "enabled": _value, "threshold": st.one_of(_value, st.floats(0, 1e6)), "severity": st.sampled_from(
        ["P1", "P2", "P3", "P4", 1]), "for": st.one_of(_value, st.sampled_from(["5m", "90s", "1h30m", "1.5s"])),
    "period": st.one_of(_value, st.sampled_from([10, 60, 61, 3600, "1h"])), "statistic": st.sampled_from(
        ["Sum", "p95", "p99.9", "p101", "tm99"]), "metric": _value, "dimensions": _value, "metrics": _value,
    "runbook": st.sampled_from(["incident", "nope"]), "summary": _value, "evaluation_periods": _value,
})
_alerts = st.fixed_dictionaries({}, optional={
    "runbook_base_url": _value,
    "cloudwatch": st.fixed_dictionaries({}, optional={"prefix": _value, "namespace": _value, "dimensions": _value,
                                                      "actions": _value, "treat_missing_data": _value}),
    "prometheus": st.fixed_dictionaries({}, optional={
        "selector": st.one_of(_value, st.sampled_from(['a="b"', 'a=~"b.*",c!="d"', 'a="b', "{}"])),
        "group_by": _value, "rate_window": _value, "error_codes": _value, "requests_metric": _value}),
    "rules": st.dictionaries(st.sampled_from([*alert_table.DEFAULT_ROWS, "other"]), _rule, max_size=3),
})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_alerts, _value))
def test_fuzz_alerts_config(data):
    try:
        parsed = parse_alerts(data)
    except ConfigError as exc:
        assert str(exc).startswith("alerts")
        return
    rules = parsed.table()
    yaml.safe_load(yaml.safe_dump(prometheus_rules(parsed, rules)))
    for rule in rules:
        alarm_request(parsed, rule)
    assert Settings.model_validate({"alerts": data}).alerts == parsed


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_alerts)
def test_fuzz_alerts_in_magent_yaml(tmp_path, data):
    path = tmp_path / "magent.yaml"
    path.write_text(yaml.safe_dump({"alerts": data}, allow_unicode=True))
    try:
        settings_, _, _ = load_settings(str(path), env={})
    except ConfigError as exc:
        assert str(exc).startswith(f"{path}")
        return
    assert settings_.alerts == parse_alerts(data)


# --- the cost metric -----------------------------------------------------------------------------------------

def test_cost_datums_skip_hours_cloudwatch_refuses_and_add_hourly_totals():
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from magent.core.cost_metrics import HourCost, cloudwatch_datums, cloudwatch_target, textfile

    now = datetime(2026, 11, 28, 3, tzinfo=UTC)
    hour = now - timedelta(hours=2)
    costs = [HourCost("a", hour, Decimal("1.5")), HourCost("b", hour, Decimal("2")),
             HourCost("a", now - timedelta(days=15), Decimal("9"))]
    namespace, metric, dims = cloudwatch_target(parse_alerts({"cloudwatch": {"dimensions": {"Env": "prod"}}}))
    assert (namespace, metric, dims) == ("Magent/App", "CostUSD", {"Env": "prod"})
    datums, too_old = cloudwatch_datums(costs, metric, dims, now=now)
    assert too_old == 1
    assert [(d["Value"], d["Dimensions"]) for d in datums] == [
        (1.5, [{"Name": "Env", "Value": "prod"}, {"Name": "Model", "Value": "a"}]),
        (2.0, [{"Name": "Env", "Value": "prod"}, {"Name": "Model", "Value": "b"}]),
        (3.5, [{"Name": "Env", "Value": "prod"}]),
    ]
    text = textfile({'we"ird\\': Decimal("0.5")}, "cost", now=now)
    assert 'cost{model="we\\"ird\\\\"} 0.500000' in text
    assert f"magent_usage_metrics_timestamp_seconds {now.timestamp():.0f}" in text
