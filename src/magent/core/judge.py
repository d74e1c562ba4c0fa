"""The analysis judge: verdicts for metrics, absolute thresholds, and the canary-vs-stable statistics.

Pure logic, no I/O. Providers (`services/metrics/`, the Kubernetes checks) turn what they observe into
`MetricResult`s; `analyse()` combines them into one `AnalysisResult` per analysis interval:

- any FAIL → FAIL (abort the canary);
- otherwise any INCONCLUSIVE, or no result at all → INCONCLUSIVE (the step holds): no data is
  inconclusive, never a pass;
- otherwise PASS.

Statistics (scipy.stats, imported inside the functions because it costs about a second to import):

- error proportion: Fisher's exact test, one-sided ("the canary fails more often than stable");
- latency: Mann-Whitney U, one-sided ("the canary is slower"), with the Vargha-Delaney effect size
  A = U / (n_canary · n_stable), the probability that a canary request is slower than a stable one.

Both need a minimum sample per track, below which the comparison is INCONCLUSIVE, and both require a
practical difference as well as a significant one, so a large sample cannot fail a canary over a
negligible difference.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from magent.core import alert_table
from magent.core.timeutil import isoformat, utcnow


class Verdict(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class MetricResult:
    """One observation judged: `value` is None when there was no data (then the verdict is INCONCLUSIVE)."""

    provider: str
    name: str
    value: float | None
    threshold: str
    verdict: Verdict
    detail: str
    track: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict.value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetricResult:
        return cls(**{**data, "verdict": Verdict(data["verdict"])})


@dataclass(frozen=True)
class AnalysisResult:
    """The outcome of one analysis interval."""

    verdict: Verdict
    metrics: list[MetricResult]
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict.value, "at": isoformat(self.at), "metrics": [m.to_dict() for m in self.metrics]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnalysisResult:
        at = datetime.fromisoformat(str(data["at"]).replace("Z", "+00:00"))
        return cls(Verdict(data["verdict"]), [MetricResult.from_dict(m) for m in data.get("metrics", [])], at)

    @property
    def failed(self) -> list[MetricResult]:
        return [m for m in self.metrics if m.verdict is Verdict.FAIL]

    @property
    def inconclusive(self) -> list[MetricResult]:
        return [m for m in self.metrics if m.verdict is Verdict.INCONCLUSIVE]

    def summary(self) -> str:
        """One line for logs and notifications: the verdict and the metrics that decided it."""
        deciding = self.failed or self.inconclusive
        if not self.metrics:
            return f"{self.verdict.value}: no analysis data"
        if not deciding:
            return f"{self.verdict.value}: {len(self.metrics)} metrics within thresholds"
        names = ", ".join(f"{m.provider}/{m.name} ({m.detail})" for m in deciding[:3])
        more = f" and {len(deciding) - 3} more" if len(deciding) > 3 else ""
        return f"{self.verdict.value}: {names}{more}"


def combine(results: Iterable[MetricResult]) -> Verdict:
    """Any FAIL → FAIL; else any INCONCLUSIVE or no result at all → INCONCLUSIVE; else PASS."""
    verdicts = {result.verdict for result in results}
    if Verdict.FAIL in verdicts:
        return Verdict.FAIL
    if not verdicts or Verdict.INCONCLUSIVE in verdicts:
        return Verdict.INCONCLUSIVE
    return Verdict.PASS


def analyse(results: Iterable[MetricResult], at: datetime | None = None) -> AnalysisResult:
    """Combine the results of one interval (all providers, the Kubernetes checks included)."""
    metrics = list(results)
    return AnalysisResult(combine(metrics), metrics, at or utcnow())


# --- absolute thresholds ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Threshold:
    """`value <= max` and `value >= min` (either may be absent); `unit` is for display only."""

    max: float | None = None
    min: float | None = None
    unit: str = ""

    def describe(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f">= {_number(self.min)}{self.unit}")
        if self.max is not None:
            parts.append(f"<= {_number(self.max)}{self.unit}")
        return " and ".join(parts) or "any"

    def verdict(self, value: float | None) -> Verdict:
        if value is None or math.isnan(value):
            return Verdict.INCONCLUSIVE
        if self.max is not None and value > self.max:
            return Verdict.FAIL
        if self.min is not None and value < self.min:
            return Verdict.FAIL
        return Verdict.PASS


# The seed's alert table (`magent.core.alert_table`, the one source): what pages on-call also aborts a canary.
DEFAULT_THRESHOLDS: dict[str, Threshold] = {
    "errors_5xx_per_min": Threshold(max=alert_table.ERRORS_5XX_PER_MIN, unit="/min"),
    "latency_p95_seconds": Threshold(max=alert_table.LATENCY_P95_SECONDS, unit=" s"),
    "rate_limited_429_per_min": Threshold(max=alert_table.RATE_LIMITED_429_PER_MIN, unit="/min"),
    "unauthorized_401": Threshold(max=alert_table.UNAUTHORIZED_401),  # any 401
}


def check_threshold(
    provider: str,
    name: str,
    value: float | None,
    threshold: Threshold,
    *,
    track: str | None = None,
    context: str = "",
) -> MetricResult:
    """Judge one value against a threshold; None or NaN is 'no data', hence INCONCLUSIVE."""
    verdict = threshold.verdict(value)
    if verdict is Verdict.INCONCLUSIVE:
        shown, detail = None, "no data"
    else:
        shown, detail = value, f"{_number(value)}{threshold.unit}"
    if context:
        detail = f"{detail} ({context})"
    return MetricResult(provider, name, shown, threshold.describe(), verdict, detail, track)


# --- canary vs stable ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    """Settings of the statistical judge (see `analysis_config.StatisticsSettings`)."""

    alpha: float = 0.05
    min_requests: int = 50
    min_samples: int = 20
    max_error_increase: float = 0.01
    min_effect_size: float = 0.6
    max_samples: int = 50_000
    looks: int = 1  # the step's analyses sharing the configured alpha (`alpha` is already divided by it)

    def significance(self) -> str:
        """`p >= alpha`, naming the configured alpha when the step's analyses share it."""
        shared = f" ({self.alpha * self.looks:g} over {self.looks} analyses)" if self.looks > 1 else ""
        return f"p >= {self.alpha:.3g}{shared}"


