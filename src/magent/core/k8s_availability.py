"""Availability rules of the `k8s.*` checks: replicas (or the HPA's minReplicas) and PodDisruptionBudgets.
Pure, no I/O; the rest of the rules are in `k8s_rules`.

Where magent differs from Polaris (docs/preflight-kubernetes.md):
- an HPA without `minReplicas` has 1 (the autoscaling/v2 default), so it fails; Polaris passes it;
- a PDB's allowed disruptions are computed against the replicas of the workloads it selects (as the
  disruption controller does): `minAvailable: 2` over 1 replica allows none and fails;
- a PDB with both `minAvailable` and `maxUnavailable` fails: the API server rejects it.
"""

from __future__ import annotations

import math
import re
from typing import Any

from magent.core.k8s_manifests import REPLICATED_KINDS, K8sObject, Workload, WorkloadSet, as_dict, as_list
from magent.core.preflight import Finding


def _finding(obj: K8sObject, message: str, rule: str) -> Finding:
    return Finding(f"{obj.ref}: {message}", file=obj.file, line=obj.line, rule=rule)


def _count(value: Any) -> int | None:
    """An integer count as written (None when absent or not an integer)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- label selectors ----------------------------------------------------------------------------------
def selector_matches(selector: Any, labels: dict[str, str]) -> bool:
    """A LabelSelector against pod labels. policy/v1: an empty selector `{}` selects every pod, a missing
    one none; an unknown operator selects nothing."""
    if not isinstance(selector, dict):
        return False
    for key, value in as_dict(selector.get("matchLabels")).items():
        if labels.get(str(key)) != str(value):
            return False
    return all(_expression_matches(e, labels) for e in as_list(selector.get("matchExpressions")))


def _expression_matches(expression: Any, labels: dict[str, str]) -> bool:
    if not isinstance(expression, dict):
        return False
    key, operator = str(expression.get("key")), expression.get("operator")
    values = [str(v) for v in as_list(expression.get("values"))]
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False


# --- k8s.replicas -------------------------------------------------------------------------------------
def hpa_for(ws: WorkloadSet, workload: Workload) -> K8sObject | None:
    for hpa in ws.hpas:
        target = as_dict(hpa.spec.get("scaleTargetRef"))
        if hpa.namespace == workload.namespace and target.get("kind") == workload.kind \
                and target.get("name") == workload.name:
            return hpa
    return None


def _hpa_min(hpa: K8sObject) -> int | None:
    value = hpa.spec.get("minReplicas")
    return 1 if value is None else _count(value)


def replicas(ws: WorkloadSet, minimum: int = 2) -> list[Finding]:
    """Every Deployment/StatefulSet runs at least `minimum` pods: its replicas, or its HPA's minReplicas;
    every other HPA in the set has minReplicas ≥ minimum."""
    findings, covered = [], set()
    for workload in (w for w in ws.workloads if w.kind in REPLICATED_KINDS):
        hpa = hpa_for(ws, workload)
        if hpa is not None:
            covered.add(id(hpa))
            low = _hpa_min(hpa)
            if low is None or low < minimum:
                findings.append(_finding(hpa, f"minReplicas {low if low is not None else '(invalid)'} for "
                                         f"{workload.kind} {workload.name}; set it to {minimum} or more", "hpa-min"))
            continue
        count = 1 if workload.replicas is None else _count(workload.replicas)
        if count is None or count < minimum:
            written = "unset (1)" if workload.replicas is None else str(workload.replicas)
            findings.append(_finding(workload, f"replicas {written}; run {minimum} or more (or add an HPA with "
                                     f"minReplicas ≥ {minimum})", "replicas"))
    for hpa in (h for h in ws.hpas if id(h) not in covered):
        low = _hpa_min(hpa)
        if low is None or low < minimum:
            shown = "unset (1)" if hpa.spec.get("minReplicas") is None else str(hpa.spec.get("minReplicas"))
            findings.append(_finding(hpa, f"minReplicas {shown}; set it to {minimum} or more", "hpa-min"))
    return findings


def expected_replicas(ws: WorkloadSet, workload: Workload) -> int:
    """The fewest pods the workload runs: its HPA's minReplicas, else spec.replicas (default 1)."""
    hpa = hpa_for(ws, workload)
    value = _hpa_min(hpa) if hpa is not None else (1 if workload.replicas is None else _count(workload.replicas))
    return value if value is not None else 1


# --- k8s.pdb ------------------------------------------------------------------------------------------
_PERCENT = re.compile(r"^(\d+)%$")


def _scaled(value: Any, total: int) -> int | None:
    """An IntOrString against `total` pods, rounded up as the disruption controller does (None: invalid)."""
    if _count(value) is not None:
        return value
    match = _PERCENT.match(str(value)) if isinstance(value, str) else None
    return math.ceil(total * int(match.group(1)) / 100) if match else None


def allowed_disruptions(pdb: K8sObject, total: int | None) -> int | None:
    """How many of `total` pods the PDB lets go at once; with total None (no workload known), 0 only for
    the specs that never allow one (`minAvailable: 100%`, `maxUnavailable: 0`/`0%`), else None."""
    min_available, max_unavailable = pdb.spec.get("minAvailable"), pdb.spec.get("maxUnavailable")
    if total is None:
        never = min_available == "100%" or max_unavailable in (0, "0%")
        return 0 if never else None
    if max_unavailable is not None:
        scaled = _scaled(max_unavailable, total)
        return None if scaled is None else min(scaled, total)
    if min_available is not None:
        scaled = _scaled(min_available, total)
        return None if scaled is None else max(total - scaled, 0)
    return total


def _pdb_problem(pdb: K8sObject, total: int | None, what: str) -> str | None:
    spec = pdb.spec
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        return "sets both minAvailable and maxUnavailable (the API server rejects it); keep one"
    for field in ("minAvailable", "maxUnavailable"):
        if spec.get(field) is not None and _scaled(spec[field], 1) is None:
            return f"{field} {spec[field]!r} is neither a count nor a percentage"
    if allowed_disruptions(pdb, total) == 0:
        written = ", ".join(f"{f} {spec[f]}" for f in ("minAvailable", "maxUnavailable") if spec.get(f) is not None)
        return f"allows no voluntary disruption ({written}{what}); node drains will hang"
    return None


def pdbs(ws: WorkloadSet) -> list[Finding]:
    """Every Deployment/StatefulSet has a PDB in its namespace selecting its pods that allows ≥ 1
    disruption at its fewest replicas; every other PDB in the set allows disruptions at all."""
    findings, checked = [], set()
    for workload in (w for w in ws.workloads if w.kind in REPLICATED_KINDS):
        labels = workload.pod_labels
        matching = [p for p in ws.pdbs if p.namespace == workload.namespace
                    and selector_matches(p.spec.get("selector"), labels)]
        if not matching:
            shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "none"
            findings.append(_finding(workload, f"no PodDisruptionBudget in namespace {workload.namespace} "
                                     f"selects its pods (pod labels: {shown})", "pdb-missing"))
        total = expected_replicas(ws, workload)
        for pdb in matching:
            checked.add(id(pdb))
            problem = _pdb_problem(pdb, total, f" over {total} replica{'s' * (total != 1)} of {workload.name}")
            if problem:
                findings.append(_finding(pdb, problem, "pdb-no-disruption"))
    for pdb in (p for p in ws.pdbs if id(p) not in checked):
        problem = _pdb_problem(pdb, None, "")
        if problem:
            findings.append(_finding(pdb, problem, "pdb-no-disruption"))
    return findings

