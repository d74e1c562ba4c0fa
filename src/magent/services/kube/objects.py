"""Read-only views over the API's JSON (kr8s style): properties named as people say them, the raw dict kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from magent.core.rollout import CHANGE_CAUSE_ANNOTATION, revision_of, template_images

Obj = dict[str, Any]


@dataclass(frozen=True)
class _View:
    raw: Obj

    @property
    def metadata(self) -> Obj:
        return self.raw.get("metadata") or {}

    @property
    def name(self) -> str:
        return self.metadata.get("name", "")

    @property
    def namespace(self) -> str:
        return self.metadata.get("namespace", "")

    @property
    def uid(self) -> str:
        return self.metadata.get("uid", "")

    @property
    def labels(self) -> dict[str, str]:
        return self.metadata.get("labels") or {}

    @property
    def annotations(self) -> dict[str, str]:
        return self.metadata.get("annotations") or {}

    @property
    def created(self) -> str | None:
        return self.metadata.get("creationTimestamp")

    @property
    def resource_version(self) -> str | None:
        return self.metadata.get("resourceVersion")

    @property
    def spec(self) -> Obj:
        return self.raw.get("spec") or {}

    @property
    def status(self) -> Obj:
        return self.raw.get("status") or {}


@dataclass(frozen=True)
class Deployment(_View):
    @property
    def replicas(self) -> int:
        """spec.replicas: what the Deployment (or its HPA) currently asks for."""
        value = self.spec.get("replicas")
        return 1 if value is None else int(value)

    @property
    def template(self) -> Obj:
        return self.spec.get("template") or {}

    @property
    def containers(self) -> list[Obj]:
        return (self.template.get("spec") or {}).get("containers") or []

    @property
    def images(self) -> list[str]:
        return template_images(self.template)

    def image_of(self, container: str) -> str | None:
        return next((c.get("image") for c in self.containers if c.get("name") == container), None)

    @property
    def selector(self) -> Obj:
        return self.spec.get("selector") or {}

    @property
    def paused(self) -> bool:
        return bool(self.spec.get("paused"))

    @property
    def revision(self) -> int | None:
        return revision_of(self.raw)

    @property
    def ready_replicas(self) -> int:
        return int(self.status.get("readyReplicas") or 0)

    @property
    def updated_replicas(self) -> int:
        return int(self.status.get("updatedReplicas") or 0)

    @property
    def available_replicas(self) -> int:
        return int(self.status.get("availableReplicas") or 0)

    @property
    def ready(self) -> bool:
        """The controller has seen the latest spec and every wanted pod is ready (kr8s' Deployment.ready())."""
        generation = self.metadata.get("generation", 0)
        observed = self.status.get("observedGeneration", 0)
        return observed >= generation and self.ready_replicas >= self.replicas


@dataclass(frozen=True)
class ReplicaSet(_View):
    @property
    def revision(self) -> int | None:
        return revision_of(self.raw)

    @property
    def images(self) -> list[str]:
        return template_images(self.spec.get("template") or {})

    @property
    def change_cause(self) -> str | None:
        return self.annotations.get(CHANGE_CAUSE_ANNOTATION)

    @property
    def replicas(self) -> int:
        return int(self.spec.get("replicas") or 0)


@dataclass(frozen=True)
class Pod(_View):
    @property
    def phase(self) -> str:
        return self.status.get("phase", "Unknown")

    @property
    def container_statuses(self) -> list[Obj]:
        return self.status.get("containerStatuses") or []

    @property
    def ready(self) -> bool:
        conditions = self.status.get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    @property
    def restarts(self) -> int:
        return sum(int(s.get("restartCount") or 0) for s in self.container_statuses)

    @property
    def problems(self) -> list[str]:
        """Why containers are failing: waiting reasons (CrashLoopBackOff, ImagePullBackOff…), last OOMKilled/Error."""
        found: list[str] = []
        for status in self.container_statuses:
            waiting = (status.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") and waiting["reason"] not in ("ContainerCreating", "PodInitializing"):
                found.append(waiting["reason"])
            terminated = ((status.get("lastState") or {}).get("terminated")
                          or (status.get("state") or {}).get("terminated") or {})
            if terminated.get("reason") in ("OOMKilled", "Error"):
                found.append(terminated["reason"])
        return sorted(set(found))
