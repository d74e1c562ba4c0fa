"""Every Polaris check fixture (tests/data/polaris, Apache-2.0) through the matching magent check, offline.

`success*.yaml` must pass and `failure*.yaml` must fail, except the deliberate differences listed in
DIFFERENCES (each with its reason; docs/preflight-kubernetes.md has the same table). Polaris enables one check
per folder; magent's combined checks are narrowed to the same rule by their params.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.preflight import PreflightOptions, run_check

POLARIS = Path(__file__).parents[1] / "data" / "polaris"

# folder → (magent check type, params narrowing it to Polaris' single rule)
FOLDERS: dict[str, tuple[str, dict]] = {
    "tagNotSpecified": ("k8s.image-pinned", {}),
    "livenessProbeMissing": ("k8s.probes", {"require": ["liveness"]}),
    "readinessProbeMissing": ("k8s.probes", {"require": ["readiness"]}),
    "cpuRequestsMissing": ("k8s.resources", {"require": ["requests.cpu"]}),
    "memoryRequestsMissing": ("k8s.resources", {"require": ["requests.memory"]}),
    "cpuLimitsMissing": ("k8s.resources", {"require": ["limits.cpu"]}),
    "memoryLimitsMissing": ("k8s.resources", {"require": ["limits.memory"]}),
    "deploymentMissingReplicas": ("k8s.replicas", {}),
    "hpaMinAvailability": ("k8s.replicas", {}),
    "missingPodDisruptionBudget": ("k8s.pdb", {}),
    "pdbDisruptionsIsZero": ("k8s.pdb", {}),
    "sensitiveContainerEnvVar": ("k8s.key-from-secret", {}),
}

# Where magent fails a fixture Polaris passes, on purpose: fixture → (magent's status, the finding's rule, why)
DIFFERENCES: dict[str, tuple[str, str, str]] = {
    # autoscaling/v2 defaults minReplicas to 1: an HPA without it may scale down to one pod
    "hpaMinAvailability/success.minReplicaAbsent.yaml": ("fail", "hpa-min", "unset minReplicas is 1"),
    # the Deployment has no replicas (1) and the PDB minAvailable 2: zero disruptions allowed, drains hang
    "missingPodDisruptionBudget/success.yaml": ("fail", "pdb-no-disruption", "minAvailable 2 over 1 replica"),
    "missingPodDisruptionBudget/success.many.yaml": ("fail", "pdb-no-disruption", "minAvailable 2 over 1 replica"),
    # policy/v1 validation rejects a PDB setting both minAvailable and maxUnavailable
    "pdbDisruptionsIsZero/success.both.yaml": ("fail", "pdb-no-disruption", "both fields set"),
}


def _cases() -> list[tuple[str, Path]]:
    cases = [(folder, path) for folder in FOLDERS for path in sorted((POLARIS / folder).glob("*.yaml"))]
    assert len(cases) == 45, "the Polaris fixtures changed: review FOLDERS and DIFFERENCES"
    return cases


def test_every_folder_is_mapped():
    assert sorted(p.name for p in POLARIS.iterdir() if p.is_dir()) == sorted(FOLDERS)
    assert (POLARIS / "LICENSE").is_file()


@pytest.mark.parametrize(("folder", "path"), _cases(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_agrees_with_polaris(folder: str, path: Path):
    check, params = FOLDERS[folder]
    result = run_check(check, params=params, options=PreflightOptions(manifests=[path]))
    key = f"{folder}/{path.name}"
    if key in DIFFERENCES:
        status, rule, _why = DIFFERENCES[key]
        assert result.status == status, result
        assert {f.rule for f in result.findings} == {rule}, result.findings
        return
    expected = "pass" if path.name.startswith("success") else "fail"
    assert result.status == expected, result
    if expected == "fail":
        assert result.findings and all(f.file == str(path) and f.line for f in result.findings)


def test_the_default_probes_and_resources_are_all_of_polaris_rules():
    """Unnarrowed, k8s.probes needs both probes and k8s.resources all four fields."""
    liveness_only = POLARIS / "livenessProbeMissing" / "success.yaml"
    assert run_check("k8s.probes", options=PreflightOptions(manifests=[liveness_only])).status == "fail"
    memory_limit_only = POLARIS / "memoryLimitsMissing" / "success.yaml"
    result = run_check("k8s.resources", options=PreflightOptions(manifests=[memory_limit_only]))
    assert result.status == "fail" and "requests.cpu, requests.memory, limits.cpu" in result.findings[0].message


def test_a_folder_of_fixtures_is_one_set():
    """A folder loads every file; findings name the file and the line of the container."""
    result = run_check("k8s.probes", params={"require": ["readiness"]},
                       options=PreflightOptions(manifests=[POLARIS / "readinessProbeMissing"]))
    assert result.status == "fail"
    [finding] = result.findings
    assert finding.file.endswith("failure.yaml") and finding.line == 9
