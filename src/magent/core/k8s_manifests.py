"""Kubernetes manifests as the `k8s.*` preflight checks see them: parsed YAML with line numbers, and the
"workload set" (workloads, PDBs, HPAs, Services, and the keys of Secrets / ConfigMaps) the rules read.

Pure: text in, objects out. The checks read the files (offline) or the API (live) and build a `WorkloadSet`.

    docs = parse_manifests(text, "k8s/app.yaml")   # ManifestError("k8s/app.yaml:12: …") on bad YAML
    workloads = build_set(docs, live=False)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

# Kinds whose pod template the rules read, and where it lives
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
REPLICATED_KINDS = frozenset({"Deployment", "StatefulSet"})  # what replicas, HPAs and PDBs are about
BATCH_KINDS = frozenset({"Job", "CronJob"})  # run to completion: no probes expected
DEFAULT_NAMESPACE = "default"


class ManifestError(ValueError):
    """A manifest file that is not valid YAML; the message starts with `file:line:`."""


class LineDict(dict):
    """A mapping that remembers the 1-based line it started on in its file (None when built otherwise)."""

    line: int | None = None


def _loader() -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def construct_map(loader: Any, node: Any) -> Iterator[LineDict]:
        data = LineDict()
        data.line = node.start_mark.line + 1
        yield data
        data.update(loader.construct_mapping(node))

    Loader.add_constructor("tag:yaml.org,2002:map", construct_map)
    return Loader


def parse_manifests(text: str, file: str) -> list[tuple[Obj, int]]:
    """Every Kubernetes object in a (multi-document) YAML or JSON text, with the line its document starts on.

    Documents that are not objects with a string `kind` are skipped (comments, empty documents, other YAML);
    `kind: List` is expanded into its items.
    """
    import yaml

    found: list[tuple[Obj, int]] = []
    try:
        for doc in yaml.load_all(text, Loader=_loader()):  # noqa: S506 - a SafeLoader subclass
            found.extend(_objects(doc))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise ManifestError(f"{file}{line}: {exc.problem or exc.context or 'invalid YAML'}") from None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError, OverflowError) as exc:
        # constructor errors (an impossible date), pathological nesting
        raise ManifestError(f"{file}: cannot parse: {type(exc).__name__}: {str(exc)[:200]}") from None
    return found


def _objects(doc: Any) -> Iterator[tuple[Obj, int]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
        return
    if doc["kind"] == "List" or (doc["kind"].endswith("List") and isinstance(doc.get("items"), list)):
        for item in doc.get("items") or []:
            if isinstance(item, dict) and isinstance(item.get("kind"), str):
                yield item, line_of(item) or line_of(doc) or 1
        return
    yield doc, line_of(doc) or 1


def line_of(value: Any) -> int | None:
    return getattr(value, "line", None)


def get_path(obj: Any, *path: str) -> Any:
    """obj[a][b]… or None when a step is missing or not a mapping."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def as_dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class K8sObject:
    """One object from a manifest or the API, and where to point a user at it."""

    raw: Obj
    file: str | None = None  # the manifest file, or `deployment/NAME` live
    line: int | None = None

    @property
    def kind(self) -> str:
        return str(self.raw.get("kind") or "")

    @property
    def name(self) -> str:
        return str(get_path(self.raw, "metadata", "name") or "(unnamed)")

    @property
    def namespace(self) -> str:
        return str(get_path(self.raw, "metadata", "namespace") or DEFAULT_NAMESPACE)

    @property
    def ref(self) -> str:
        """`Deployment web (namespace shop)`: how messages name it."""
        return f"{self.kind} {self.name} (namespace {self.namespace})"

    @property
    def spec(self) -> Obj:
        return as_dict(self.raw.get("spec"))

    def line_at(self, value: Any) -> int | None:
        """The line of a part of this object (a container, an env entry), else the object's."""
        return line_of(value) or self.line


@dataclass(frozen=True)
class Workload(K8sObject):
    @property
    def template(self) -> Obj:
        if self.kind == "Pod":
            return self.raw
        return as_dict(get_path(self.raw, *POD_TEMPLATE_PATHS.get(self.kind, ("spec", "template"))))

    @property
    def pod_spec(self) -> Obj:
        return as_dict(self.template.get("spec"))

    @property
    def pod_labels(self) -> dict[str, str]:
        labels = as_dict(get_path(self.template, "metadata", "labels"))
        return {str(k): str(v) for k, v in labels.items()}

    @property
    def containers(self) -> list[Obj]:
        return [c for c in as_list(self.pod_spec.get("containers")) if isinstance(c, dict)]

    @property
    def init_containers(self) -> list[Obj]:
        return [c for c in as_list(self.pod_spec.get("initContainers")) if isinstance(c, dict)]

    @property
    def replicas(self) -> Any:
        """spec.replicas as written (None when absent: the API's default is 1)."""
        return self.spec.get("replicas")


@dataclass
class WorkloadSet:
    """Everything one source (a set of manifest files, or one live namespace) says about the workloads."""

    workloads: list[Workload] = field(default_factory=list)
    pdbs: list[K8sObject] = field(default_factory=list)
    hpas: list[K8sObject] = field(default_factory=list)
    services: list[K8sObject] = field(default_factory=list)
    # (namespace, "Secret" | "ConfigMap", name) → the keys it holds, when known
    env_sources: dict[tuple[str, str, str], frozenset[str]] = field(default_factory=dict)
    live: bool = False

    def add(self, obj: Obj, file: str | None, line: int | None) -> None:
        kind = obj.get("kind")
        if kind in POD_TEMPLATE_PATHS or kind == "Pod":
            self.workloads.append(Workload(obj, file, line))
        elif kind == "PodDisruptionBudget":
            self.pdbs.append(K8sObject(obj, file, line))
        elif kind == "HorizontalPodAutoscaler":
            self.hpas.append(K8sObject(obj, file, line))
        elif kind == "Service":
            self.services.append(K8sObject(obj, file, line))
        elif kind in ("Secret", "ConfigMap"):
            self.add_env_source(K8sObject(obj, file, line))

    def add_env_source(self, source: K8sObject) -> None:
        keys = {*as_dict(source.raw.get("data")), *as_dict(source.raw.get("stringData")),
                *as_dict(source.raw.get("binaryData"))}
        self.env_sources[(source.namespace, source.kind, source.name)] = frozenset(str(k) for k in keys)

    @property
    def empty(self) -> bool:
        return not (self.workloads or self.pdbs or self.hpas)


def build_set(documents: Iterable[tuple[Obj, str | None, int | None]], *, live: bool = False) -> WorkloadSet:
    """A WorkloadSet from (object, file, line) triples."""
    found = WorkloadSet(live=live)
    for obj, file, line in documents:
        found.add(obj, file, line)
    return found
