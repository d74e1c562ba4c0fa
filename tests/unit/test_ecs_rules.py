"""core/ecs_rules: the release rules of the ecs.* preflight checks, over DescribeServices / DescribeTaskDefinition."""

from __future__ import annotations

from magent.core.ecs_rules import circuit_breaker, desired_count, health_checks, key_from_secrets

SM = "arn:aws:secretsmanager:eu-west-1:1:secret:prod/mistral"


def _task(*containers):
    return {"family": "agent", "containerDefinitions": list(containers)}


def test_the_key_from_secrets_manager_passes_and_from_environment_fails():
    good = _task({"name": "app", "secrets": [{"name": "MISTRAL_API_KEY", "valueFrom": SM}],
                  "environment": [{"name": "LOG_LEVEL", "value": "info"}]})
    assert key_from_secrets(good) == []
    bad = _task({"name": "app", "environment": [{"name": "MISTRAL_API_KEY", "value": "abc"},
                                                {"name": "DB_PASSWORD", "value": "x"}]})
    assert [f.rule for f in key_from_secrets(bad)] == ["secret-in-environment", "secret-in-environment"]
    assert all("abc" not in f.message and "'x'" not in f.message for f in key_from_secrets(bad))


def test_the_key_from_parameter_store_is_a_warning_and_no_key_at_all_a_failure():
    ssm = _task({"name": "app", "secrets": [{"name": "MISTRAL_API_KEY",
                                              "valueFrom": "arn:aws:ssm:eu-west-1:1:parameter/mistral"}]})
    assert [(f.rule, f.severity) for f in key_from_secrets(ssm)] == [("key-not-in-secrets-manager", "warning")]
    assert [f.rule for f in key_from_secrets(_task({"name": "app"}))] == ["key-missing"]
    assert key_from_secrets(_task({"name": "app", "secrets": [{"name": "OTHER", "valueFrom": SM}]}), "OTHER") == []


def test_essential_containers_need_a_health_check():
    task = _task({"name": "app", "healthCheck": {"command": ["CMD", "true"]}}, {"name": "sidecar"},
                 {"name": "init", "essential": False})
    assert [f.message for f in health_checks(task)] == ["agent/sidecar: no healthCheck"]


def test_desired_count_and_circuit_breaker():
    assert desired_count({"serviceName": "s", "desiredCount": 2}, 2) == []
    assert [f.rule for f in desired_count({"serviceName": "s", "desiredCount": 1}, 2)] == ["desired-count"]
    on = {"deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}}
    assert circuit_breaker(on) == []
    assert [f.rule for f in circuit_breaker({})] == ["circuit-breaker-off"]
    half = {"deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": False}}}
    assert [(f.rule, f.severity) for f in circuit_breaker(half)] == [("circuit-breaker-no-rollback", "warning")]