@dataclass(frozen=True)
class TrackCounts:
    errors: float
    total: float

    @property
    def proportion(self) -> float:
        return self.errors / self.total if self.total else 0.0

    def describe(self) -> str:
        return f"{self.proportion:.2%} ({round(self.errors)}/{round(self.total)})"


def compare_error_rates(
    canary: TrackCounts, stable: TrackCounts, settings: Comparison = Comparison(), *, provider: str = "judge"
) -> MetricResult:
    """FAIL when the canary's error proportion is significantly (Fisher, one-sided) and materially higher."""
    name = "error_rate_vs_stable"
    threshold = f"{settings.significance()} or increase <= {settings.max_error_increase:.1%}"
    context = f"canary {canary.describe()} vs stable {stable.describe()}"
    short = _too_few(canary.total, stable.total, settings.min_requests, "requests")
    if short:
        return MetricResult(provider, name, None, threshold, Verdict.INCONCLUSIVE, f"{short}: {context}", "canary")
    from scipy.stats import fisher_exact

    c_err, c_total = _count(canary.errors, canary.total)
    s_err, s_total = _count(stable.errors, stable.total)
    _, p_value = fisher_exact([[c_err, c_total - c_err], [s_err, s_total - s_err]], alternative="greater")
    worse = canary.proportion - stable.proportion > settings.max_error_increase
    verdict = Verdict.FAIL if p_value < settings.alpha and worse else Verdict.PASS
    detail = f"{context}, p={p_value:.3g}"
    return MetricResult(provider, name, float(p_value), threshold, verdict, detail, "canary")


