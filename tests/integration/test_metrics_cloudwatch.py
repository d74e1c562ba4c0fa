"""The CloudWatch provider against moto in server mode: PutMetricData, then GetMetricData."""

from __future__ import annotations

import uuid

import pytest
from fixtures.aws import aws_client

from magent.core.analysis_config import AnalysisTarget, parse_analysis
from magent.core.judge import Verdict
from magent.services.metrics import collect

TARGET = AnalysisTarget("shop", "agent", "agent-canary", "v1", "v2", window_s=30)


@pytest.fixture
def namespace(moto_server):
    """A fresh CloudWatch namespace holding datapoints for versions v1 (healthy) and v2 (failing)."""
    name = f"Test/{uuid.uuid4().hex[:10]}"
    client = aws_client(moto_server, "cloudwatch")
    client.put_metric_data(Namespace=name, MetricData=[
        {"MetricName": "Errors", "Dimensions": [{"Name": "Version", "Value": "v1"}], "Value": 0, "Unit": "Count"},
        {"MetricName": "Errors", "Dimensions": [{"Name": "Version", "Value": "v2"}], "Value": 7, "Unit": "Count"},
        {"MetricName": "Latency", "Dimensions": [{"Name": "Version", "Value": "v2"}], "Value": 0.4},
    ])
    return name


def _settings(endpoint: str, namespace: str, metrics: list[dict]):
    return parse_analysis({"cloudwatch": {"namespace": namespace, "region": "us-east-1", "endpoint_url": endpoint,
                                          "metrics": metrics}})


def test_metrics_judged_on_their_datapoints(moto_server, namespace):
    metrics = [
        {"name": "canary_errors", "metric_name": "Errors", "dimensions": {"Version": "$canary_version"}, "max": 0},
        {"name": "stable_errors", "metric_name": "Errors", "dimensions": {"Version": "$stable_version"}, "max": 0},
        {"name": "canary_latency", "metric_name": "Latency", "dimensions": {"Version": "v2"}, "stat": "Average",
         "max": 1, "unit": " s"},
    ]
    results = {r.name: r for r in collect(_settings(moto_server, namespace, metrics), TARGET)}
    assert (results["canary_errors"].value, results["canary_errors"].verdict) == (7, Verdict.FAIL)
    assert (results["stable_errors"].value, results["stable_errors"].verdict) == (0, Verdict.PASS)
    assert results["canary_latency"].verdict is Verdict.PASS and results["canary_latency"].threshold == "<= 1 s"
    assert "Sum of Errors over 60 s" in results["canary_errors"].detail


def test_no_datapoints_is_inconclusive(moto_server, namespace):
    metrics = [{"name": "throttles", "metric_name": "Throttles", "max": 0}]
    [result] = collect(_settings(moto_server, namespace, metrics), TARGET)
    assert result.verdict is Verdict.INCONCLUSIVE and result.value is None
    assert "no datapoints" in result.detail


def test_unreachable_endpoint_is_inconclusive(unused_tcp_url):
    [result] = collect(_settings(unused_tcp_url, "Test/x", [{"name": "e", "metric_name": "Errors", "max": 0}]),
                       TARGET)
    assert (result.provider, result.verdict) == ("cloudwatch", Verdict.INCONCLUSIVE)
    assert "unreachable" in result.detail


def test_missing_credentials_are_inconclusive_and_said_so(moto_server, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    [result] = collect(_settings(moto_server, "Test/x", [{"name": "e", "metric_name": "Errors", "max": 0}]), TARGET)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.detail == "CloudWatch not usable: Unable to locate credentials"
