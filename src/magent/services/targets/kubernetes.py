"""The `DeployTarget` of a Kubernetes Deployment: a canary Deployment beside it (a replica-ratio canary), the
state in an annotation on the stable Deployment, the lock in a coordination.k8s.io Lease."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from magent.core.canary import STATE_ANNOTATION, CanaryState, canary_name
from magent.core.canary_manifest import canary_manifest
from magent.core.errors import InconsistentState
from magent.core.judge import MetricResult
from magent.core.rollout import RolloutStatus
from magent.services.kube import deployments as kd
from magent.services.kube import lease as kl
from magent.services.kube.client import Kube
from magent.services.targets import Canary, StableVersion, StateGuard, UndoneTo


class KubernetesTarget:
    kind = "kubernetes"

    def __init__(self, kube: Kube, deployment: str) -> None:
        self.kube, self.name = kube, deployment

    @property
    def scope(self) -> str:
        return self.kube.namespace

    @property
    def canary_name(self) -> str:
        return canary_name(self.name)

    # --- the stable version and the deploy state -----------------------------------------------------------

    def stable(self) -> kd.Deployment:
        return kd.get_deployment(self.kube, self.name)

    def refuse_if_unsafe(self, stable: StableVersion) -> None:
        if stable.paused:
            raise InconsistentState(f"deployment {self.name} is paused: someone is changing it by hand",
                                    hint=f"resume it first (kubectl rollout resume deployment/{self.name})")

    def read_state(self, stable: StableVersion | None = None) -> CanaryState | None:
        deployment = stable if isinstance(stable, kd.Deployment) else self.stable()
        return kd.read_state(deployment)

    def write_state(self, state: CanaryState, *, unless: StateGuard) -> None:
        kd.write_state(self.kube, self.name, state, unless=unless)

    # --- the deploy lock -----------------------------------------------------------------------------------

    def acquire_lock(self, holder: str, duration_s: int, *, take_over_dead: bool) -> None:
        kl.acquire(self.kube, self.name, holder, duration_s, take_over_dead=take_over_dead)

    def renew_lock(self, holder: str) -> None:
        kl.renew(self.kube, self.name, holder)

    def release_lock(self, holder: str) -> None:
        kl.release(self.kube, self.name, holder)

    def lock_holder(self) -> kl.LeaseInfo | None:
        return kl.read_lease(self.kube, self.name)

    # --- the canary ----------------------------------------------------------------------------------------

    def canary_size(self) -> int | None:
        canary = kd.find_deployment(self.kube, self.canary_name)
        return canary.replicas if canary else None

    def size_canary(self, stable: StableVersion, state: CanaryState, replicas: int) -> Canary:
        assert isinstance(stable, kd.Deployment)
        manifest = canary_manifest(stable.raw, image=state.image, container=state.container, replicas=replicas,
                                   deploy_id=state.deploy_id)
        kd.ensure_canary(self.kube, manifest)
        return Canary(manifest["metadata"]["name"], kd.label_selector(manifest["spec"]["selector"]), manifest)

    def canary_to_zero(self) -> None:
        """Scale the canary to zero, and return once its pods are out of service (Terminating or gone), so that
        the abort's "scaled to 0" is when the canary stopped taking requests, not when its spec said 0."""
        if kd.scale_to_zero(self.kube, self.canary_name):
            kd.wait_out_of_service(self.kube, self.canary_name)

    def remove_canary(self, deploy_id: str | None) -> None:
        if deploy_id is None:
            kd.delete_deployment(self.kube, self.canary_name)
        else:
            kd.delete_canary(self.kube, self.canary_name, deploy_id)

    def canary_health(self, canary: Canary, *, desired: int, image: str, since: datetime | None,
                      max_restarts: int) -> list[MetricResult]:
        from magent.services.kube.health import pod_health

        return pod_health(self.kube, canary.selector, desired=desired, image=image, since=since,
                          max_restarts=max_restarts)

    # --- promotion and its undo ----------------------------------------------------------------------------

    def set_stable_image(self, stable: StableVersion, container: str, image: str, cause: str) -> None:
        assert isinstance(stable, kd.Deployment)
        kd.set_image(self.kube, stable, container, image, cause)

    def wait_rollout(self, *, timeout_s: float, on_poll: Callable[[RolloutStatus], None] | None = None) -> None:
        kd.wait_rollout(self.kube, self.name, timeout_s=timeout_s, on_poll=on_poll)

    def undo_promotion(self, final: CanaryState) -> UndoneTo:
        """`kubectl rollout undo`, the final state written by the same patch (so no moment claims otherwise)."""
        from magent.services.kube.revisions import plan_undo, undo

        plan = plan_undo(self.kube, self.stable(), 0, overrides={STATE_ANNOTATION: final.to_json()})
        return UndoneTo(plan.to_revision, wrote_state=undo(self.kube, plan) is not None)

    def rollout_hint(self) -> str:
        return f"kubectl rollout status deployment/{self.name} -n {self.kube.namespace}; kubectl describe the pods"

    def describe(self) -> dict[str, Any]:
        return {"target": self.kind, "deployment": self.name, "namespace": self.kube.namespace}
