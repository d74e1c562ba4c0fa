"""`magent alerts apply` end to end against moto in server mode: creates what preflight's aws.alarms reads,
is idempotent, shows a dry-run plan, prunes only what magent manages, and validates before writing."""

from __future__ import annotations

import json
import socket
import uuid

import pytest
import yaml
from fixtures.aws import aws_client
from fixtures.preflight import run_check

from magent.core.alert_table import MANAGED_TAG


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}-"


@pytest.fixture
def alerts(cli, moto_server, tmp_path, prefix):
    """`alerts(config, *args)`: run `magent alerts ARGS` with `alerts: config` (its prefix unique per test)."""

    def run(config: dict | None, *args: str):
        config = dict(config or {})
        config["cloudwatch"] = {"prefix": prefix, **config.get("cloudwatch", {})}
        path = tmp_path / "magent.yaml"
        path.write_text(yaml.safe_dump({"alerts": config, "aws": {"endpoint_url": moto_server,
                                                                  "region": "us-east-1"}}))
        return cli("--config", str(path), "alerts", *args)

    return run


def described(endpoint: str, prefix: str) -> dict[str, dict]:
    client = aws_client(endpoint, "cloudwatch")
    alarms = client.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]
    return {a["AlarmName"]: {**a, "Tags": {t["Key"]: t["Value"] for t in client.list_tags_for_resource(
        ResourceARN=a["AlarmArn"])["Tags"]}} for a in alarms}


def check(endpoint: str, prefix: str, alerts: dict | None = None):
    settings = {"aws": {"endpoint_url": endpoint, "region": "us-east-1"},
                "alerts": {**(alerts or {}), "cloudwatch": {"prefix": prefix}}}
    return run_check("aws.alarms", settings=settings)


def test_apply_creates_what_preflight_reads_then_changes_nothing(alerts, moto_server, prefix):
    assert check(moto_server, prefix).status == "fail"
    first = alerts({}, "apply", "--yes", "-o", "json")
    assert first.exit_code == 0, first.stderr
    document = json.loads(first.stdout)
    assert document["applied"] and document["counts"]["create"] == 6
    assert f"CloudWatch alarms {prefix}* in account 123456789012, region us-east-1, endpoint {moto_server}" \
        in first.stderr
    alarms = described(moto_server, prefix)
    assert len(alarms) == 6
    api = alarms[f"{prefix}api-down"]
    assert (api["MetricName"], api["Namespace"], api["Statistic"], api["Threshold"]) == (
        "Http5xxCount", "Magent/App", "Sum", 10.0)
    assert api["Tags"][MANAGED_TAG] == "true"
    assert alarms[f"{prefix}high-latency"]["ExtendedStatistic"] == "p95"
    result = check(moto_server, prefix)
    assert result.status == "pass", result.message
    again = alerts({}, "apply", "--yes", "-o", "json")
    assert json.loads(again.stdout)["counts"] == {"create": 0, "update": 0, "delete": 0, "unchanged": 6,
                                                  "unmanaged": 0}
    assert not json.loads(again.stdout)["applied"]


