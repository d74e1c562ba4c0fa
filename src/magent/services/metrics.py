"""Analysis providers for `magent deploy`: web health, Prometheus, CloudWatch, the Mistral API.

`collect(settings, target)` runs every enabled provider concurrently, each under a timeout shorter than
the analysis interval, and returns plain `MetricResult`s for `core.judge.analyse()` (together with the
Kubernetes checks). A provider never raises: an unreachable or refusing backend is an INCONCLUSIVE result
that says why, so the step holds instead of passing on missing data.

    settings = parse_analysis(app_settings.deploy.analysis, aws=app_settings.aws)
    prepare(settings)                                   # once, at deploy start: heavy imports in background
    results = collect(settings, target, interval_s=30)  # every interval; within min(timeout, 15 s) + 0.25 s
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from magent.core.analysis_config import AnalysisSettings, AnalysisTarget, CloudWatchMetric, expand
from magent.core.judge import MetricResult, Verdict, check_threshold
from magent.core.redact import SECRETS, mask_url
from magent.core.timeutil import isoformat, utcnow

log = logging.getLogger(__name__)

Provider = Callable[[AnalysisSettings, AnalysisTarget, float], list[MetricResult]]

# Providers get at most this share of the interval, so a verdict is always ready before the next one.
_INTERVAL_SHARE = 0.5
_GRACE_S = 0.25
_MAX_DETAIL = 200
_AWS_CREDENTIAL_VARIABLES = (
    "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_EC2_METADATA_DISABLED",
)


def collect(
    settings: AnalysisSettings, target: AnalysisTarget, *, interval_s: float | None = None
) -> list[MetricResult]:
    """Results of every enabled provider, concurrently; returns within `provider_timeout()` + 0.25 s."""
    timeout = provider_timeout(settings, interval_s)
    answers: dict[str, list[MetricResult]] = {}
    # Daemon threads, not an executor: a provider stuck past its timeout must hold neither the deploy nor exit.
    threads = [
        threading.Thread(target=_run, args=(name, settings, target, timeout, answers), name=f"magent-analysis-{name}",
                         daemon=True)
        for name in settings.enabled_providers()
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout + _GRACE_S
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    results: list[MetricResult] = []
    for name in settings.enabled_providers():
        results.extend(answers[name] if name in answers else [unavailable(name, f"no answer within {timeout:g} s")])
    return results


def provider_timeout(settings: AnalysisSettings, interval_s: float | None) -> float:
    """The configured per-provider timeout, capped at half the analysis interval."""
    if interval_s is None:
        return settings.timeout
    return max(0.1, min(settings.timeout, interval_s * _INTERVAL_SHARE))


def prepare(settings: AnalysisSettings) -> threading.Thread:
    """Import the heavy libraries the enabled providers need in a background thread (scipy alone takes ~1 s)."""
    modules = ["httpx", "scipy.stats"]
    if settings.cloudwatch is not None and settings.cloudwatch.enabled:
        modules.append("boto3")
    if settings.mistral.enabled:
        modules.append("mistralai.client")

    def load() -> None:
        import importlib

        for module in modules:
            try:
                importlib.import_module(module)
            except ImportError as exc:  # reported by the provider itself when it runs
                log.debug("cannot preload %s: %s", module, exc)
        ssl_context()

    thread = threading.Thread(target=load, name="magent-analysis-preload", daemon=True)
    thread.start()
    return thread


@functools.lru_cache(maxsize=1)
def ssl_context() -> Any:
    """One TLS context for every analysis HTTP client: httpx builds (and reads the CA bundle for) one per client
    otherwise, ~100 ms each time, which an analysis every few seconds cannot afford."""
    import httpx

    return httpx.create_ssl_context()


def unavailable(provider: str, reason: str, name: str = "available") -> MetricResult:
    """The INCONCLUSIVE result of a provider that could not look."""
    return MetricResult(provider, name, None, "answers", Verdict.INCONCLUSIVE, _one_line(reason))


def _run(
    name: str,
    settings: AnalysisSettings,
    target: AnalysisTarget,
    timeout: float,
    answers: dict[str, list[MetricResult]],
) -> None:
    try:
        answers[name] = PROVIDERS[name](settings, target, timeout)
    except Exception as exc:  # a provider bug or an SDK surprise must never stop the deploy
        log.warning("analysis provider %s failed: %s", name, SECRETS.mask(f"{type(exc).__name__}: {exc}"))
        answers[name] = [unavailable(name, f"{type(exc).__name__}: {exc}")]


# --- web -------------------------------------------------------------------------------------------

def web(settings: AnalysisSettings, target: AnalysisTarget, timeout: float) -> list[MetricResult]:
    """GET the health URL: the status code, then the value at `json_path`."""
    import httpx

    check = settings.web
    assert check is not None and check.url
    url = expand(check.url, target.variables())
    shown = mask_url(url)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, verify=ssl_context()) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        return [unavailable("web", f"{shown} unreachable: {type(exc).__name__}: {exc}", "status_code")]
    ok = response.status_code == check.expect_status
    results = [MetricResult("web", "status_code", float(response.status_code), f"== {check.expect_status}",
                            Verdict.PASS if ok else Verdict.FAIL, f"HTTP {response.status_code} from {shown}")]
    if check.json_path:
        results.append(_json_check(response.text, check.json_path, check.expect))
    return results


def _json_check(body: str, path: str, expect: Any) -> MetricResult:
    threshold = f"{path} == {json.dumps(expect)}"
    try:
        value: Any = json.loads(body)
        for part in path.split("."):
            value = value[int(part)] if isinstance(value, list) else value[part]
    except ValueError:
        return MetricResult("web", path, None, threshold, Verdict.FAIL, f"not JSON: {_one_line(body[:80])!r}")
    except (KeyError, IndexError, TypeError):
        return MetricResult("web", path, None, threshold, Verdict.FAIL, f"{path} missing from the response")
    matches = value == expect or (not isinstance(value, str) and json.dumps(value) == str(expect))
    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    detail = f"{path} = {json.dumps(value)[:80]}"
    return MetricResult("web", path, number, threshold, Verdict.PASS if matches else Verdict.FAIL, detail)


# --- prometheus ------------------------------------------------------------------------------------

def prometheus(settings: AnalysisSettings, target: AnalysisTarget, timeout: float) -> list[MetricResult]:
    from magent.services import prometheus as provider

    return provider.check(settings, target, timeout)


# --- cloudwatch ------------------------------------------------------------------------------------

def cloudwatch(settings: AnalysisSettings, target: AnalysisTarget, timeout: float) -> list[MetricResult]:
    """One GetMetricData call for every metric; each judged on its most recent datapoint."""
    from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    section = settings.cloudwatch
    assert section is not None
    variables = target.variables()
    queries = [_metric_query(f"m{index}", metric, section.namespace, variables)
               for index, metric in enumerate(section.metrics)]
    start, end = _aligned_window(target.window_s, max(metric.period for metric in section.metrics))
    try:
        client = _cloudwatch_client(section.region, section.endpoint_url, timeout, _aws_environment())
        answer = client.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end,
                                        ScanBy="TimestampDescending")
    except ClientError as exc:
        error = exc.response.get("Error", {})
        reason = f"{error.get('Code', 'error')}: {error.get('Message', '')}"
        return [unavailable("cloudwatch", f"GetMetricData refused: {reason}")]
    except (BotoConnectionError, HTTPClientError) as exc:
        return [unavailable("cloudwatch", f"CloudWatch unreachable: {exc}")]
    except BotoCoreError as exc:  # no credentials, no region, …
        return [unavailable("cloudwatch", f"CloudWatch not usable: {exc}")]
    found = {item["Id"]: item for item in answer.get("MetricDataResults", [])}
    return [_cloudwatch_result(metric, found.get(f"m{index}")) for index, metric in enumerate(section.metrics)]


@functools.lru_cache(maxsize=8)
def _cloudwatch_client(region: str | None, endpoint_url: str | None, timeout: float, environment: int) -> Any:
    """One client per place and credential environment: building one costs ~100 ms, reusing it ~0. Refreshable
    credentials (SSO, web identity, instance roles) refresh inside the client; static ones change with `environment`."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1, "mode": "standard"})
    return boto3.session.Session().client("cloudwatch", region_name=region, endpoint_url=endpoint_url, config=config)


