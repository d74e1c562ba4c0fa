"""k8s.resources: CPU and memory requests and limits on every container (`require` narrows the list, e.g.
to drop `limits.cpu` where CPU limits are a deliberate choice)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from magent.checks import CheckContext, CheckType, register_check
from magent.checks._k8s import NO_WORKLOADS, has_workloads, judge
from magent.core.k8s_rules import RESOURCE_FIELDS, resources
from magent.core.preflight import CheckResult
from magent.core.text import counted

Field_ = Literal["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    require: list[Field_] = Field(default_factory=lambda: list(RESOURCE_FIELDS), min_length=1)


def run(ctx: CheckContext) -> CheckResult:
    require = list((ctx.params or Params()).require)
    return judge(ctx, lambda ws: resources(ws, require), applies=has_workloads, nothing=NO_WORKLOADS,
                 passed=f"{', '.join(require)} set on every container",
                 failed=lambda n: f"{counted(n, 'container')} without {', '.join(require)}")


register_check(CheckType("k8s.resources", run, summary="CPU and memory requests and limits on every container",
                         params=Params))