def test_dry_run_shows_the_difference_and_changes_nothing(alerts, moto_server, prefix):
    assert alerts({}, "apply", "--yes").exit_code == 0
    changed = {"rules": {"api-down": {"threshold": 25}}}
    dry = alerts(changed, "apply", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    row = next(line for line in dry.stdout.splitlines() if f"{prefix}api-down" in line)
    assert row.split("│")[1].strip() == "update"
    assert "Threshold: 10 → 25" in dry.stdout
    assert "dry run: nothing changed" in dry.stdout
    assert described(moto_server, prefix)[f"{prefix}api-down"]["Threshold"] == 10.0
    plan = json.loads(alerts(changed, "apply", "--dry-run", "-o", "json").stdout)["plan"]
    api = next(item for item in plan if item["alarm"] == f"{prefix}api-down")
    assert api["action"] == "update" and api["changes"]["Threshold"] == {"from": 10.0, "to": 25.0}
    assert alerts(changed, "apply", "--yes").exit_code == 0
    assert described(moto_server, prefix)[f"{prefix}api-down"]["Threshold"] == 25.0
    assert check(moto_server, prefix, changed).status == "pass"  # preflight reads the configured table


def test_prune_deletes_only_what_magent_manages(alerts, moto_server, prefix):
    assert alerts({}, "apply", "--yes").exit_code == 0
    aws_client(moto_server, "cloudwatch").put_metric_alarm(
        AlarmName=f"{prefix}handmade", Namespace="X", MetricName="Y", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    without_cost = {"rules": {"cost-spike": {"enabled": False}}}
    kept = alerts(without_cost, "apply", "--yes", "-o", "json")
    assert json.loads(kept.stdout)["counts"]["delete"] == 0
    assert f"{prefix}cost-spike" in described(moto_server, prefix)
    pruned = alerts(without_cost, "apply", "--yes", "--prune", "-o", "json")
    assert pruned.exit_code == 0, pruned.stderr
    actions = {item["alarm"]: item["action"] for item in json.loads(pruned.stdout)["plan"]}
    assert actions[f"{prefix}cost-spike"] == "delete" and actions[f"{prefix}handmade"] == "unmanaged"
    assert set(described(moto_server, prefix)) == {f"{prefix}{name}" for name in (
        "api-down", "high-latency", "rate-limited", "auth-failures", "circuit-breaker-open", "handmade")}


def test_alarm_made_by_hand_is_adopted(alerts, moto_server, prefix):
    aws_client(moto_server, "cloudwatch").put_metric_alarm(
        AlarmName=f"{prefix}api-down", Namespace="Magent/App", MetricName="Http5xxCount", Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=50, ComparisonOperator="GreaterThanThreshold")
    assert check(moto_server, prefix, {"rules": {n: {"enabled": False} for n in (
        "high-latency", "rate-limited", "auth-failures", "circuit-breaker-open", "cost-spike")}}).status == "warn"
    result = alerts({}, "apply", "--yes", "-o", "json")
    api = next(i for i in json.loads(result.stdout)["plan"] if i["alarm"] == f"{prefix}api-down")
    assert api["action"] == "update" and {"Threshold", "Tags"} <= set(api["changes"])
    alarm = described(moto_server, prefix)[f"{prefix}api-down"]
    assert alarm["Threshold"] == 10.0 and alarm["Tags"][MANAGED_TAG] == "true"


def test_invalid_metric_math_writes_nothing(alerts, moto_server, prefix):
    bad = {"rules": {"cost-spike": {"metrics": [
        {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 60, "Stat": "Sum"}},
        {"Id": "e1", "Expression": "m1 * 2"}]}}}  # both return data (ReturnData defaults to true)
    result = alerts(bad, "apply", "--yes")
    assert result.exit_code == 2
    assert "Error: alerts.rules.cost-spike: CloudWatch would refuse the alarm" in result.stderr
    assert "ReturnData" in result.stderr and "Traceback" not in result.stderr
    assert described(moto_server, prefix) == {}


def test_bad_config_is_exit_2_naming_file_and_line(alerts):
    result = alerts({"rules": {"api-down": {"threshold": "high"}}}, "apply", "--dry-run")
    assert result.exit_code == 2
    assert "alerts.rules.api-down.threshold" in result.stderr and "magent.yaml:" in result.stderr


def test_unreachable_cloudwatch_is_exit_3(cli, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = tmp_path / "magent.yaml"
    path.write_text(yaml.safe_dump({"aws": {"endpoint_url": f"http://127.0.0.1:{port}", "region": "us-east-1"}}))
    result = cli("--config", str(path), "alerts", "apply", "--yes")
    assert result.exit_code == 3, result.stderr
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr


def test_render_cloudwatch_is_what_apply_writes(alerts, moto_server, prefix):
    rendered = json.loads(alerts({}, "render", "--format", "cloudwatch").stdout)
    assert alerts({}, "apply", "--yes").exit_code == 0
    alarms = described(moto_server, prefix)
    for request in rendered:
        alarm = alarms[request["AlarmName"]]
        for key in ("MetricName", "Namespace", "Threshold", "Period", "EvaluationPeriods", "AlarmDescription",
                    "TreatMissingData"):
            assert alarm[key] == request[key], key
