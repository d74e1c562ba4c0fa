"""The alert table rendered: Prometheus alerting rules, CloudWatch PutMetricAlarm requests, Markdown; the
validation CloudWatch would apply to those requests, and the difference between a request and an existing alarm.
Pure: no I/O.

Prometheus: one group; `severity` is critical/warning/info (P1/P2/P3, what Alertmanager routes usually match)
and `priority` keeps the P-level. Annotations are static text (no `$value` templates), so that `promtool test
rules` can state them exactly. Nothing newer than Prometheus 2.42 is emitted (no `keep_firing_for`).
"""

from __future__ import annotations

import re
from typing import Any

from magent.core.alert_config import AlertsSettings, promql_duration
from magent.core.alert_table import MANAGED_TAG, SEVERITY_LABELS, AlertRule, runbook_url

MAX_METRIC_QUERIES = 20
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
COMPARISONS = ("GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
               "LessThanOrEqualToThreshold", "LessThanLowerOrGreaterThanUpperThreshold",
               "LessThanLowerThreshold", "GreaterThanUpperThreshold")
_QUERY_ID = re.compile(r"^[a-z][a-zA-Z0-9_]{0,254}$")
_EXTENDED = re.compile(r"^p(100(\.0+)?|\d{1,2}(\.\d+)?)$")


def alert_name(rule: AlertRule) -> str:
    """The Prometheus alert name: api-down → MagentApiDown."""
    return "Magent" + "".join(part.capitalize() for part in rule.name.split("-"))


def rule_labels(rule: AlertRule) -> dict[str, str]:
    return {"severity": SEVERITY_LABELS[rule.severity], "priority": rule.severity, "alert_table": rule.name}


def rule_annotations(settings: AlertsSettings, rule: AlertRule) -> dict[str, str]:
    return {
        "summary": f"{rule.title}",
        "description": f"{rule.summary} ({rule.severity}). Runbook: {rule.runbook}.md.",
        "runbook_url": runbook_url(settings.runbook_base_url, rule.runbook),
    }


def prometheus_rules(settings: AlertsSettings, rules: list[AlertRule]) -> dict[str, Any]:
    """The rule file (as data; `yaml.safe_dump` it) with one group holding every rule."""
    return {"groups": [{"name": settings.prometheus.group, "rules": [_prom_rule(settings, r) for r in rules]}]}


def _prom_rule(settings: AlertsSettings, rule: AlertRule) -> dict[str, Any]:
    entry: dict[str, Any] = {"alert": alert_name(rule), "expr": rule.expr}
    if rule.for_s:
        entry["for"] = promql_duration(rule.for_s)
    entry["labels"] = rule_labels(rule)
    entry["annotations"] = rule_annotations(settings, rule)
    return entry


def alarm_request(settings: AlertsSettings, rule: AlertRule) -> dict[str, Any]:
    """The PutMetricAlarm parameters of `rule` (boto3 spelling), tagged as managed by magent."""
    cloudwatch, url = settings.cloudwatch, runbook_url(settings.runbook_base_url, rule.runbook)
    request: dict[str, Any] = {
        "AlarmName": rule.alarm_name(cloudwatch.prefix),
        "AlarmDescription": f"{rule.severity} {rule.title}: {rule.summary}. Runbook: {url} "
                            "(managed by magent: magent alerts apply)"[:1024],
        "ActionsEnabled": True,
        "AlarmActions": list(cloudwatch.actions.get(rule.severity, [])),  # type: ignore[call-overload]
        "EvaluationPeriods": rule.evaluation_periods,
        "Threshold": float(rule.threshold),
        "ComparisonOperator": rule.comparison,
        "TreatMissingData": cloudwatch.treat_missing_data,
    }
    if rule.metrics:
        request["Metrics"] = [dict(query) for query in rule.metrics]
    else:
        request.update(Namespace=rule.namespace, MetricName=rule.metric, Period=rule.period_s,
                       Dimensions=[{"Name": k, "Value": v} for k, v in rule.dimensions])
        statistic_key = "ExtendedStatistic" if rule.statistic.startswith("p") else "Statistic"
        request[statistic_key] = rule.statistic
    request["Tags"] = [{"Key": MANAGED_TAG, "Value": "true"}, {"Key": "magent:severity", "Value": rule.severity},
                       {"Key": "magent:runbook", "Value": url[:256]}]
    return request


def validate_alarm(request: dict[str, Any]) -> list[str]:
    """What CloudWatch's PutMetricAlarm would refuse in `request` (moto does not check it); [] when valid."""
    problems = []
    if not 1 <= len(request.get("AlarmName", "")) <= 255:
        problems.append("AlarmName must be 1 to 255 characters")
    if ("MetricName" in request) == ("Metrics" in request):
        problems.append("give exactly one of MetricName and Metrics")
    if "Metrics" in request:
        problems += _metrics_problems(request)
    elif "MetricName" in request:
        problems += _single_metric_problems(request)
    problems += _evaluation_problems(request)
    if request.get("ComparisonOperator") not in COMPARISONS:
        problems.append(f"unknown ComparisonOperator {request.get('ComparisonOperator')!r}")
    if len(request.get("AlarmActions", [])) > 5:
        problems.append("at most 5 AlarmActions")
    return problems


def _single_metric_problems(request: dict[str, Any]) -> list[str]:
    problems = []
    if not request.get("Namespace"):
        problems.append("Namespace is required with MetricName")
    if ("Statistic" in request) == ("ExtendedStatistic" in request):
        problems.append("give exactly one of Statistic and ExtendedStatistic")
    if "Statistic" in request and request["Statistic"] not in STATISTICS:
        problems.append(f"unknown Statistic {request['Statistic']!r} (one of {', '.join(STATISTICS)})")
    if "ExtendedStatistic" in request and not _EXTENDED.match(str(request["ExtendedStatistic"])):
        problems.append(f"ExtendedStatistic {request['ExtendedStatistic']!r} is not a percentile such as p95")
    problems += _period_problems(request.get("Period"), "Period")
    if len(request.get("Dimensions", [])) > 30:
        problems.append("at most 30 Dimensions")
    return problems


