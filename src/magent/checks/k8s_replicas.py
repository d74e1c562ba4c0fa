"""k8s.replicas: every Deployment and StatefulSet runs at least `min` pods (its replicas, or the minReplicas
of the HPA targeting it); every HPA in the manifests has minReplicas ≥ `min` (unset means 1)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from magent.checks import CheckContext, CheckType, register_check
from magent.checks._k8s import judge
from magent.core.k8s_availability import replicas
from magent.core.k8s_manifests import REPLICATED_KINDS, WorkloadSet
from magent.core.preflight import CheckResult
from magent.core.text import counted


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: int = Field(default=2, ge=1)


def _applies(ws: WorkloadSet) -> bool:
    return bool(ws.hpas) or any(w.kind in REPLICATED_KINDS for w in ws.workloads)


def run(ctx: CheckContext) -> CheckResult:
    minimum = (ctx.params or Params()).min
    return judge(ctx, lambda ws: replicas(ws, minimum), applies=_applies,
                 nothing="no Deployment, StatefulSet or HorizontalPodAutoscaler in the manifests",
                 passed=f"at least {minimum} replicas (or HPA minReplicas) everywhere",
                 failed=lambda n: f"{counted(n, 'workload or HPA', 'workloads or HPAs')} below {minimum} replicas")


register_check(CheckType("k8s.replicas", run, summary="At least 2 replicas, or an HPA with minReplicas ≥ 2",
                         params=Params))
