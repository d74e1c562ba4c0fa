"""Kubernetes through the official client: connection and errors (`client`), object views (`objects`),
Deployments and the canary (`deployments`), the deploy lock (`lease`), revisions and undo (`revisions`),
the pod-health analysis provider (`health`) and the `k8s:` key source (`secrets`)."""

from magent.services.kube.client import Conflict, Kube, NotFound, connect

__all__ = ["Conflict", "Kube", "NotFound", "connect"]
