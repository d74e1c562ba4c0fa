"""k8s.probes: liveness and readiness probes on every serving container (all `containers`, not init ones;
Jobs and CronJobs are exempt). `require` picks the probes (add `startup` to demand startup probes too)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from magent.checks import CheckContext, CheckType, register_check
from magent.checks._k8s import NO_WORKLOADS, has_workloads, judge
from magent.core.k8s_rules import probes
from magent.core.preflight import CheckResult
from magent.core.text import counted


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    require: list[Literal["liveness", "readiness", "startup"]] = Field(
        default_factory=lambda: ["liveness", "readiness"], min_length=1)


def run(ctx: CheckContext) -> CheckResult:
    require = list((ctx.params or Params()).require)
    return judge(ctx, lambda ws: probes(ws, require), applies=has_workloads, nothing=NO_WORKLOADS,
                 passed=f"{' and '.join(require)} probes on every serving container",
                 failed=lambda n: f"{counted(n, 'container')} without {' or '.join(require)} probes")


register_check(CheckType("k8s.probes", run, summary="Liveness and readiness probes on every serving container",
                         params=Params))
