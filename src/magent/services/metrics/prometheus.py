"""The Prometheus analysis provider: instant queries through the HTTP API (`/api/v1/query`) with httpx.

Every query of one analysis runs concurrently (asyncio + httpx.AsyncClient) under one timeout. An
outage never raises: each query then gives an INCONCLUSIVE result naming the reason.

Canary vs stable. The absolute thresholds judge the canary's own series (`per: track`). The
statistical judge needs raw observations, which Prometheus does not keep, so:

- errors: `increase()` of the request counter over the window, per track → counts for Fisher's test;
- latency: `increase()` of each histogram bucket over the window, per track and `le` → the number of
  requests per bucket. Each request is known to its bucket, which is all Mann-Whitney U needs: it is a
  rank test, and bucketing is a monotone coarsening (tied ranks, corrected for). This uses every request
  of the window, unlike comparing a handful of per-interval p95s, which would have little power and
  depend on scrape timing.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field

from magent.core.analysis_config import AnalysisSettings, AnalysisTarget, PrometheusQuery, PrometheusSettings, expand
from magent.core.judge import (
    MetricResult,
    TrackCounts,
    Verdict,
    bucket_median,
    check_threshold,
    compare_error_rates,
    compare_latencies,
    histogram_samples,
)
from magent.core.redact import mask_url, one_line
from magent.services.metrics.common import ssl_context

PROVIDER = "prometheus"


@dataclass(frozen=True)
class Answer:
    """One query's instant vector as (labels, value) pairs, or the reason there is none."""

    series: list[tuple[dict[str, str], float]] = field(default_factory=list)
    error: str | None = None


def check(settings: AnalysisSettings, target: AnalysisTarget, timeout_s: float) -> list[MetricResult]:
    """Run the threshold queries (and the canary-vs-stable comparison) for one analysis interval."""
    prom = settings.prometheus
    assert prom is not None
    window = max(target.window_s, prom.min_window)
    variables = target.variables(window)
    variables["selector"] = expand(prom.selector, variables)
    queries = prom.effective_queries(settings.thresholds)
    texts = {query.name: query.query for query in queries}
    compare = prom.compare and settings.statistics.enabled
    if compare:
        texts.update(prom.comparison_queries())
    # $selector first: it may itself hold $namespace and friends.
    selector_only = {"selector": variables["selector"]}
    rendered = {name: expand(expand(text, selector_only), variables) for name, text in texts.items()}
    answers = asyncio.run(query_all(prom.url or "", rendered, timeout_s))
    results = [judge_query(query, answers[query.name], prom, target) for query in queries]
    if compare:
        results += compare_tracks(answers, prom, settings, looks=target.analyses_per_step)
    return results


async def query_all(base_url: str, queries: dict[str, str], timeout_s: float) -> dict[str, Answer]:
    """{name: PromQL} → {name: Answer}, all at once, each within `timeout_s`."""
    import httpx

    async with httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s, verify=ssl_context()) as client:
        names = list(queries)
        answers = await asyncio.gather(*(instant_query(client, queries[name]) for name in names))
    return dict(zip(names, answers))


