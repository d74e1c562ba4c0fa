"""aws.key-in-vault and aws.alarms against a moto server (Secrets Manager, Lambda, CloudWatch over HTTP)."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import pytest
from fixtures.aws import aws_client, create_secret
from fixtures.preflight import PreflightOptions, run_check

from magent.core.alert_table import ALERT_TABLE

KEY = "VaultKey5pQ2vX9mR4tL8wZ3nB6yC1dF"


def closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def settings(endpoint: str) -> dict:
    return {"aws": {"endpoint_url": endpoint, "region": "us-east-1"}}


def vault(endpoint: str, *, key_from: list[str] | None = None, secret_id: str | None = None,
          params: dict | None = None, mistral_key_from: list[str] | None = None):
    config = settings(endpoint)
    if mistral_key_from is not None:
        config["mistral"] = {"key_from": mistral_key_from}
    options = PreflightOptions(key_from=key_from or [], secret_id=secret_id)
    return run_check("aws.key-in-vault", params=params, options=options, settings=config)


def enable_rotation(endpoint: str, secret: str) -> None:
    """A real rotation setup in moto: a Lambda function (never invoked: RotateImmediately=False)."""
    role = aws_client(endpoint, "iam").create_role(
        RoleName=f"rot-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps({}))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("rotate.py", "def handler(event, context):\n    pass\n")
    function = aws_client(endpoint, "lambda").create_function(
        FunctionName=f"rot-{uuid.uuid4().hex[:8]}", Runtime="python3.12", Role=role, Handler="rotate.handler",
        Code={"ZipFile": code.getvalue()})["FunctionArn"]
    aws_client(endpoint, "secretsmanager").rotate_secret(
        SecretId=secret, RotationLambdaARN=function, RotationRules={"AutomaticallyAfterDays": 30},
        RotateImmediately=False)


def test_key_in_vault_with_rotation_passes(moto_server):
    name = create_secret(moto_server, KEY)
    enable_rotation(moto_server, name)
    result = vault(moto_server, key_from=[f"aws:{name}"])
    assert result.status == "pass", result.message
    assert "rotation enabled every 30 days" in result.message
    assert KEY not in result.message


def test_json_secret_with_field_and_secret_id(moto_server):
    name = create_secret(moto_server, json.dumps({"api_key": KEY}))
    result = vault(moto_server, secret_id=name, key_from=[f"aws:{name}#api_key"],
                   params={"rotation_waiver": "rotated by hand every quarter (ticket OPS-12)"})
    assert result.status == "pass", result.message
    assert "rotation not configured: rotated by hand every quarter" in result.message
    missing_field = vault(moto_server, key_from=[f"aws:{name}#token"])
    assert missing_field.status == "fail"
    assert "no field #token" in missing_field.message


def test_rotation_not_configured_fails(moto_server):
    name = create_secret(moto_server, KEY)
    result = vault(moto_server, key_from=[f"aws:{name}"])
    assert result.status == "fail"
    assert "rotation is not configured" in result.message
    assert result.findings[0].rule == "rotation-disabled"


def test_missing_secret_fails(moto_server):
    result = vault(moto_server, key_from=["aws:test/no-such-secret"])
    assert result.status == "fail"
    assert "not found" in result.message


def test_secret_without_value_or_deleted_fails(moto_server):
    client = aws_client(moto_server, "secretsmanager")
    empty = f"test/empty-{uuid.uuid4().hex[:8]}"
    client.create_secret(Name=empty)
    result = vault(moto_server, secret_id=empty)
    assert result.status == "fail"
    assert "AWSCURRENT" in result.message
    deleted = create_secret(moto_server, KEY)
    client.delete_secret(SecretId=deleted, RecoveryWindowInDays=7)
    result = vault(moto_server, secret_id=deleted)
    assert result.status == "fail"
    assert "scheduled for deletion" in result.message


def test_key_from_env_is_not_in_a_vault(moto_server):
    result = vault(moto_server, mistral_key_from=["env:MISTRAL_API_KEY"])
    assert result.status == "fail"
    assert "not in a vault" in result.message and "env:MISTRAL_API_KEY" in result.message
    relaxed = vault(moto_server, mistral_key_from=["env:MISTRAL_API_KEY"], params={"require": False})
    assert relaxed.status == "skip"
    assert "--secret-id" in relaxed.message
    assert vault(moto_server, mistral_key_from=[]).status == "skip"


def test_key_in_vault_unreachable_is_an_error():
    result = vault(closed_port_url(), secret_id="prod/mistral")
    assert result.status == "error"
    assert "unreachable" in result.message


def create_alarms(endpoint: str, prefix: str, names: list[str] | None = None, **overrides) -> None:
    client = aws_client(endpoint, "cloudwatch")
    for rule in ALERT_TABLE:
        if names is not None and rule.name not in names:
            continue
        statistic = ({"ExtendedStatistic": rule.statistic} if rule.statistic.startswith("p")
                     else {"Statistic": rule.statistic})
        client.put_metric_alarm(
            AlarmName=rule.alarm_name(prefix), Namespace=rule.namespace, MetricName=rule.metric, Period=rule.period_s,
            EvaluationPeriods=rule.evaluation_periods, Threshold=overrides.get(rule.name, rule.threshold),
            ComparisonOperator=rule.comparison, **statistic)


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}-"


def test_alarms_all_present_pass(moto_server, prefix):
    create_alarms(moto_server, prefix)
    result = run_check("aws.alarms", params={"prefix": prefix}, settings=settings(moto_server))
    assert result.status == "pass", result.message
    assert "6 alarms" in result.message


def test_missing_alarms_fail_listing_them(moto_server, prefix):
    create_alarms(moto_server, prefix, ["api-down", "high-latency", "rate-limited"])
    result = run_check("aws.alarms", params={"prefix": prefix}, settings=settings(moto_server))
    assert result.status == "fail"
    assert f"{prefix}auth-failures" in result.message and f"{prefix}cost-spike" in result.message
    assert len(result.findings) == 3
    subset = run_check("aws.alarms", params={"prefix": prefix, "required": ["api-down", "rate-limited"]},
                       settings=settings(moto_server))
    assert subset.status == "pass"


def test_alarm_with_other_threshold_warns(moto_server, prefix):
    create_alarms(moto_server, prefix, **{"api-down": 50})
    result = run_check("aws.alarms", params={"prefix": prefix}, settings=settings(moto_server))
    assert result.status == "warn"
    assert "threshold 50 (table: 10)" in result.findings[0].message


def test_unknown_rule_is_rejected():
    with pytest.raises(ValueError, match="unknown alert rule"):
        run_check("aws.alarms", params={"required": ["api-dwn"]})


def test_alarms_unreachable_is_an_error():
    result = run_check("aws.alarms", settings=settings(closed_port_url()))
    assert result.status == "error"
    assert "CloudWatch" in result.message
