"""An ALB's view of an ECS service, for the moto sandbox: moto runs no tasks and serves no requests, so this
plays the load balancer. Every tick it reads the listener's forward weights, splits `requests_per_s` between
the target groups by weight, lets the version each group's service runs answer them (the image tag's
behaviour, as in `agentapp`: `-5xx` answers 30 % 5xx, `-slow` is slow), and publishes what the real ALB would
to CloudWatch: RequestCount, HTTPCode_Target_5XX_Count and TargetResponseTime per target group, in
AWS/ApplicationELB with the LoadBalancer and TargetGroup dimensions.

    with AlbTraffic(endpoint_url, cluster, listener_arn, requests_per_s=200):
        ...   # a deploy on ECS sees the canary's own metrics
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterator
from typing import Any

from magent.sandbox.agentapp import Behaviour, TrackPods, behaviour_for_tag

NAMESPACE = "AWS/ApplicationELB"
_LATENCY_SIGMA = 0.3
# moto keeps every value as a datum and scans them all per query: a sample keeps a long-running sandbox light
_LATENCY_SAMPLES = 20


class AlbTraffic:
    def __init__(self, endpoint_url: str, cluster: str, listener_arn: str, *, requests_per_s: float = 200.0,
                 tick_s: float = 0.5, region: str = "us-east-1", seed: int = 7) -> None:
        import boto3

        def client(name: str) -> Any:
            return boto3.client(name, endpoint_url=endpoint_url, region_name=region,
                                aws_access_key_id="testing", aws_secret_access_key="testing")

        self.ecs, self.elbv2, self.cloudwatch = client("ecs"), client("elbv2"), client("cloudwatch")
        self.cluster, self.listener_arn = cluster, listener_arn
        self.requests_per_s, self.tick_s = requests_per_s, tick_s
        self._random = random.Random(seed)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.published = 0
        # What the listener sends where, as the sample app's traffic source reads it (`tracks()`): an ECS deploy
        # is then judged on Prometheus like a Kubernetes one (service `<name>-canary` is the canary track).
        self._tracks: list[TrackPods] = []

    def tracks(self) -> list[TrackPods]:
        return list(self._tracks)

    def __enter__(self) -> AlbTraffic:
        self._thread = threading.Thread(target=self._loop, name="alb-traffic", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stopping.wait(self.tick_s):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - a service deleted mid-tick: the next tick sees the new world
                continue

    def tick(self) -> None:
        listener = self.elbv2.describe_listeners(ListenerArns=[self.listener_arn])["Listeners"][0]
        balancer = listener["LoadBalancerArn"].split(":loadbalancer/", 1)[-1]
        weights = dict(self._weights(listener))
        total = sum(weights.values())
        services = list(self._versions())
        versions = {group: tag for group, tag, _ in services}
        self._tracks = [TrackPods("canary" if name.endswith("-canary") else "stable", tag, running,
                                  weights.get(group, 0) / total if total else 0.0)
                        for group, tag, (name, running) in services if weights.get(group)]
        data = []
        for group, weight in weights.items():
            tag = versions.get(group)
            if not weight or tag is None:
                continue
            count = int(round(self.requests_per_s * self.tick_s * weight / total))
            data.extend(self._datums(balancer, group, behaviour_for_tag(tag, Behaviour()), count))
        if data:
            self.cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)
            self.published += 1

    def _weights(self, listener: dict[str, Any]) -> Iterator[tuple[str, int]]:
        for action in listener.get("DefaultActions", []):
            groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
            if groups:
                yield from ((g["TargetGroupArn"], int(g.get("Weight", 1))) for g in groups)
            elif action.get("TargetGroupArn"):
                yield action["TargetGroupArn"], 1

    def _versions(self) -> Iterator[tuple[str, str, tuple[str, int]]]:
        """Target group → the image tag of the service registered in it, and its (name, running tasks)."""
        arns = self.ecs.list_services(cluster=self.cluster)["serviceArns"]
        if not arns:
            return
        for service in self.ecs.describe_services(cluster=self.cluster, services=arns)["services"]:
            if service.get("status") != "ACTIVE" or not service.get("runningCount"):
                continue
            definition = self.ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
            image = definition["containerDefinitions"][0]["image"]
            tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else "latest"
            for balancer in service.get("loadBalancers", []):
                yield balancer["targetGroupArn"], tag, (service["serviceName"], service["runningCount"])

    def _datums(self, balancer: str, group: str, behaviour: Behaviour, count: int) -> list[dict[str, Any]]:
        if count <= 0:
            return []
        dimensions = [{"Name": "LoadBalancer", "Value": balancer},
                      {"Name": "TargetGroup", "Value": group.rsplit(":", 1)[-1]}]
        errors = sum(self._random.random() < behaviour.error_rate for _ in range(count))
        median = max(behaviour.latency_s, 1e-4)
        latencies = [round(self._random.lognormvariate(math.log(median), _LATENCY_SIGMA), 4) for _ in range(count)]
        return [
            {"MetricName": "RequestCount", "Dimensions": dimensions, "Value": float(count), "Unit": "Count"},
            {"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": dimensions, "Value": float(errors),
             "Unit": "Count"},
            {"MetricName": "TargetResponseTime", "Dimensions": dimensions, "Values": latencies[:_LATENCY_SAMPLES],
             "Unit": "Seconds"},
        ]