async def instant_query(client, query: str) -> Answer:
    import httpx

    try:
        response = await client.get("/api/v1/query", params={"query": query})
    except httpx.TimeoutException as exc:
        return Answer(error=f"{_where(client)} timed out ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return Answer(error=f"{_where(client)} unreachable: {one_line(str(exc) or type(exc).__name__)}")
    try:
        document = response.json()
    except ValueError:
        return Answer(error=f"{_where(client)} answered HTTP {response.status_code} without JSON")
    if document.get("status") != "success":
        reason = f"{document.get('errorType', 'error')}: {document.get('error', '')}"
        return Answer(error=f"query failed (HTTP {response.status_code}) {one_line(reason)}")
    return _parse_data(document.get("data") or {})


def _parse_data(data: dict) -> Answer:
    kind, result = data.get("resultType"), data.get("result")
    if kind == "vector":
        return Answer([(item.get("metric", {}), _float(item["value"][1])) for item in result or []])
    if kind == "scalar":
        return Answer([({}, _float(result[1]))])
    return Answer(error=f"the query returned a {kind}, not an instant vector")


def judge_query(
    query: PrometheusQuery, answer: Answer, prom: PrometheusSettings, target: AnalysisTarget
) -> MetricResult:
    """The canary's series (with `per`) or the worst series, against the query's threshold."""
    threshold = query.threshold()
    if answer.error:
        return _inconclusive(query.name, threshold.describe(), answer.error)
    if query.per:
        canary = prom.canary_track if query.per == prom.track_label else target.canary_version
        mine = [value for labels, value in answer.series if labels.get(query.per) == canary]
        others = [f"{labels.get(query.per, '?')} {_show(value)}" for labels, value in answer.series
                  if labels.get(query.per) != canary]
        value = mine[0] if mine else None
        context = ", ".join(others) if mine else f"no series with {query.per}={canary}"
        return check_threshold(PROVIDER, query.name, value, threshold, track=canary, context=context)
    values = [(labels, value) for labels, value in answer.series if not math.isnan(value)]
    if not values:
        return check_threshold(PROVIDER, query.name, None, threshold, context="empty result")
    pick = max if query.max is not None else min
    labels, worst = pick(values, key=lambda pair: pair[1])
    context = _labels(labels) if len(values) > 1 else ""
    return check_threshold(PROVIDER, query.name, worst, threshold, context=context)


def compare_tracks(
    answers: dict[str, Answer], prom: PrometheusSettings, settings: AnalysisSettings, *, looks: int = 1
) -> list[MetricResult]:
    """Canary vs stable: error proportion (Fisher) and latency distribution (Mann-Whitney U), at the alpha each
    of the step's `looks` analyses gets."""
    comparison = settings.statistics.comparison(looks)
    results = []
    failed = answers["compare_requests"].error or answers["compare_errors"].error
    if failed:
        results.append(_inconclusive("error_rate_vs_stable", "canary vs stable", failed))
    else:
        totals = _by_track(answers["compare_requests"], prom.track_label)
        errors = _by_track(answers["compare_errors"], prom.track_label)
        canary, stable = (TrackCounts(errors.get(track, 0.0), totals.get(track, 0.0))
                          for track in (prom.canary_track, prom.stable_track))
        results.append(compare_error_rates(canary, stable, comparison, provider=PROVIDER))
    buckets = answers["compare_latency_buckets"]
    if buckets.error:
        results.append(_inconclusive("latency_vs_stable", "canary vs stable", buckets.error))
    else:
        canary_b, stable_b = (_buckets(buckets, prom.track_label, t) for t in (prom.canary_track, prom.stable_track))
        medians = f"median <= {_show(bucket_median(canary_b))} s vs <= {_show(bucket_median(stable_b))} s"
        results.append(compare_latencies(
            histogram_samples(canary_b, comparison.max_samples), histogram_samples(stable_b, comparison.max_samples),
            comparison, provider=PROVIDER, describe=medians,
        ))
    return results


def _by_track(answer: Answer, label: str) -> dict[str, float]:
    return {labels.get(label, ""): value for labels, value in answer.series if not math.isnan(value)}


def _buckets(answer: Answer, label: str, track: str) -> dict[float, float]:
    found = {}
    for labels, value in answer.series:
        if labels.get(label) == track and "le" in labels and not math.isnan(value):
            found[_float(labels["le"])] = value
    return found


def _inconclusive(name: str, threshold: str, reason: str) -> MetricResult:
    return MetricResult(PROVIDER, name, None, threshold, Verdict.INCONCLUSIVE, reason)


def _where(client) -> str:
    return f"Prometheus at {mask_url(str(client.base_url))}"


def _float(text: str) -> float:
    return float(text)  # Prometheus writes NaN, +Inf and -Inf in forms float() reads


def _show(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _labels(labels: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__") + "}"
