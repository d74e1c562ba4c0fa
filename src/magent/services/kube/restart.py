"""`kubectl rollout restart`: stamp the pod template's `kubectl.kubernetes.io/restartedAt` annotation, so the
Deployment rolls every pod (pods that read a secret at start read it again), then wait as `rollout status` does.
"""

from __future__ import annotations

from collections.abc import Callable

from magent.core.errors import UsageError
from magent.core.rollout import RolloutStatus
from magent.core.rotation import RESTARTED_AT, restart_stamp
from magent.core.timeutil import isoformat, utcnow
from magent.services.kube.client import Kube
from magent.services.kube.deployments import STRATEGIC_PATCH, get_deployment, wait_rollout
from magent.services.kube.objects import Deployment


def restarted_at(deployment: Deployment) -> str | None:
    return ((deployment.template.get("metadata") or {}).get("annotations") or {}).get(RESTARTED_AT)


def check_restartable(kube: Kube, name: str) -> Deployment:
    """The Deployment, refused (UsageError) when paused: kubectl refuses to restart a paused Deployment too."""
    deployment = get_deployment(kube, name)
    if deployment.spec.get("paused"):
        raise UsageError(f"deployment {name} in namespace {kube.namespace} is paused: a restart would not roll out",
                         hint=f"kubectl rollout resume deployment/{name} -n {kube.namespace}, then retry")
    return deployment


def restart(kube: Kube, name: str) -> str:
    """Patch the template's restartedAt (the patch `kubectl rollout restart` sends); returns the stamp."""
    previous = restarted_at(get_deployment(kube, name))
    stamp = restart_stamp(isoformat(utcnow()), previous)
    body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
    kube.call(kube.apps.patch_namespaced_deployment, name, kube.namespace, body, _content_type=STRATEGIC_PATCH,
              not_found=f"deployment {name} not found in namespace {kube.namespace}")
    return stamp


class Restarter:
    """The restart and rollout wait of one Deployment, as `magent key rotate` uses them."""

    def __init__(self, kube: Kube, name: str, *, timeout_s: float, poll_s: float = 0.25) -> None:
        self.kube, self.name, self.timeout_s, self.poll_s = kube, name, timeout_s, poll_s

    @property
    def namespace(self) -> str:
        return self.kube.namespace

    @property
    def context(self) -> str | None:
        return self.kube.context

    def check(self) -> Deployment:
        return check_restartable(self.kube, self.name)

    def current_stamp(self) -> str | None:
        return restarted_at(get_deployment(self.kube, self.name))

    def restart(self) -> str:
        return restart(self.kube, self.name)

    def wait(self, on_poll: Callable[[RolloutStatus], None] | None = None) -> RolloutStatus:
        return wait_rollout(self.kube, self.name, timeout_s=self.timeout_s, poll_s=self.poll_s, on_poll=on_poll)
