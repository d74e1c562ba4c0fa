"""ecs.key-from-secrets: the task definition gives MISTRAL_API_KEY through `secrets` (from Secrets Manager), and no
sensitive-looking variable as a plain `environment` value."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from magent.checks import CheckContext, CheckType, register_check
from magent.checks._ecs import judge
from magent.core.ecs_rules import key_from_secrets
from magent.core.preflight import CheckResult
from magent.core.text import counted


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_variable: str = Field(default="MISTRAL_API_KEY", min_length=1)


def run(ctx: CheckContext) -> CheckResult:
    variable = (ctx.params or Params()).key_variable
    return judge(ctx, lambda service, task: key_from_secrets(task, variable),
                 passed=f"{variable} comes from Secrets Manager through `secrets`",
                 failed=lambda n: f"{counted(n, 'problem')} with how the task definition receives its secrets")


register_check(CheckType("ecs.key-from-secrets", run, params=Params,
                         summary="The ECS task definition takes the key from Secrets Manager `secrets`"))
