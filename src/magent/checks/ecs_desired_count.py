"""ecs.desired-count: the ECS service runs at least `min` tasks."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from magent.checks import CheckContext, CheckType, register_check
from magent.checks._ecs import judge
from magent.core.ecs_rules import desired_count
from magent.core.preflight import CheckResult


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: int = Field(default=2, ge=1)


def run(ctx: CheckContext) -> CheckResult:
    minimum = (ctx.params or Params()).min
    return judge(ctx, lambda service, task: desired_count(service, minimum), passed=f"at least {minimum} tasks",
                 failed=f"fewer than {minimum} tasks")


register_check(CheckType("ecs.desired-count", run, params=Params, summary="The ECS service runs at least 2 tasks"))
