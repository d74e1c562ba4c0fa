"""The `cloudwatch` provider: one GetMetricData call per analysis, each metric judged on its latest datapoint."""

from __future__ import annotations

import functools
import math
import os
from datetime import UTC, datetime
from typing import Any

from magent.core.analysis_config import AnalysisSettings, AnalysisTarget, CloudWatchMetric, expand
from magent.core.judge import MetricResult, check_threshold
from magent.core.timeutil import isoformat, utcnow
from magent.services.metrics.common import unavailable

_AWS_CREDENTIAL_VARIABLES = (
    "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_EC2_METADATA_DISABLED",
)



def check(settings: AnalysisSettings, target: AnalysisTarget, timeout: float) -> list[MetricResult]:
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
