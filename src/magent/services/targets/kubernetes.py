"""The `DeployTarget` of a Kubernetes Deployment: a canary Deployment beside it, the state in an annotation on
the stable Deployment, the lock in a coordination.k8s.io Lease.

The canary's share of traffic is its share of the Service's pods (`router="replicas"`), or, with
`router="gateway-api"`, exactly the step's weight: the app's `HTTPRoute` is pointed at two Services,
`<service>-stable` and `<service>-canary`, weighted 100 − p / p; its own backendRefs come back when the canary ends
(before an abort scales the canary down, and when a promotion starts)."""

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

    def __init__(self, kube: Kube, deployment: str, *, router: str = "replicas", route: str | None = None) -> None:
        self.kube, self.name = kube, deployment
        self.router, self.route = router, route or deployment

    @property
    def scope(self) -> str:
        return self.kube.namespace

    @property
    def context(self) -> str | None:
        """The kubeconfig context: the audit trail tells apart clusters with the same namespace by it."""
        return self.kube.context

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
        share = self._weigh(stable, state.weight or 0) if self.router == "gateway-api" else None
        return Canary(manifest["metadata"]["name"], kd.label_selector(manifest["spec"]["selector"]), manifest,
                      traffic_percent=share)

    def _weigh(self, stable: kd.Deployment, percent: int) -> float:
        """The route at `percent` for the canary: Services on the stable ReplicaSet's pods and on the canary's."""
        from magent.services.kube import routes
        from magent.services.kube.revisions import replica_sets

        route = routes.get_route(self.kube, self.route)
        service = routes.original_service(route)
        model = self.kube.call(self.kube.core.read_namespaced_service, service, self.kube.namespace,
                               not_found=f"service {service} (of HTTPRoute {self.route}) not found")
        selector = dict((model.get("spec") or {}).get("selector") or {})
        current = [rs for rs in replica_sets(self.kube, stable) if rs.revision == stable.revision and rs.revision]
        template_hash = (current[0].labels.get("pod-template-hash") if current else None) or ""
        if not template_hash:
            raise InconsistentState(f"deployment {self.name}: no ReplicaSet of its revision {stable.revision}",
                                    hint=f"kubectl rollout status deployment/{self.name}")
        routes.ensure_service(self.kube, f"{service}-stable", service, {**selector, "pod-template-hash": template_hash})
        routes.ensure_service(self.kube, f"{service}-canary", service, {**selector, "track": "canary"})
        routes.weigh(self.kube, route, f"{service}-stable", f"{service}-canary", percent, deployment=self.name)
        return float(percent)

    def _unweigh(self, *, remove_services: bool) -> None:
        from magent.services.kube import routes

        if self.router != "gateway-api":
            return
        try:
            service = routes.original_service(routes.get_route(self.kube, self.route))
        except Exception:  # noqa: BLE001 - no route (anymore): nothing is weighed
            return
        routes.restore(self.kube, self.route)
        if remove_services:
            routes.delete_service(self.kube, f"{service}-stable")
            routes.delete_service(self.kube, f"{service}-canary")

    def canary_to_zero(self) -> None:
        """Scale the canary to zero, and return once its pods are out of service (Terminating or gone), so that
        the abort's "scaled to 0" is when the canary stopped taking requests, not when its spec said 0."""
        self._unweigh(remove_services=False)  # the route first: the canary gets no request from this patch on
        if kd.scale_to_zero(self.kube, self.canary_name):
            kd.wait_out_of_service(self.kube, self.canary_name)

    def remove_canary(self, deploy_id: str | None) -> None:
        self._unweigh(remove_services=True)
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
        self._unweigh(remove_services=False)  # the stable's pods are replaced now: the route's own Service again
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
