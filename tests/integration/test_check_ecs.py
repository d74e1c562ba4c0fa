"""The ecs.* preflight items against an ECS service in moto (server mode), through `magent preflight`."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.aws import aws_client


def _config(stack) -> None:
    Path("magent.yaml").write_text(
        f"aws:\n  region: us-east-1\n  endpoint_url: {stack.endpoint_url}\n"
        f"deploy:\n  target: ecs\n  ecs:\n    cluster: {stack.cluster}\n    service: {stack.service}\n")


def _items(result) -> dict[str, dict]:
    return {item["id"]: item for item in json.loads(result.stdout)["items"]}


def test_a_service_set_up_as_the_guide_says_passes_all_but_moto_s_circuit_breaker(ecs_stack, cli):
    _config(ecs_stack)
    result = cli("preflight", "--only", "ecs", "-o", "json")
    items = _items(result)
    assert {k: v["status"] for k, v in items.items()} == {
        "ecs.key-from-secrets": "pass", "ecs.health-check": "pass", "ecs.desired-count": "pass",
        # moto keeps no deploymentConfiguration: the real API would report the breaker the fixture turned on
        "ecs.circuit-breaker": "fail"}
    assert result.exit_code == 0, result.stderr  # the circuit breaker is a warning item


def test_a_key_in_the_environment_and_one_task_fail(ecs_stack, cli):
    ecs = aws_client(ecs_stack.endpoint_url, "ecs")
    task = ecs.register_task_definition(
        family="agent-plain", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "agent", "image": "registry.example/agent:1.0",
                               "environment": [{"name": "MISTRAL_API_KEY", "value": "sk-planted-123"}]}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=ecs_stack.cluster, service=ecs_stack.service, taskDefinition=task, desiredCount=1)
    _config(ecs_stack)
    result = cli("preflight", "--only", "ecs", "-o", "json")
    items = _items(result)
    assert items["ecs.key-from-secrets"]["status"] == "fail"
    assert items["ecs.health-check"]["status"] == "fail"
    assert items["ecs.desired-count"]["status"] == "fail"
    assert result.exit_code == 1
    assert "sk-planted-123" not in result.output


def test_without_an_ecs_target_the_items_are_skipped(cli):
    result = cli("preflight", "--only", "ecs", "-o", "json")
    assert {v["status"] for v in _items(result).values()} == {"skip"}
    assert result.exit_code == 0
