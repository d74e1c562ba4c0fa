"""What the `ecs.*` checks share: the ECS service of `deploy.ecs` (cluster, service) and its task definition,
read once per run. Without `deploy.target: ecs` (or a cluster and service under deploy.ecs) they are skipped."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from magent.core.preflight import CheckResult, Finding
from magent.core.text import counted

if TYPE_CHECKING:
    from magent.checks import CheckContext

NOT_ECS = "not an ECS deploy: set deploy.target: ecs with deploy.ecs.cluster and deploy.ecs.service"


def ecs_service(ctx: CheckContext) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(DescribeServices' service, DescribeTaskDefinition's task definition), or None when not on ECS."""
    deploy = ctx.settings.deploy
    if deploy.target != "ecs" or not deploy.ecs.cluster or not deploy.ecs.service:
        return None

    def build() -> tuple[dict[str, Any], dict[str, Any]]:
        from magent.services.aws import ecs as es

        aws = ctx.settings.aws
        client = es.Ecs(region=aws.region, endpoint_url=aws.endpoint_url, timeout_s=min(10.0, ctx.options.timeout_s))
        cluster, name = deploy.ecs.cluster, deploy.ecs.service
        raw = client.call(client.ecs, "describe_services", f"ECS service {name} in cluster {cluster}",
                          cluster=cluster, services=[name])
        services = [s for s in raw.get("services", []) if s.get("status") != "INACTIVE"]
        if not services:
            from magent.core.errors import UsageError

            raise UsageError(f"ECS service {name} not found in cluster {cluster}",
                             hint="check deploy.ecs.cluster / deploy.ecs.service and AWS_REGION")
        return services[0], es.describe_task_definition(client, services[0]["taskDefinition"])

    return ctx.once("ecs.service", build)


def judge(ctx: CheckContext, rule: Callable[[Mapping[str, Any], Mapping[str, Any]], list[Finding]], *,
          passed: str, failed: str | Callable[[int], str]) -> CheckResult:
    """Skip off ECS; fail on blocking findings (`failed`, or `failed(n)` for n of them), warn on warnings only."""
    found = ecs_service(ctx)
    if found is None:
        return CheckResult.skipped(NOT_ECS)
    findings = rule(*found)
    blocking = [f for f in findings if f.severity != "warning"]
    if blocking:
        return CheckResult.failed(failed if isinstance(failed, str) else failed(len(blocking)), findings)
    if findings:
        return CheckResult.warned(passed + f" ({counted(len(findings), 'warning')})", findings)
    return CheckResult.passed(passed)
