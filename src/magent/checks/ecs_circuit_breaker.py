"""ecs.circuit-breaker: the service's deployment circuit breaker is on, with rollback."""

from __future__ import annotations

from magent.checks import CheckContext, CheckType, register_check
from magent.checks._ecs import judge
from magent.core.ecs_rules import circuit_breaker
from magent.core.preflight import CheckResult


def run(ctx: CheckContext) -> CheckResult:
    return judge(ctx, lambda service, task: circuit_breaker(service),
                 passed="the deployment circuit breaker is on, with rollback",
                 failed="the deployment circuit breaker is off")


register_check(CheckType("ecs.circuit-breaker", run,
                         summary="The ECS deployment circuit breaker is on and rolls back"))
