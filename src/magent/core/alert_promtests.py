"""`promtool test rules` unit tests for the rules `alert_render.prometheus_rules` writes: for every alert, one
test where a bad series makes it fire and one where a good series keeps it silent. Pure: no I/O.

The series carry the labels that the selector's equality matchers require (and those of `group_by`), so the
tests follow the configuration; a selector with other matchers (!=, =~, !~) cannot be satisfied by made-up
series, and is refused.
"""

from __future__ import annotations

import re
from typing import Any

from magent.core.alert_config import AlertsSettings, promql_duration
from magent.core.alert_render import alert_name, rule_annotations, rule_labels
from magent.core.alert_table import AlertRule
from magent.core.errors import UsageError

_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=|!=|=~|!~)\s*"((?:[^"\\]|\\.)*)"\s*,?')
_STEPS = 30  # minutes of samples in every test
_ERROR_CODES = ("500", "502", "503", "504", "520", "599")


def selector_labels(selector: str) -> dict[str, str]:
    """'namespace="shop",app="agent"' → the labels a series needs to match it (equality matchers only)."""
    labels: dict[str, str] = {}
    for match in _MATCHER.finditer(selector):
        name, operator, value = match.groups()
        if operator != "=":
            raise UsageError(f"cannot make test series for the matcher {match.group(0).strip(' ,')!r}",
                             hint="prometheus-tests needs alerts.prometheus selectors made of label=\"value\" "
                                  "matchers")
        labels[name] = re.sub(r"\\(.)", r"\1", value)
    return labels


def prometheus_tests(settings: AlertsSettings, rules: list[AlertRule], rules_file: str) -> dict[str, Any]:
    """The promtool test file (as data) for `rules`, reading the rule file at `rules_file`."""
    tests = []
    for rule in rules:
        for bad in (True, False):
            tests.append(_test(settings, rule, bad))
    return {"rule_files": [rules_file], "evaluation_interval": "1m", "tests": tests}


def _test(settings: AlertsSettings, rule: AlertRule, bad: bool) -> dict[str, Any]:
    prom = settings.prometheus
    app = {**{label: "test" for label in prom.group_by}, **selector_labels(prom.selector)}
    labels = selector_labels(prom.cost_selector) if rule.name == "cost-spike" else app
    eval_minutes = prom.rate_window // 60 + rule.for_s // 60 + 5
    expected = []
    if bad:
        kept = {} if rule.name == "cost-spike" else {k: v for k, v in app.items() if k in prom.group_by}
        expected = [{"exp_labels": {**kept, **rule_labels(rule)}, "exp_annotations": rule_annotations(settings, rule)}]
    return {
        "name": f"{rule.name} {'fires on a bad series' if bad else 'stays silent on a good series'}",
        "interval": "1m",
        "input_series": _series(settings, rule, labels, bad),
        "alert_rule_test": [{"eval_time": promql_duration(eval_minutes * 60), "alertname": alert_name(rule),
                             "exp_alerts": expected}],
    }


def _series(settings: AlertsSettings, rule: AlertRule, labels: dict[str, str], bad: bool) -> list[dict[str, str]]:
    prom, threshold = settings.prometheus, rule.threshold
    per_minute = (2 * threshold + 2) if bad else threshold / 2  # rate × 60 against the threshold
    if rule.name in ("api-down", "rate-limited", "auth-failures"):
        code = {"api-down": _error_code(prom.error_codes), "rate-limited": "429", "auth-failures": "401"}[rule.name]
        if rule.name == "auth-failures":  # increase() over the window, not a per-minute rate
            per_minute = per_minute * 60 / prom.rate_window if bad else threshold * 30 / prom.rate_window
        return [_counter(prom.requests_metric, {**labels, prom.code_label: code}, per_minute),
                _counter(prom.requests_metric, {**labels, prom.code_label: "200"}, 100)]
    if rule.name == "high-latency":
        return _histogram(prom.duration_metric, labels, threshold, bad)
    metric = prom.circuit_breaker_metric if rule.name == "circuit-breaker-open" else prom.cost_metric
    value = threshold + 1 + threshold if bad else threshold / 2
    return [{"series": _name(metric, labels), "values": f"{_num(value)}x{_STEPS}"}]


def _histogram(metric: str, labels: dict[str, str], threshold: float, bad: bool) -> list[dict[str, str]]:
    """Every observation above the threshold (bad) or below half of it (good): p95 lands far from it."""
    bounds = [threshold / 2, threshold, threshold * 4]
    series = []
    for bound in [*bounds, "+Inf"]:
        counted = not bad or bound == "+Inf" or bound > threshold
        le = bound if isinstance(bound, str) else _num(bound)
        series.append(_counter(f"{metric}_bucket", {**labels, "le": le}, 10 if counted else 0))
    return series


def _counter(metric: str, labels: dict[str, str], per_minute: float) -> dict[str, str]:
    return {"series": _name(metric, labels), "values": f"0+{_num(per_minute)}x{_STEPS}"}


def _name(metric: str, labels: dict[str, str]) -> str:
    inside = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return f"{metric}{{{inside}}}" if inside else metric


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _error_code(pattern: str) -> str:
    for code in _ERROR_CODES:
        if re.fullmatch(pattern, code):
            return code
    raise UsageError(f"alerts.prometheus.error_codes {pattern!r} matches none of {', '.join(_ERROR_CODES)}",
                     hint="prometheus-tests needs an error code to make a bad series with")


def _num(value: float) -> str:
    return f"{value:.6g}" if value != int(value) else str(int(value))
