"""k8s.pdb: a PodDisruptionBudget in the same namespace selects the pods of every Deployment and
StatefulSet and allows at least one disruption at its fewest replicas; no PDB in the set forbids all."""

from __future__ import annotations

from magent.checks import CheckContext, CheckType, register_check
from magent.checks._k8s import judge
from magent.core.k8s_availability import pdbs
from magent.core.k8s_manifests import REPLICATED_KINDS, WorkloadSet
from magent.core.preflight import CheckResult
from magent.core.text import counted


def _applies(ws: WorkloadSet) -> bool:
    return bool(ws.pdbs) or any(w.kind in REPLICATED_KINDS for w in ws.workloads)


def run(ctx: CheckContext) -> CheckResult:
    return judge(ctx, pdbs, applies=_applies,
                 nothing="no Deployment, StatefulSet or PodDisruptionBudget in the manifests",
                 passed="a PodDisruptionBudget allowing disruptions covers every Deployment and StatefulSet",
                 failed=lambda n: counted(n, "PodDisruptionBudget problem"))


register_check(CheckType("k8s.pdb", run, summary="A PodDisruptionBudget selects the pods and allows a disruption"))
