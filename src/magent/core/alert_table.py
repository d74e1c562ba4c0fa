"""The seed's alert table as CloudWatch alarms: one pure definition that `preflight` (aws.alarms) checks
and that `magent alerts apply` will write.

    alarm (prefix + name)       metric (namespace Magent/App)   condition                    severity
    magent-api-down             Http5xxCount                    Sum > 10 per minute          P1
    magent-high-latency         LatencyP95Seconds               p95 > 5 s for 5 minutes      P2
    magent-rate-limited         Http429Count                    Sum > 5 per minute           P2
    magent-auth-failures        Http401Count                    Sum > 0 (any) per minute     P1
    magent-circuit-breaker-open CircuitBreakerOpen              Maximum > 0 per minute       P2
    magent-cost-spike           CostUSD                         Sum > 10 per hour            P3
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "magent-"
NAMESPACE = "Magent/App"


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

    def alarm_name(self, prefix: str = DEFAULT_PREFIX) -> str:
        return f"{prefix}{self.name}"

    def describe(self) -> str:
        """`Http5xxCount Sum > 10 per 60 s` (with `for 5 periods` when it takes several)."""
        span = f" for {self.evaluation_periods} periods" if self.evaluation_periods > 1 else ""
        return f"{self.metric} {self.statistic} > {self.threshold:g} per {self.period_s} s{span}"


ALERT_TABLE: tuple[AlertRule, ...] = (
    AlertRule("api-down", "API down (5xx > 10/min)", "Http5xxCount", "Sum", 10, 60, 1, "P1"),
    AlertRule("high-latency", "High latency (p95 > 5 s for 5 min)", "LatencyP95Seconds", "p95", 5, 60, 5, "P2"),
    AlertRule("rate-limited", "Rate limited (429 > 5/min)", "Http429Count", "Sum", 5, 60, 1, "P2"),
    AlertRule("auth-failures", "Auth failures (any 401)", "Http401Count", "Sum", 0, 60, 1, "P1"),
    AlertRule("circuit-breaker-open", "Circuit breaker open", "CircuitBreakerOpen", "Maximum", 0, 60, 1, "P2"),
    AlertRule("cost-spike", "Cost spike (> $10/hour)", "CostUSD", "Sum", 10, 3600, 1, "P3"),
)
RULES: dict[str, AlertRule] = {rule.name: rule for rule in ALERT_TABLE}


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