def compare_latencies(
    canary: Sequence[float],
    stable: Sequence[float],
    settings: Comparison = Comparison(),
    *,
    provider: str = "judge",
    describe: str = "",
) -> MetricResult:
    """FAIL when the canary is significantly slower (Mann-Whitney U, one-sided) with effect size A >= min_effect_size.

    Only ranks matter, so the samples may be bucket indices of a histogram (see `histogram_samples`).
    """
    name = "latency_vs_stable"
    threshold = f"{settings.significance()} or A < {settings.min_effect_size:g}"
    sizes = f"n={len(canary)} vs {len(stable)}"
    short = _too_few(len(canary), len(stable), settings.min_samples, "latency samples")
    if short:
        return MetricResult(provider, name, None, threshold, Verdict.INCONCLUSIVE, f"{short} ({sizes})", "canary")
    from scipy.stats import mannwhitneyu

    result = mannwhitneyu(canary, stable, alternative="greater", method="asymptotic")
    effect = float(result.statistic) / (len(canary) * len(stable))
    p_value = float(result.pvalue)
    slower = p_value < settings.alpha and effect >= settings.min_effect_size
    detail = f"P(canary slower)={effect:.2f}, p={p_value:.3g}, {sizes}{', ' + describe if describe else ''}"
    return MetricResult(provider, name, p_value, threshold, Verdict.FAIL if slower else Verdict.PASS, detail, "canary")


def histogram_samples(buckets: Mapping[float, float], max_samples: int = 50_000) -> list[int]:
    """Observations reconstructed from cumulative histogram buckets {upper bound: count} as bucket indices.

    Each observation is known only up to its bucket, so it is represented by the bucket's rank: a
    monotone coarsening that keeps the order Mann-Whitney needs (ties are corrected for). Counts from
    Prometheus' increase() are extrapolated floats, so they are rounded; a cumulative count that dips
    (extrapolation noise) adds nothing. Above `max_samples` the counts are scaled down proportionally,
    which costs power, never correctness.
    """
    bounds = sorted(buckets)
    per_bucket, previous = [], 0.0
    for bound in bounds:
        cumulative = max(buckets[bound], previous)
        per_bucket.append(cumulative - previous)
        previous = cumulative
    total = sum(per_bucket)
    scale = min(1.0, max_samples / total) if total else 1.0
    samples: list[int] = []
    for index, count in enumerate(per_bucket):
        samples.extend([index] * round(count * scale))
    return samples


def bucket_median(buckets: Mapping[float, float]) -> float | None:
    """Upper bound of the bucket holding the median observation (None without observations)."""
    bounds = sorted(buckets)
    total = max((buckets[b] for b in bounds), default=0.0)
    if total <= 0:
        return None
    return next(b for b in bounds if buckets[b] >= total / 2)


TOO_FEW_CANARY = "too few canary"  # how an inconclusive comparison starts when the canary got too little traffic


def _too_few(canary: float, stable: float, minimum: int, what: str) -> str:
    if canary < minimum:
        return f"{TOO_FEW_CANARY} {what} ({round(canary)} < {minimum})"
    if stable < minimum:
        return f"too few stable {what} ({round(stable)} < {minimum})"
    return ""


def _count(errors: float, total: float) -> tuple[int, int]:
    total_int = max(0, round(total))
    return min(max(0, round(errors)), total_int), total_int


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


__all__ = [
    "AnalysisResult",
    "Comparison",
    "DEFAULT_THRESHOLDS",
    "MetricResult",
    "Threshold",
    "TrackCounts",
    "Verdict",
    "analyse",
    "bucket_median",
    "check_threshold",
    "combine",
    "compare_error_rates",
    "compare_latencies",
    "histogram_samples",
]
