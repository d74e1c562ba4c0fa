"""The `alerts:` section of magent.yaml: the alert table as this deployment uses it. Pure: no I/O.

    alerts:
      runbook_base_url: https://github.com/acme/agent/blob/main/runbooks/   # default: runbooks/ (relative)
      cloudwatch:
        prefix: magent-                          # alarm names: prefix + rule
        namespace: Magent/App
        dimensions: {Environment: production}    # on every alarm (and on the cost metric magent publishes)
        actions: {P1: ["arn:aws:sns:eu-west-1:123456789012:page"], P3: ["arn:aws:sns:…:tickets"]}
        treat_missing_data: notBreaching
      prometheus:
        group: magent
        selector: 'namespace="shop",app="agent"'  # label matchers added to every application metric
        group_by: [namespace]                     # labels kept on the alerts
        requests_metric: http_requests_total      # a counter with a status-code label
        duration_metric: http_request_duration_seconds
        circuit_breaker_metric: circuit_breaker_open
        cost_metric: magent_usage_cost_usd_last_hour
        rate_window: 2m
      rules:
        api-down: {threshold: 20}
        cost-spike: {threshold: 50, severity: P2, dimensions: {Team: ml}}
        circuit-breaker-open: {enabled: false}

Every key is optional: the defaults are the seed's table (`magent.core.alert_table`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from magent.core.alert_table import (
    COST_PROMETHEUS_METRIC,
    DEFAULT_PREFIX,
    DEFAULT_ROWS,
    NAMESPACE,
    RUNBOOKS,
    AlertRule,
)
from magent.core.errors import ConfigError
from magent.core.text import counted
from magent.core.timeutil import parse_duration

SECTION = "alerts"
Severity = Literal["P1", "P2", "P3"]
_METRIC = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"
_LABEL = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
_STATISTIC = r"^(Sum|Average|Maximum|Minimum|SampleCount|p(100|\d{1,2})(\.\d{1,2})?)$"
_CW_TEXT = r"^[^\x00-\x1f]{1,255}$"  # CloudWatch names and values: 1-255 characters, no control characters


def _whole_seconds(value: Any) -> int:
    seconds = parse_duration(value)
    if not seconds.is_integer():
        raise ValueError(f"give whole seconds, not {value!r}")
    return int(seconds)


WholeSeconds = Annotated[int, BeforeValidator(_whole_seconds), Field(ge=0, le=7 * 86400)]
CwText = Annotated[str, Field(pattern=_CW_TEXT)]


class _Model(BaseModel):
    # allow_inf_nan=False: `.nan` / `.inf` in YAML are floats to pydantic, and pass every gt/ge/lt bound.
    # defer_build: the validators (regex patterns, nested models) cost ~60 ms to build; every command loads
    # magent.yaml, few read `alerts`, so they are built on the first validation, not at import.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, defer_build=True)


class RuleSettings(_Model):
    """Overrides of one row of the table; unset keys keep the seed's values."""

    enabled: bool = True
    threshold: float | None = Field(None, ge=0, allow_inf_nan=False)
    severity: Severity | None = None
    runbook: Literal[RUNBOOKS] | None = None  # type: ignore[valid-type]
    summary: str | None = Field(None, min_length=1, max_length=500)
    metric: CwText | None = Field(None, description="CloudWatch metric name")
    statistic: str | None = Field(None, pattern=_STATISTIC)
    period: WholeSeconds | None = None
    evaluation_periods: int | None = Field(None, ge=1, le=1440)
    for_: WholeSeconds | None = Field(None, alias="for", description="Prometheus `for:`")
    dimensions: dict[CwText, CwText] | None = Field(None, max_length=30)
    metrics: list[dict[str, Any]] | None = Field(None, description="CloudWatch metric-data queries (metric math)")

    @field_validator("period")
    @classmethod
    def _period(cls, value: int | None) -> int | None:
        if value is not None and value not in (10, 30) and (value < 60 or value % 60):
            raise ValueError("period must be 10s, 30s or a multiple of 60s")
        return value


