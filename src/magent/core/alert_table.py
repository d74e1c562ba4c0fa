"""The seed's alert table: one pure definition that `preflight` (aws.alarms) checks, that `magent alerts`
renders (Prometheus rules, CloudWatch alarms, Markdown) and applies, and whose thresholds are the deploy
analysis's defaults (`magent.core.judge.DEFAULT_THRESHOLDS` reads the constants below).

    alarm (prefix + name)       metric (namespace Magent/App)   condition                    severity  runbook
    magent-api-down             Http5xxCount                    Sum > 10 per minute          P1        incident
    magent-high-latency         LatencySeconds                  p95 > 5 s for 5 minutes      P2        incident
    magent-rate-limited         Http429Count                    Sum > 5 per minute           P2        usage-limits
    magent-auth-failures        Http401Count                    Sum > 0 (any) per minute     P1        key-rotation
    magent-circuit-breaker-open CircuitBreakerOpen              Maximum > 0 per minute       P2        incident
    magent-cost-spike           CostUSD                         Maximum > 10 per hour        P3        usage-limits

The cost spike reads `Maximum`, not `Sum`: `magent usage report --emit-metrics cloudwatch` publishes one
datapoint per model and hour holding that hour's spend, and may publish the same hour again as more of it is
exported; the maximum of re-published values is the latest figure, a sum would count it twice.
`magent.core.alert_config` turns the `alerts:` section of magent.yaml into the rules actually used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_PREFIX = "magent-"
NAMESPACE = "Magent/App"

# The seed's thresholds, shared with the deploy analysis (what pages on-call also aborts a canary).
ERRORS_5XX_PER_MIN = 10.0
LATENCY_P95_SECONDS = 5.0
RATE_LIMITED_429_PER_MIN = 5.0
UNAUTHORIZED_401 = 0.0  # any 401
COST_USD_PER_HOUR = 10.0

# CloudWatch metric names of the cost metric that `usage report --emit-metrics` publishes.
COST_METRIC = "CostUSD"
COST_MODEL_DIMENSION = "Model"
# Its Prometheus name (node-exporter textfile): spend over the trailing hour, per model.
COST_PROMETHEUS_METRIC = "magent_usage_cost_usd_last_hour"

# P-level → Prometheus `severity` label (Alertmanager's usual routing values); the P-level stays as `priority`.
SEVERITY_LABELS = {"P1": "critical", "P2": "warning", "P3": "info"}
RUNBOOKS = ("incident", "key-rotation", "rollback", "escalation", "usage-limits")
MANAGED_TAG = "magent:managed"


@dataclass(frozen=True)
class AlertRule:
    """One row of the alert table: the alarm `prefix + name` on `metric` crossing `threshold`."""

    name: str  # the alarm name without its prefix, e.g. "api-down"
    title: str
    metric: str
    statistic: str  # Sum | Maximum | Average, or an extended statistic such as p95
    threshold: float
    period_s: int
    evaluation_periods: int
    severity: str  # P1 (page now) … P3 (next business day)
    namespace: str = NAMESPACE
    comparison: str = "GreaterThanThreshold"
    runbook: str = "incident"
    summary: str = ""
    dimensions: tuple[tuple[str, str], ...] = ()
    for_s: int = 0  # Prometheus `for:`
    expr: str = ""  # the Prometheus expression (built from the `alerts.prometheus` settings)
    metrics: tuple[dict, ...] = field(default=(), hash=False)  # CloudWatch metric-data queries instead of metric

    def alarm_name(self, prefix: str = DEFAULT_PREFIX) -> str:
        return f"{prefix}{self.name}"

    def describe(self) -> str:
        """`Http5xxCount Sum > 10 per 60 s` (with `for 5 periods` when it takes several)."""
        if self.metrics:
            return f"metric math > {self.threshold:g} per {self.period_s} s"
        span = f" for {self.evaluation_periods} periods" if self.evaluation_periods > 1 else ""
        return f"{self.metric} {self.statistic} > {self.threshold:g} per {self.period_s} s{span}"


@dataclass(frozen=True)
class RowDefaults:
    """What a row of the table starts as, before `alerts.rules.<name>` overrides it."""

    title: str  # with {threshold}
    summary: str  # with {threshold}
    metric: str
    statistic: str
    threshold: float
    period_s: int
    evaluation_periods: int
    severity: str
    runbook: str
    for_s: int


DEFAULT_ROWS: dict[str, RowDefaults] = {
    "api-down": RowDefaults("API down (5xx > {threshold}/min)", "More than {threshold} 5xx responses per minute",
                            "Http5xxCount", "Sum", ERRORS_5XX_PER_MIN, 60, 1, "P1", "incident", 60),
    "high-latency": RowDefaults("High latency (p95 > {threshold} s for 5 min)",
                                "p95 latency above {threshold} s for 5 minutes",
                                "LatencySeconds", "p95", LATENCY_P95_SECONDS, 60, 5, "P2", "incident", 300),
    "rate-limited": RowDefaults("Rate limited (429 > {threshold}/min)", "More than {threshold} 429 responses per minute",
                                "Http429Count", "Sum", RATE_LIMITED_429_PER_MIN, 60, 1, "P2", "usage-limits", 60),
    "auth-failures": RowDefaults("Auth failures (any 401)", "401 responses: the Mistral key is refused",
                                 "Http401Count", "Sum", UNAUTHORIZED_401, 60, 1, "P1", "key-rotation", 0),
    "circuit-breaker-open": RowDefaults("Circuit breaker open", "The circuit breaker to the Mistral API is open",
                                        "CircuitBreakerOpen", "Maximum", 0, 60, 1, "P2", "incident", 60),
    "cost-spike": RowDefaults("Cost spike (> ${threshold}/hour)", "Mistral spend above ${threshold} per hour",
                              COST_METRIC, "Maximum", COST_USD_PER_HOUR, 3600, 1, "P3", "usage-limits", 0),
}


def default_rule(name: str) -> AlertRule:
    row = DEFAULT_ROWS[name]
    return AlertRule(name, row.title.format(threshold=f"{row.threshold:g}"), row.metric, row.statistic,
                     row.threshold, row.period_s, row.evaluation_periods, row.severity, runbook=row.runbook,
                     summary=row.summary.format(threshold=f"{row.threshold:g}"), for_s=row.for_s)


ALERT_TABLE: tuple[AlertRule, ...] = tuple(default_rule(name) for name in DEFAULT_ROWS)
RULES: dict[str, AlertRule] = {rule.name: rule for rule in ALERT_TABLE}


def runbook_url(base: str, runbook: str) -> str:
    """`base` + `runbook.md`; a base not ending in '/' gets one (https://wiki/runbooks → …/runbooks/incident.md)."""
    return f"{base if base.endswith('/') or not base else base + '/'}{runbook}.md"


def alarm_differences(rule: AlertRule, alarm: dict) -> list[str]:
    """How a DescribeAlarms entry departs from its rule (metric or threshold), as short phrases; [] when it matches."""
    differences = []
    metric = alarm.get("MetricName")
    if metric and metric != rule.metric:
        differences.append(f"metric {metric} (table: {rule.metric})")
    threshold = alarm.get("Threshold")
    if threshold is not None and float(threshold) != rule.threshold:
        differences.append(f"threshold {float(threshold):g} (table: {rule.threshold:g})")
    return differences
