"""Amazon CloudWatch: alarms and a cheap reachability probe, botocore's errors translated to magent's
(`magent.services.aws.translate_aws_error`). The analysis provider's GetMetricData lives in `metrics`.

boto3 is imported inside the functions.
"""

from __future__ import annotations

import time
from datetime import datetime
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


# --- alarms written by `magent alerts apply` -------------------------------------------------------------


def managed_alarms(prefix: str, tag: str, *, client: Any, endpoint_url: str | None = None) -> dict[str, dict]:
    """Alarms named `prefix*`, each with its tags under "Tags" (a dict), and whether `tag` marks it "Managed"."""
    from botocore.exceptions import BotoCoreError, ClientError

    alarms = describe_alarms(prefix, client=client, endpoint_url=endpoint_url)
    for name, alarm in alarms.items():
        try:
            tags = client.list_tags_for_resource(ResourceARN=alarm["AlarmArn"]).get("Tags", [])
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, f"the tags of alarm {name}", endpoint_url, "cloudwatch:ListTagsForResource") from exc
        alarm["Tags"] = {t["Key"]: t["Value"] for t in tags}
        alarm["Managed"] = alarm["Tags"].get(tag) == "true"
    return alarms


def put_alarm(request: dict[str, Any], *, client: Any, tag_existing: bool = False,
              endpoint_url: str | None = None) -> None:
    """PutMetricAlarm; for an alarm that exists, its Tags are set with TagResource (PutMetricAlarm ignores them)."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = request["AlarmName"]
    try:
        client.put_metric_alarm(**request)
        if tag_existing and request.get("Tags"):
            arn = client.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
            client.tag_resource(ResourceARN=arn, Tags=request["Tags"])
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, f"alarm {name}", endpoint_url, "cloudwatch:PutMetricAlarm, cloudwatch:TagResource") \
            from exc


def delete_alarms(names: list[str], *, client: Any, endpoint_url: str | None = None) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    for start in range(0, len(names), 100):  # DeleteAlarms takes at most 100 names
        try:
            client.delete_alarms(AlarmNames=names[start:start + 100])
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, f"alarms {', '.join(names)}", endpoint_url, "cloudwatch:DeleteAlarms") from exc


def put_metric_data(namespace: str, datums: list[dict[str, Any]], *, client: Any,
                    endpoint_url: str | None = None) -> int:
    """PutMetricData in batches of 1000 (the API's limit); returns the datapoints sent."""
    from botocore.exceptions import BotoCoreError, ClientError

    for start in range(0, len(datums), 1000):
        try:
            client.put_metric_data(Namespace=namespace, MetricData=datums[start:start + 1000])
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, f"metrics of {namespace}", endpoint_url, "cloudwatch:PutMetricData") from exc
    return len(datums)


def target_group_metrics(client: Any, *, load_balancer: str, target_group: str, start: datetime, end: datetime,
                         latency_stat: str, endpoint_url: str | None = None) -> dict[str, float | None]:
    """What an ALB says of one target group between `start` and `end` (AWS/ApplicationELB, 1-minute periods):
    `requests` and `errors_5xx` summed, `latency` the `latency_stat` (p95, Average…) of TargetResponseTime of
    the latest minute. The dimensions are the ARNs' suffixes (`app/NAME/ID`, `targetgroup/NAME/ID`), as the ALB
    publishes them. None: no datapoint."""
    from botocore.exceptions import BotoCoreError, ClientError

    dimensions = [{"Name": "LoadBalancer", "Value": load_balancer.split(":loadbalancer/", 1)[-1]},
                  {"Name": "TargetGroup", "Value": target_group.rsplit(":", 1)[-1]}]

    def query(query_id: str, metric: str, stat: str) -> dict[str, Any]:
        return {"Id": query_id, "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": metric, "Dimensions": dimensions},
            "Period": 60, "Stat": stat}}

    queries = [query("requests", "RequestCount", "Sum"), query("errors_5xx", "HTTPCode_Target_5XX_Count", "Sum"),
               query("latency", "TargetResponseTime", latency_stat)]
    try:
        answer = client.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end,
                                        ScanBy="TimestampDescending")
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, f"the ALB metrics of {target_group}", endpoint_url, "cloudwatch:GetMetricData") from exc
    found = {item["Id"]: [v for v in item.get("Values", []) if v is not None] for item in answer["MetricDataResults"]}
    sums = {name: (float(sum(found[name])) if found.get(name) else None) for name in ("requests", "errors_5xx")}
    return {**sums, "latency": float(found["latency"][0]) if found.get("latency") else None}


def caller_account(*, region: str | None = None, endpoint_url: str | None = None, timeout_s: float = 10.0) -> str:
    """The AWS account id the credentials act in (STS GetCallerIdentity), printed before changing alarms."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    config = Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 2, "mode": "standard"})
    try:
        sts = boto3.session.Session().client("sts", region_name=region, endpoint_url=endpoint_url, config=config)
        return str(sts.get_caller_identity()["Account"])
    except (ClientError, BotoCoreError) as exc:
        raise translate_aws_error(exc, "the caller identity", endpoint_url, service="STS",
                                  permission="sts:GetCallerIdentity") from exc


class AlarmStore:
    """The alarms of one account and region, as `magent.workflows.alerts` reads and writes them."""

    def __init__(self, *, region: str | None = None, endpoint_url: str | None = None, client: Any = None,
                 timeout_s: float = 10.0) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.client = client or cloudwatch_client(region=region, endpoint_url=endpoint_url, timeout_s=timeout_s)

    def existing(self, prefix: str, tag: str) -> dict[str, dict]:
        return managed_alarms(prefix, tag, client=self.client, endpoint_url=self.endpoint_url)

    def put(self, request: dict[str, Any], *, exists: bool) -> None:
        put_alarm(request, client=self.client, tag_existing=exists, endpoint_url=self.endpoint_url)

    def delete(self, names: list[str]) -> None:
        delete_alarms(names, client=self.client, endpoint_url=self.endpoint_url)
