"""ecs.health-check: every essential container of the service's task definition has a health check."""

from __future__ import annotations

from magent.checks import CheckContext, CheckType, register_check
from magent.checks._ecs import judge
from magent.core.ecs_rules import health_checks
from magent.core.preflight import CheckResult
from magent.core.text import counted


def run(ctx: CheckContext) -> CheckResult:
    return judge(ctx, lambda service, task: health_checks(task), passed="every essential container has a health check",
                 failed=lambda n: f"{counted(n, 'essential container')} without a health check")


register_check(CheckType("ecs.health-check", run, summary="Every essential ECS container has a health check"))