def _aws_environment() -> int:
    return hash(tuple(os.environ.get(name) for name in _AWS_CREDENTIAL_VARIABLES))


def _aligned_window(window_s: float, period: int) -> tuple[datetime, datetime]:
    """Whole periods (CloudWatch's advice) from one period before the window to the end of the current one,
    so the latest, still filling period is included and late datapoints of the previous one too."""
    now = utcnow().timestamp()
    end = math.ceil(now / period) * period
    start = end - (math.ceil(window_s / period) + 1) * period
    return datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)


def _metric_query(query_id: str, metric: CloudWatchMetric, namespace: str | None, variables: dict[str, str]) -> dict:
    dimensions = [{"Name": name, "Value": expand(value, variables)} for name, value in metric.dimensions.items()]
    stat = {"Metric": {"Namespace": metric.namespace or namespace, "MetricName": metric.metric_name,
                       "Dimensions": dimensions}, "Period": metric.period, "Stat": metric.stat}
    return {"Id": query_id, "MetricStat": stat, "ReturnData": True}


def _cloudwatch_result(metric: CloudWatchMetric, item: dict | None) -> MetricResult:
    if item is None or not item.get("Values"):
        messages = "; ".join(m.get("Value", "") for m in (item or {}).get("Messages", []))
        return check_threshold("cloudwatch", metric.name, None, metric.threshold(),
                               context=messages or f"{metric.metric_name} has no datapoints in the window")
    latest = max(zip(item["Timestamps"], item["Values"]), key=lambda pair: pair[0])
    context = f"{metric.stat} of {metric.metric_name} over {metric.period} s at {isoformat(latest[0])}"
    return check_threshold("cloudwatch", metric.name, float(latest[1]), metric.threshold(), context=context)


