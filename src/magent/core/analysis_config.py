"""The `deploy.analysis` section of magent.yaml: which providers judge a canary, and how.

    deploy:
      analysis:
        timeout: 5s                     # per provider, per interval (capped below the interval)
        thresholds: {errors_5xx_per_min: 10, latency_p95_seconds: 5, rate_limited_429_per_min: 5, unauthorized_401: 0}
        statistics: {alpha: 0.05, min_requests: 50, min_samples: 20}
        web: {url: "http://$canary_deployment.$namespace.svc:8080/health", json_path: status, expect: ok}
        prometheus:
          url: http://prometheus.monitoring:9090
          selector: 'namespace="$namespace",app="agent"'
          queries:
            - {name: tokens_per_request, query: 'sum by (track) (...)', max: 4000, per: track}
        cloudwatch:
          namespace: Agent
          metrics: [{name: bedrock_errors, metric_name: Errors, dimensions: {Version: $canary_version}, max: 0}]
        mistral: {enabled: true}

Queries, URLs and dimension values may use `$namespace`, `$deployment`, `$canary_deployment`,
`$stable_version`, `$canary_version`, `$window` (a PromQL duration) and, in PromQL, `$selector`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from string import Template
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from magent.core.errors import ConfigError
from magent.core.judge import DEFAULT_THRESHOLDS, Comparison, Threshold
from magent.core.timeutil import parse_duration

SECTION = "deploy.analysis"
Seconds = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]
_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]*$"


class _Model(BaseModel):
    # allow_inf_nan=False: `.nan` / `.inf` in YAML are floats to pydantic, and pass every gt/ge/lt bound.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class _Bounded(_Model):
    """A metric judged against `max` and/or `min`."""

    max: float | None = None
    min: float | None = None
    unit: str = ""

    @model_validator(mode="after")
    def _has_bound(self) -> _Bounded:
        if self.max is None and self.min is None:
            raise ValueError("give a threshold: max or min")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError("min is above max")
        return self

    def threshold(self) -> Threshold:
        return Threshold(max=self.max, min=self.min, unit=self.unit)


def _default_max(name: str) -> float:
    value = DEFAULT_THRESHOLDS[name].max
    if value is None:  # the seed's alert table gives every one of these a max
        raise ValueError(f"no default maximum for {name}")
    return value


class ThresholdSettings(_Model):
    """Absolute thresholds of the default Prometheus queries (the seed's alert table)."""

    errors_5xx_per_min: float = Field(_default_max("errors_5xx_per_min"), ge=0)
    latency_p95_seconds: float = Field(_default_max("latency_p95_seconds"), gt=0)
    rate_limited_429_per_min: float = Field(_default_max("rate_limited_429_per_min"), ge=0)
    unauthorized_401: float = Field(_default_max("unauthorized_401"), ge=0)

    def threshold(self, name: str) -> Threshold:
        return Threshold(max=getattr(self, name), unit=DEFAULT_THRESHOLDS[name].unit)


class StatisticsSettings(_Model):
    """The canary-vs-stable judge: significance level, minimum samples, and the practical difference."""

    enabled: bool = True
    alpha: float = Field(0.05, gt=0, lt=1)
    min_requests: int = Field(50, ge=1, description="requests per track before the error proportions are compared")
    min_samples: int = Field(20, ge=1, description="latency observations per track before Mann-Whitney runs")
    max_error_increase: float = Field(0.01, ge=0, le=1, description="tolerated rise of the error proportion")
    min_effect_size: float = Field(0.6, ge=0.5, le=1, description="P(canary slower) needed to fail")

    def comparison(self, looks: int = 1) -> Comparison:
        """The judge's settings for one of the `looks` analyses of a step, which share `alpha` (Bonferroni): tested
        each at alpha, the analyses of a long pause aborted healthy canaries on flukes far more often than alpha."""
        looks = max(1, looks)
        return Comparison(
            alpha=self.alpha / looks,
            looks=looks,
            min_requests=self.min_requests,
            min_samples=self.min_samples,
            max_error_increase=self.max_error_increase,
            min_effect_size=self.min_effect_size,
        )


class WebSettings(_Model):
    """An HTTP health endpoint: the status code, and a value at a JSON path."""

    enabled: bool = True
    url: str | None = None
    expect_status: int = Field(200, ge=100, le=599)
    json_path: str | None = "status"
    expect: str | int | float | bool | None = "ok"

    @model_validator(mode="after")
    def _url(self) -> WebSettings:
        if self.enabled:
            _require_http_url(self.url, "url")
        return self


class PrometheusQuery(_Bounded):
    """An instant query. With `per`, the series whose `per` label names the canary is judged."""

    name: str = Field(pattern=_NAME)
    query: str = Field(min_length=1)
    per: str | None = None


class PrometheusSettings(_Model):
    enabled: bool = True
    url: str | None = None
    selector: str = Field("", description="extra label matchers for every default query, e.g. namespace=\"$namespace\"")
    track_label: str = "track"
    canary_track: str = "canary"
    stable_track: str = "stable"
    min_window: Seconds = Field(60.0, description="rate() windows are at least this long (>= 2 scrape intervals)")
    default_queries: bool = True
    queries: list[PrometheusQuery] = Field(default_factory=list)
    compare: bool = Field(True, description="compare canary with stable (needs statistics.enabled)")
    requests_metric: str = Field("http_requests_total", pattern=_NAME)
    duration_metric: str = Field("http_request_duration_seconds", pattern=_NAME)
    code_label: str = "code"
    error_codes: str = Field("5..", description="regular expression of the status codes counted as errors")

    @model_validator(mode="after")
    def _check(self) -> PrometheusSettings:
        if self.enabled:
            _require_http_url(self.url, "url")
        names = [query.name for query in self.queries]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate query names: {', '.join(duplicates)}")
        return self

    def effective_queries(self, thresholds: ThresholdSettings) -> list[PrometheusQuery]:
        """The default queries (unless turned off), then the user's; a user query replaces a default of its name."""
        own = {query.name for query in self.queries}
        defaults = [q for q in self._default_queries(thresholds) if q.name not in own] if self.default_queries else []
        return defaults + list(self.queries)

    def comparison_queries(self) -> dict[str, str]:
        """Counts over the window per track (and per bucket) for the canary-vs-stable statistics."""
        per, requests = self.track_label, self.requests_metric
        totals = f"sum by ({per}) (increase({requests}{{$selector}}[$window]))"
        buckets = f"{self.duration_metric}_bucket"
        errors = f'sum by ({per}) (increase({requests}{{{self.code_label}=~"{self.error_codes}",$selector}}[$window]))'
        return {
            "compare_requests": totals,
            "compare_errors": f"{errors} or {totals} * 0",
            "compare_latency_buckets": f"sum by ({per}, le) (increase({buckets}{{$selector}}[$window]))",
        }

    def _default_queries(self, thresholds: ThresholdSettings) -> list[PrometheusQuery]:
        per, requests, code = self.track_label, self.requests_metric, self.code_label

        def counted(matcher: str, function: str, scale: str) -> str:
            # `or … * 0`: a track with traffic but no such response counts 0; a track without traffic has no data.
            hits = f"sum by ({per}) ({function}({requests}{{{matcher},$selector}}[$window]))"
            all_requests = f"sum by ({per}) ({function}({requests}{{$selector}}[$window]))"
            return f"{scale}({hits} or {all_requests} * 0)"

        buckets = f"{self.duration_metric}_bucket"
        p95 = f"histogram_quantile(0.95, sum by ({per}, le) (rate({buckets}{{$selector}}[$window])))"
        specs = [
            ("errors_5xx_per_min", counted(f'{code}=~"{self.error_codes}"', "rate", "60 * ")),
            ("rate_limited_429_per_min", counted(f'{code}="429"', "rate", "60 * ")),
            ("unauthorized_401", counted(f'{code}="401"', "increase", "")),
            ("latency_p95_seconds", p95),
        ]
        return [
            PrometheusQuery(name=name, query=query, per=per, max=thresholds.threshold(name).max,
                            unit=thresholds.threshold(name).unit)
            for name, query in specs
        ]


class CloudWatchMetric(_Bounded):
    name: str = Field(pattern=_NAME)
    metric_name: str = Field(min_length=1)
    namespace: str | None = None
    dimensions: dict[str, str] = Field(default_factory=dict)
    stat: str = "Sum"
    period: int = Field(60, ge=1)

    @field_validator("period")
    @classmethod
    def _period(cls, value: int) -> int:
        if value not in (1, 5, 10, 30) and value % 60:
            raise ValueError("period must be 1, 5, 10, 30 or a multiple of 60 seconds")
        return value


class CloudWatchSettings(_Model):
    enabled: bool = True
    namespace: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    metrics: list[CloudWatchMetric] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> CloudWatchSettings:
        if not self.enabled:
            return self
        if not self.metrics:
            raise ValueError("list at least one metric under 'metrics'")
        if any(metric.namespace is None for metric in self.metrics) and not self.namespace:
            raise ValueError("give 'namespace' (for the section or for each metric)")
        return self


class MistralCheckSettings(_Model):
    enabled: bool = False


# The analysis providers, in the order they run and report: each is a section of AnalysisSettings and a module of
# magent.services.metrics (which builds its registry from this list).
PROVIDER_NAMES = ("web", "prometheus", "cloudwatch", "mistral")


class AnalysisSettings(_Model):
    timeout: Seconds = Field(5.0, description="per provider and interval; capped below the interval")
    thresholds: ThresholdSettings = Field(default_factory=ThresholdSettings)
    statistics: StatisticsSettings = Field(default_factory=StatisticsSettings)
    web: WebSettings | None = None
    prometheus: PrometheusSettings | None = None
    cloudwatch: CloudWatchSettings | None = None
    mistral: MistralCheckSettings = Field(default_factory=MistralCheckSettings)

    def enabled_providers(self) -> list[str]:
        sections = {name: getattr(self, name) for name in PROVIDER_NAMES}
        return [name for name, section in sections.items() if section is not None and section.enabled]


@dataclass(frozen=True)
class AnalysisTarget:
    """What one analysis looks at. The API key never shows in a repr."""

    namespace: str
    deployment: str
    canary_deployment: str
    stable_version: str
    canary_version: str
    window_s: float
    analyses_per_step: int = 1  # how many analyses a step's pause makes: they share the judge's alpha
    mistral_base_url: str | None = None
    mistral_api_key: str | None = field(default=None, repr=False)

    def variables(self, window_s: float | None = None) -> dict[str, str]:
        return {
            "namespace": self.namespace,
            "deployment": self.deployment,
            "canary_deployment": self.canary_deployment,
            "stable_version": self.stable_version,
            "canary_version": self.canary_version,
            "window": promql_duration(window_s if window_s is not None else self.window_s),
        }


def analyses_per_step(pause_s: float, interval_s: float, max_inconclusive: int = 1) -> int:
    """The most analyses a step makes: one every interval of its pause (at least one), then, while the step holds
    on inconclusive results after the pause, up to `max_inconclusive` - 1 more (the pause's last analysis is the
    first of the `max_inconclusive` that abort). Each can fail the step, so all of them share its alpha."""
    holds = max(0, max_inconclusive - 1)
    if not (interval_s > 0 and math.isfinite(pause_s)):
        return 1 + holds
    return max(1, math.ceil(pause_s / interval_s - 1e-9)) + holds


def expand(text: str, variables: dict[str, str]) -> str:
    """Replace `$name` placeholders; unknown ones (and PromQL's own `$`) stay as they are."""
    return Template(text).safe_substitute(variables)


def promql_duration(seconds: float) -> str:
    """30.0 → '30s', 1.5 → '1500ms' (PromQL durations are integers of one unit)."""
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{max(1, round(seconds * 1000))}ms"


def parse_analysis(data: Any, *, aws: Any = None) -> AnalysisSettings:
    """Validate `deploy.analysis`; `aws` (AwsSettings) fills CloudWatch's region and endpoint when unset.

    Raises ConfigError (exit 2) naming the bad key, e.g. `deploy.analysis.prometheus.queries.0.max`.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{SECTION}: must be a mapping", hint=_HINT)
    try:
        settings = AnalysisSettings.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc) from None
    cloudwatch = settings.cloudwatch
    if cloudwatch is not None and aws is not None:
        settings.cloudwatch = cloudwatch.model_copy(
            update={"region": cloudwatch.region or aws.region,
                    "endpoint_url": cloudwatch.endpoint_url or aws.endpoint_url}
        )
    return settings


_HINT = "see README, 'Canary analysis (deploy.analysis)', for the keys magent knows"


def _config_error(exc: ValidationError) -> ConfigError:
    first = exc.errors()[0]
    loc = ".".join(str(part) for part in (SECTION, *first["loc"]))
    message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"].removeprefix("Value error, ")
    return ConfigError(f"{loc}: {message}", hint=_HINT)


def _require_http_url(url: str | None, key: str) -> None:
    if not url:
        raise ValueError(f"'{key}' is required (or set enabled: false)")
    if not re.match(r"^https?://[^/\s]+", url):
        raise ValueError(f"'{key}' must be an http:// or https:// URL")


__all__ = [
    "AnalysisSettings",
    "AnalysisTarget",
    "CloudWatchMetric",
    "CloudWatchSettings",
    "MistralCheckSettings",
    "PrometheusQuery",
    "PrometheusSettings",
    "StatisticsSettings",
    "ThresholdSettings",
    "WebSettings",
    "expand",
    "parse_analysis",
    "promql_duration",
]
