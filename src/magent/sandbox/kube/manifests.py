"""Manifests of the objects the sandbox, the demo and the tests create: one place for their shape."""

from __future__ import annotations

from typing import Any


def deployment_manifest(name: str, image: str, *, replicas: int = 3, namespace: str | None = None,
                        labels: dict[str, str] | None = None, container: str = "app",
                        annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    """An apps/v1 Deployment of one container, selected by `labels` (default app=NAME); extra keyword
    arguments go into `spec`."""
    labels = labels or {"app": name}
    metadata: dict[str, Any] = {"name": name, "labels": dict(labels)}
    if namespace:
        metadata["namespace"] = namespace
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata,
        "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                 "template": {"metadata": {"labels": dict(labels)},
                              "spec": {"containers": [{"name": container, "image": image}]}}, **spec},
    }


def service_manifest(name: str, namespace: str, *, selector: dict[str, str] | None = None,
                     port: int = 80, target_port: int = 8080) -> dict[str, Any]:
    """A Service selecting app=NAME: stable and canary pods alike, since both carry that label."""
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": selector or {"app": name}, "ports": [{"port": port, "targetPort": target_port}]},
    }
