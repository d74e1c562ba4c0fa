"""Amazon CloudWatch: alarms and a cheap reachability probe, botocore's errors translated to magent's
(`magent.services.aws.translate_aws_error`). The analysis provider's GetMetricData lives in `metrics`.

boto3 is imported inside the functions.
"""

from __future__ import annotations

import time
from typing import Any

from magent.services.aws import translate_aws_error

_SERVICE = "CloudWatch"


def cloudwatch_client(*, region: str | None = None, endpoint_url: str | None = None, timeout_s: float = 10.0) -> Any:
    """A boto3 CloudWatch client with short timeouts and one retry (a preflight must not hang)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    config = Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 2, "mode": "standard"})
    try:
        return boto3.session.Session().client("cloudwatch", region_name=region, endpoint_url=endpoint_url,
                                              config=config)
    except BotoCoreError as exc:
        raise _translate(exc, "the CloudWatch client", endpoint_url, "cloudwatch:DescribeAlarms") from exc


def describe_alarms(prefix: str, *, region: str | None = None, endpoint_url: str | None = None,
                    client: Any = None, timeout_s: float = 10.0) -> dict[str, dict]:
    """Metric alarms whose name starts with `prefix`, by name (every page)."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = client or cloudwatch_client(region=region, endpoint_url=endpoint_url, timeout_s=timeout_s)
    alarms: dict[str, dict] = {}
    try:
        pages = client.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"])
        for page in pages:
            alarms.update({alarm["AlarmName"]: alarm for alarm in page.get("MetricAlarms", [])})
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, f"alarms {prefix}*", endpoint_url, "cloudwatch:DescribeAlarms") from exc
    return alarms


def probe_metrics(namespace: str | None, *, region: str | None = None, endpoint_url: str | None = None,
                  timeout_s: float = 5.0) -> tuple[int, float]:
    """One ListMetrics page (of `namespace`): (metrics on that page, seconds). Raises Unreachable and friends."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = cloudwatch_client(region=region, endpoint_url=endpoint_url, timeout_s=timeout_s)
    started = time.monotonic()
    try:
        answer = client.list_metrics(**({"Namespace": namespace} if namespace else {}))
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, f"metrics of {namespace or 'any namespace'}", endpoint_url,
                         "cloudwatch:ListMetrics") from exc
    return len(answer.get("Metrics", [])), time.monotonic() - started


def _translate(exc: Exception, what: str, endpoint_url: str | None, permission: str) -> Any:
    return translate_aws_error(exc, what, endpoint_url, service=_SERVICE, permission=permission)