def _metrics_problems(request: dict[str, Any]) -> list[str]:
    problems = [f"{key} must not be given with Metrics" for key in
                ("Namespace", "MetricName", "Dimensions", "Statistic", "ExtendedStatistic", "Period", "Unit")
                if key in request]
    queries = request["Metrics"]
    if not 1 <= len(queries) <= MAX_METRIC_QUERIES:
        problems.append(f"Metrics holds {len(queries)} queries; 1 to {MAX_METRIC_QUERIES} allowed")
    returning = [q for q in queries if isinstance(q, dict) and q.get("ReturnData", True)]
    if len(returning) != 1:
        problems.append(f"exactly one metric-data query must have ReturnData true ({len(returning)} have; "
                        "it defaults to true)")
    ids = [q.get("Id") for q in queries if isinstance(q, dict)]
    if len(set(ids)) != len(ids):
        problems.append("metric-data query Ids must be unique")
    for number, query in enumerate(queries):
        problems += [f"Metrics[{number}]: {p}" for p in _query_problems(query)]
    return problems


def _query_problems(query: Any) -> list[str]:
    if not isinstance(query, dict):
        return ["must be a mapping"]
    problems = []
    if not _QUERY_ID.match(str(query.get("Id", ""))):
        problems.append("Id must start with a lower-case letter (letters, digits, _)")
    if ("MetricStat" in query) == ("Expression" in query):
        problems.append("give exactly one of MetricStat and Expression")
    stat = query.get("MetricStat")
    if stat is not None:
        metric = stat.get("Metric") if isinstance(stat, dict) else None
        if not isinstance(metric, dict) or not metric.get("MetricName"):
            problems.append("MetricStat.Metric.MetricName is required")
        if not isinstance(stat, dict) or not stat.get("Stat"):
            problems.append("MetricStat.Stat is required")
        problems += _period_problems(stat.get("Period") if isinstance(stat, dict) else None, "MetricStat.Period")
    return problems


def _period_problems(period: Any, key: str) -> list[str]:
    if not isinstance(period, int) or isinstance(period, bool) or period < 1:
        return [f"{key} is required (seconds)"]
    if period not in (10, 30) and period % 60:
        return [f"{key} must be 10, 30 or a multiple of 60 seconds"]
    return []


def _evaluation_problems(request: dict[str, Any]) -> list[str]:
    periods = request.get("EvaluationPeriods")
    if not isinstance(periods, int) or periods < 1:
        return ["EvaluationPeriods must be at least 1"]
    problems = []
    datapoints = request.get("DatapointsToAlarm")
    if datapoints is not None and not 1 <= datapoints <= periods:
        problems.append("DatapointsToAlarm must be between 1 and EvaluationPeriods")
    period = request.get("Period") or max((q.get("MetricStat", {}).get("Period") or 0 for q in
                                           request.get("Metrics", []) if isinstance(q, dict)), default=0)
    if isinstance(period, int) and period:
        limit = 86400 if period < 3600 else 7 * 86400
        if period * periods > limit:
            problems.append(f"EvaluationPeriods × Period must not exceed {limit} s")
    return problems


# --- desired vs existing ---------------------------------------------------------------------------------

_COMPARED = ("AlarmDescription", "ActionsEnabled", "AlarmActions", "Namespace", "MetricName", "Dimensions",
             "Statistic", "ExtendedStatistic", "Period", "EvaluationPeriods", "DatapointsToAlarm", "Threshold",
             "ComparisonOperator", "TreatMissingData", "Metrics")


def alarm_changes(request: dict[str, Any], alarm: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Field → (existing, desired) for every field of `request` that the DescribeAlarms entry `alarm` lacks."""
    changes = {}
    for key in _COMPARED:
        want, have = _normal(key, request.get(key)), _normal(key, alarm.get(key))
        if want != have:
            changes[key] = (have, want)
    return changes


def _normal(key: str, value: Any) -> Any:
    if key in ("AlarmActions", "Dimensions", "Metrics") and not value:
        return None
    if key == "Dimensions":
        return {d["Name"]: d["Value"] for d in sorted(value, key=lambda d: d["Name"])}
    if key == "Threshold" and value is not None:
        return float(value)
    if key == "TreatMissingData" and value is None:
        return "missing"  # CloudWatch's default
    if key == "Metrics":
        return [{k: v for k, v in query.items() if not (k == "ReturnData" and v is True)} for query in value]
    return value


def markdown_table(settings: AlertsSettings, rules: list[AlertRule]) -> str:
    """The table for a README or a runbook: alert, severity, CloudWatch condition, PromQL, runbook."""
    lines = ["| alert | severity | CloudWatch alarm | condition | Prometheus | for | runbook |",
             "|---|---|---|---|---|---|---|"]
    for rule in rules:
        url = runbook_url(settings.runbook_base_url, rule.runbook)
        expr = rule.expr.replace("|", "\\|")
        lines.append(f"| {rule.title} | {rule.severity} ({SEVERITY_LABELS[rule.severity]}) | "
                     f"`{rule.alarm_name(settings.cloudwatch.prefix)}` | {rule.describe()} | `{expr}` | "
                     f"{promql_duration(rule.for_s) if rule.for_s else '-'} | [{rule.runbook}]({url}) |")
    return "\n".join(lines) + "\n"