# --- mistral ---------------------------------------------------------------------------------------

def mistral(settings: AnalysisSettings, target: AnalysisTarget, timeout: float) -> list[MetricResult]:
    """List models with the SDK: a refused key fails the step; an outage or a rate limit holds it."""
    threshold = "models listed"
    if not target.mistral_base_url or not target.mistral_api_key:
        return [unavailable("mistral", "no Mistral base URL or API key for the analysis", "api")]
    from magent.services.mistral.client import AUTH, FORBIDDEN, describe_failure

    started = time.monotonic()
    try:
        client = _mistral_client(target.mistral_base_url, target.mistral_api_key, timeout)
        models = client.models.list()
    except Exception as exc:
        failure = describe_failure(exc)
        status = f"HTTP {failure.status}: " if failure.status else ""
        verdict = Verdict.FAIL if failure.kind in (AUTH, FORBIDDEN) else Verdict.INCONCLUSIVE
        return [MetricResult("mistral", "api", None, threshold, verdict, _one_line(f"{status}{failure.message}"))]
    elapsed = time.monotonic() - started
    count = len(models.data or [])
    return [MetricResult("mistral", "api", round(elapsed, 3), threshold, Verdict.PASS,
                         f"{count} models in {elapsed:.2f} s from {mask_url(target.mistral_base_url)}")]


@functools.lru_cache(maxsize=4)
def _mistral_client(base_url: str, api_key: str, timeout: float) -> Any:
    """Kept for the whole deploy: building the SDK client (and its HTTP client) every interval costs ~100 ms."""
    from magent.services.mistral.client import make_client

    return make_client(base_url, api_key, timeout_s=timeout)


def _one_line(text: str) -> str:
    line = " ".join(SECRETS.mask(text).split())
    return line if len(line) <= _MAX_DETAIL else line[: _MAX_DETAIL - 1] + "…"


PROVIDERS: dict[str, Provider] = {"web": web, "prometheus": prometheus, "cloudwatch": cloudwatch, "mistral": mistral}