class CloudWatchAlertSettings(_Model):
    prefix: str = Field(DEFAULT_PREFIX, pattern=r"^[A-Za-z0-9_.:/-]{1,100}$")
    namespace: CwText = NAMESPACE
    dimensions: dict[CwText, CwText] = Field(default_factory=dict, max_length=30)
    actions: dict[Severity, list[Annotated[str, Field(pattern=r"^arn:\S{1,1020}$")]]] = Field(default_factory=dict)
    treat_missing_data: Literal["missing", "notBreaching", "breaching", "ignore"] = "notBreaching"

    @field_validator("actions")
    @classmethod
    def _five_actions(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if any(len(arns) > 5 for arns in value.values()):
            raise ValueError("CloudWatch takes at most 5 actions per alarm")
        return value


class PrometheusAlertSettings(_Model):
    group: str = Field("magent", min_length=1, max_length=200)
    selector: str = Field("", description="label matchers for the application metrics, e.g. namespace=\"shop\"")
    cost_selector: str = Field("", description="label matchers for the cost metric")
    group_by: list[Annotated[str, Field(pattern=_LABEL)]] = Field(default_factory=list)
    requests_metric: str = Field("http_requests_total", pattern=_METRIC)
    duration_metric: str = Field("http_request_duration_seconds", pattern=_METRIC)
    code_label: str = Field("code", pattern=_LABEL)
    error_codes: str = Field("5..", pattern=r'^[^"\\{}]+$', description="regular expression of 5xx codes")
    circuit_breaker_metric: str = Field("circuit_breaker_open", pattern=_METRIC)
    cost_metric: str = Field(COST_PROMETHEUS_METRIC, pattern=_METRIC)
    rate_window: WholeSeconds = Field(120, ge=1)

    @field_validator("selector", "cost_selector")
    @classmethod
    def _matchers(cls, value: str) -> str:
        value = value.strip().strip(",")
        if value and not _SELECTOR.fullmatch(value):
            raise ValueError('must be label matchers such as namespace="shop",app=~"agent.*"')
        return value

    @field_validator("error_codes")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value


_MATCHER = r'\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"(?:[^"\\\n]|\\.)*"\s*'
_SELECTOR = re.compile(f"{_MATCHER}(,{_MATCHER})*")


class AlertsSettings(_Model):
    runbook_base_url: str = Field("runbooks/", max_length=500, pattern=r"^\S*$")
    # model_construct: defaults need no validation, and so build no validator (see default_alerts)
    cloudwatch: CloudWatchAlertSettings = Field(default_factory=CloudWatchAlertSettings.model_construct)
    prometheus: PrometheusAlertSettings = Field(default_factory=PrometheusAlertSettings.model_construct)
    rules: dict[str, RuleSettings] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _empty(cls, data: Any) -> Any:
        return {} if data is None else data  # `alerts:` with nothing under it

    @field_validator("rules")
    @classmethod
    def _known(cls, value: dict[str, RuleSettings]) -> dict[str, RuleSettings]:
        unknown = [name for name in value if name not in DEFAULT_ROWS]
        if unknown:
            raise ValueError(f"{counted(len(unknown), 'unknown rule')}: {', '.join(unknown)}; "
                             f"known: {', '.join(DEFAULT_ROWS)}")
        return value

    def table(self, *, enabled_only: bool = True) -> list[AlertRule]:
        """The rules in the table's order, with overrides applied (disabled ones left out unless asked)."""
        rules = [self.rule(name) for name in DEFAULT_ROWS]
        return [rule for rule in rules if not enabled_only or self.enabled(rule.name)]

    def enabled(self, name: str) -> bool:
        return self.rules.get(name, RuleSettings()).enabled

    def rule(self, name: str) -> AlertRule:
        row, own = DEFAULT_ROWS[name], self.rules.get(name, RuleSettings())
        threshold = row.threshold if own.threshold is None else own.threshold
        shown = f"{threshold:g}"
        statistic = own.statistic or row.statistic
        dimensions = {**self.cloudwatch.dimensions, **(own.dimensions or {})}
        return AlertRule(
            name=name, title=row.title.format(threshold=shown), metric=own.metric or row.metric,
            statistic=statistic, threshold=threshold, period_s=own.period or row.period_s,
            evaluation_periods=own.evaluation_periods or row.evaluation_periods,
            severity=own.severity or row.severity, namespace=self.cloudwatch.namespace,
            runbook=own.runbook or row.runbook, summary=own.summary or row.summary.format(threshold=shown),
            dimensions=tuple(sorted(dimensions.items())), for_s=row.for_s if own.for_ is None else own.for_,
            expr=prometheus_expr(self.prometheus, name, threshold, statistic),
            metrics=tuple(own.metrics or ()),
        )


def prometheus_expr(prom: PrometheusAlertSettings, name: str, threshold: float, statistic: str) -> str:
    """The PromQL of rule `name`: true (non-empty) while the alert's condition holds."""
    window, code = promql_duration(prom.rate_window), prom.code_label
    by = f" by ({', '.join(prom.group_by)}) " if prom.group_by else ""

    def select(metric: str, *matchers: str, selector: str = prom.selector) -> str:
        inside = ",".join(m for m in (*matchers, selector) if m)
        return f"{metric}{{{inside}}}" if inside else metric

    requests, bucket = prom.requests_metric, prom.duration_metric + "_bucket"
    errors = select(requests, f"{code}=~{_q(prom.error_codes)}")
    exprs = {
        "api-down": f"sum{by}(rate({errors}[{window}])) * 60",
        "rate-limited": f"sum{by}(rate({select(requests, code + '=' + _q('429'))}[{window}])) * 60",
        "auth-failures": f"sum{by}(increase({select(requests, code + '=' + _q('401'))}[{window}]))",
        "high-latency": f"histogram_quantile({quantile(statistic)}, sum by ({', '.join(['le', *prom.group_by])}) "
                        f"(rate({select(bucket)}[{window}])))",
        "circuit-breaker-open": f"max{by}({select(prom.circuit_breaker_metric)})",
        # Not grouped: the cost metric comes from a node-exporter textfile, without the application's labels.
        "cost-spike": f"sum({select(prom.cost_metric, selector=prom.cost_selector)})",
    }
    return f"{exprs[name]} > {threshold:g}"


def quantile(statistic: str) -> str:
    """'p95' → '0.95' (the latency rule follows the CloudWatch statistic); anything else → 0.95."""
    match = re.fullmatch(r"p(\d+(?:\.\d+)?)", statistic)
    return f"{float(match.group(1)) / 100:g}" if match else "0.95"


def promql_duration(seconds: int) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def default_alerts() -> AlertsSettings:
    """The seed's table with no overrides, made without building any validator (what a file without `alerts:`
    gets)."""
    return AlertsSettings.model_construct()


def parse_alerts(data: Any) -> AlertsSettings:
    """Validate an `alerts:` mapping; ConfigError (exit 2) naming the bad key, e.g. `alerts.rules.api-down.threshold`."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{SECTION}: must be a mapping", hint=HINT)
    try:
        return AlertsSettings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(part) for part in (SECTION, *first["loc"]))
        message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{loc}: {message}", hint=HINT) from None


HINT = "see README, 'Alerts (magent alerts)', for the keys magent knows"
