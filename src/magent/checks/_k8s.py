"""What the `k8s.*` checks share: the workload sets they judge, loaded once per run.

Offline from `--manifests PATH` (files or folders, .yaml/.yml/.json, multi-document), live from
`--deployment NAME` in `-n NS` (else kubernetes.namespace, else the context's). Both given: both are checked,
each on its own (a manifest's Deployment is never matched with a live PDB). A manifest that does not parse,
a missing path or a Deployment that does not exist is an error of every k8s item (with a hint), not a fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from magent.checks._shared import kube
from magent.core.errors import UsageError
from magent.core.k8s_manifests import ManifestError, WorkloadSet, build_set, parse_manifests
from magent.core.preflight import CheckResult, Finding

if TYPE_CHECKING:
    from magent.checks import CheckContext

NO_INPUT = "pass --deployment NAME (live) or --manifests PATH (offline)"
_SUFFIXES = (".yaml", ".yml", ".json")


def workload_sets(ctx: CheckContext) -> list[WorkloadSet]:
    """The sets to judge: [manifests] and/or [live]; empty when neither was given."""
    def build() -> list[WorkloadSet]:
        sets = []
        if ctx.options.manifests:
            sets.append(load_manifests(ctx.options.manifests))
        if ctx.options.deployment:
            sets.append(load_live(ctx))
        return sets

    return ctx.once("k8s.workloads", build)


def manifest_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in _SUFFIXES and p.is_file()
                              and not any(part.startswith(".") for part in p.relative_to(path).parts))
        else:
            raise UsageError(f"--manifests {path}: no such file or directory",
                             hint="pass a manifest file or a folder of them")


def load_manifests(paths: list[Path]) -> WorkloadSet:
    documents = []
    for file in manifest_files(paths):
        try:
            text = file.read_text(encoding="utf-8")
            documents.extend((obj, str(file), line) for obj, line in parse_manifests(text, str(file)))
        except (ManifestError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read manifest {exc}" if isinstance(exc, ManifestError)
                             else f"cannot read manifest {file}: not UTF-8 text",
                             hint="pass rendered manifests (helm template / kustomize build > FILE)") from None
        except OSError as exc:
            raise UsageError(f"cannot read manifest {file}: {exc.strerror}") from None
    return build_set(documents)


def load_live(ctx: CheckContext) -> WorkloadSet:
    """The Deployment, the PDBs selecting its pods, the HPA targeting it, the keys of its envFrom sources."""
    from magent.core.k8s_availability import hpa_for, selector_matches
    from magent.services.kube.access import env_source_keys, list_objects
    from magent.services.kube.deployments import get_deployment

    connection = kube(ctx)
    name = ctx.options.deployment or ""
    deployment = get_deployment(connection, name).raw
    deployment.setdefault("kind", "Deployment")
    found = build_set([(deployment, f"deployment/{name}", None)], live=True)
    workload = found.workloads[0]
    found.pdbs = [p for p in build_set(
        (o, f"poddisruptionbudget/{o['metadata']['name']}", None)
        for o in list_objects(connection, "PodDisruptionBudget")).pdbs
        if selector_matches(p.spec.get("selector"), workload.pod_labels)]
    found.hpas = build_set((o, f"horizontalpodautoscaler/{o['metadata']['name']}", None)
                           for o in list_objects(connection, "HorizontalPodAutoscaler")).hpas
    found.hpas = [h for h in found.hpas if hpa_for(found, workload) is h]
    for kind, ref in _env_from_refs(workload.containers):
        keys = env_source_keys(connection, kind, ref)
        if keys is not None:
            found.env_sources[(workload.namespace, kind, ref)] = keys
    return found


def _env_from_refs(containers: list[dict]) -> set[tuple[str, str]]:
    refs = set()
    for entry in (e for c in containers for e in (c.get("envFrom") or []) if isinstance(e, dict)):
        for kind, field in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
            name = (entry.get(field) or {}).get("name")
            if name:
                refs.add((kind, str(name)))
    return refs


def judge(ctx: CheckContext, rule: Callable[[WorkloadSet], list[Finding]], *,
          applies: Callable[[WorkloadSet], bool], nothing: str, passed: str,
          failed: Callable[[int], str]) -> CheckResult:
    """Run `rule` over every set: skip without input or when no set has what the rule looks at, fail
    with the findings, else pass. `failed(n)` says what is wrong for n findings (`counted` pluralises)."""
    sets = workload_sets(ctx)
    if not sets:
        return CheckResult.skipped(NO_INPUT)
    relevant = [s for s in sets if applies(s)]
    if not relevant:
        return CheckResult.skipped(nothing)
    findings = [finding for s in relevant for finding in rule(s)]
    if findings:
        return CheckResult.failed(failed(len(findings)), findings)
    return CheckResult.passed(passed)


def has_workloads(ws: WorkloadSet) -> bool:
    return bool(ws.workloads)


NO_WORKLOADS = "no Deployment, StatefulSet, DaemonSet, Job or Pod in the manifests"
