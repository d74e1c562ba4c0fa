"""`magent rollback`: abort a canary in progress, or undo the stable Deployment as `kubectl rollout undo` does.

The critical path touches the Kubernetes API only: read the Deployment, send the one request that rolls
back (the canary's scale to zero, or the undo patch), then wait for the rollout and check the pods. The
audit trail (`audited`) opens once the request is answered and writes on a worker thread while the
rollout proceeds; it is closed, with a bounded wait, after the outcome is on screen. So a rollback completes
when Postgres, the metrics backends, Mistral and the webhook are all down, and is not slower for them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from magent.core.canary import STATE_ANNOTATION, CanaryState, Phase, canary_name, event, nothing_to_undo
from magent.core.canary_manifest import is_canary_of
from magent.core.errors import InconsistentState
from magent.services.kube import deployments as kd
from magent.services.kube.client import Kube
from magent.services.kube.objects import Deployment
from magent.services.kube.revisions import UndoResult, plan_undo, undo
from magent.services.kube.rollout_watch import wait_rollout_watching

# the rollout is followed on a watch (rollout_watch); this is the poll's pace when the API server refuses watches
ROLLOUT_POLL_S = 0.1
AUDIT_CLOSE_TIMEOUT_S = 2.0
NOTIFY_KINDS = frozenset({"rolled_back", "rollback_failed"})

ABORT_CANARY = "abort-canary"
UNDO = "undo"
SKIP = "skip"


@dataclass(frozen=True)
class RollbackPlan:
    """What the rollback will do: abort the canary (`state`) and/or undo the stable (`undo`)."""

    deployment: str
    namespace: str
    action: str
    current_images: list[str]
    target_images: list[str]
    state: CanaryState | None = None
    undo: UndoResult | None = None
    from_revision: int | None = None
    note: str = ""  # why the target is the right one, or why there is nothing to undo

    @property
    def to_revision(self) -> int | None:
        return self.undo.to_revision if self.undo else None

    def describe(self) -> str:
        current, target = ", ".join(self.current_images), ", ".join(self.target_images)
        if self.action == ABORT_CANARY:
            return f"abort the canary of {current} (scale {canary_name(self.deployment)} to 0); keep {target}"
        if self.action == SKIP:
            return self.note or (self.undo.message if self.undo else "nothing to do")
        revisions = f"revision {self.from_revision} → {self.to_revision}" if self.from_revision else \
            f"to revision {self.to_revision}"
        text = f"roll back {self.deployment} from {current} to {target} ({revisions})"
        return f"{text}; {self.note}" if self.note else text

    def to_dict(self) -> dict[str, Any]:
        return {"deployment": self.deployment, "namespace": self.namespace, "action": self.action,
                "current_images": self.current_images, "target_images": self.target_images,
                "to_revision": self.to_revision, "canary_deploy_id": self.state.deploy_id if self.state else None,
                "description": self.describe()}


def plan_rollback(kube: Kube, name: str, to_revision: int = 0) -> RollbackPlan:
    """Read-only: abort the canary in progress (and undo the stable too with --to-revision), or undo the stable."""
    stable = kd.get_deployment(kube, name)
    state = kd.read_state(stable)
    canary = kd.find_deployment(kube, canary_name(name))
    canary_live = canary is not None and is_canary_of(canary.raw, name) and canary.replicas > 0
    unfinished = state is not None and not state.phase.terminal
    # a promotion that already set the stable's image is undone; before that, only the canary is to abort
    promoted_stable = unfinished and state.phase is Phase.PROMOTING and stable.image_of(state.container) == state.image
    if (unfinished or canary_live) and not promoted_stable:
        current = canary.images if canary is not None else [state.image]
        undo_plan = plan_undo(kube, stable, to_revision) if to_revision else None
        target = undo_plan.to_images if undo_plan else stable.images
        return RollbackPlan(name, kube.namespace, ABORT_CANARY, current, target, state, undo_plan)
    if state is not None and not to_revision and _left_as_before(stable, state):
        note = nothing_to_undo(name, state, units="pods", history=f"magent history -d {name} --revisions")
        return RollbackPlan(name, kube.namespace, SKIP, stable.images, stable.images, note=note)
    overrides = None
    promoted = state is not None and state.phase is Phase.PROMOTED and stable.image_of(state.container) == state.image
    if promoted_stable:  # the new ReplicaSet must exist for "the previous revision" to be the one before it
        stable = kd.wait_observed(kube, name)
    if promoted_stable or promoted:  # after the undo the state must not claim "promoted" any more
        overrides = {STATE_ANNOTATION: state.moved(phase=Phase.ABORTED, reason="rolled back").to_json()}
    undo_plan = plan_undo(kube, stable, to_revision, overrides=overrides)
    action = SKIP if undo_plan.skipped else UNDO
    keep = state if overrides else None
    note = ""
    if overrides and state is not None and state.previous_image in undo_plan.to_images:
        note = f"{state.previous_image} is what ran before deploy {state.deploy_id} of {state.image}"
    return RollbackPlan(name, kube.namespace, action, stable.images, undo_plan.to_images, keep, undo_plan,
                        from_revision=_revision(stable), note=note)


def _left_as_before(stable: Deployment, state: CanaryState) -> bool:
    """The last deploy ended aborted (never promoted, or already rolled back) and the stable runs what it ran
    before it: undoing again would put back the version that was rolled away from."""
    return state.phase is Phase.ABORTED and stable.image_of(state.container) == state.previous_image


def _revision(deployment: Deployment) -> int | None:
    value = deployment.annotations.get("deployment.kubernetes.io/revision", "")
    return int(value) if value.isdigit() else None


@dataclass
class RollbackOutcome:
    plan: RollbackPlan
    request_seconds: float | None  # command start → rollback request answered, less the time at the prompt
    health: list[dict]
    message: str


def execute(
    kube: Kube, plan: RollbackPlan, *, reason: str | None, actor: str, timeout_s: float,
    on_event: Callable[[dict], None], started: float | None = None,
) -> RollbackOutcome:
    """Send the rollback request first, then record the state, wait for the rollout and check the pods."""
    started = time.monotonic() if started is None else started
    emit = _emitter(kube, plan, on_event)
    if plan.action == SKIP:
        emit("rollback_skipped", message=plan.describe())
        return RollbackOutcome(plan, None, [], plan.describe())
    why = f"rolled back by {actor}" + (f": {reason}" if reason else "")
    plan = _with_reason(plan, why)
    if plan.action == ABORT_CANARY:
        from magent.services.kube.routes import unweigh_all

        unweigh_all(kube, plan.deployment)  # a Gateway API route first: no request for the canary from here on
        kd.scale_to_zero(kube, canary_name(plan.deployment))  # already gone: the state is fixed after the request
    if plan.undo is not None:
        undo(kube, plan.undo)
    request_seconds = round(time.monotonic() - started, 3)
    emit("rollback_requested", action=plan.action, seconds=request_seconds)
    _after_request(kube, plan, why, actor)
    _load_verify()  # during the rollout rather than after it, when "ROLLED BACK" is due
    wait_rollout_watching(kube, plan.deployment, timeout_s=timeout_s, poll_s=ROLLOUT_POLL_S)
    health = verify(kube, kd.get_deployment(kube, plan.deployment))
    emit("rolled_back", action=plan.action, to_revision=plan.to_revision, images=plan.target_images, reason=reason)
    return RollbackOutcome(plan, request_seconds, health, plan.describe())


@contextmanager
def audited(settings: Any, plan: RollbackPlan, *, actor: str, reason: str | None,
            on_event: Callable[[dict], None], context: str | None = None) -> Iterator[Callable[[dict], None]]:
    """The rollback's audit trail (store and webhook): yields the event sink to give `execute`.

    Each event goes to `on_event` (the screen) first, then to the trail, which opens on the first event (after
    the rollback request, off the critical path). On leaving, the outcome is recorded: rolled_back with the
    reason, or rollback_failed with the error (which is re-raised); the wait for the writes is bounded.
    """
    from magent.core.timeutil import isoformat, utcnow
    from magent.workflows.deploy.audit import AuditTrail, DeploymentRecord

    trail: list[AuditTrail] = []
    last: dict[str, Any] = {}  # the latest event, which a failure event extends

    def opened() -> AuditTrail:
        if not trail:
            record = DeploymentRecord(plan.namespace, plan.deployment, ", ".join(plan.target_images),
                                      ", ".join(plan.current_images), actor, last.get("at") or isoformat(utcnow()),
                                      context=context)
            trail.append(AuditTrail(settings, record, notify_kinds=NOTIFY_KINDS))
        return trail[0]

    def sink(record: dict) -> None:
        on_event(record)
        last.clear()
        last.update(record)
        opened().event(record)

    try:
        yield sink
    except BaseException as exc:
        message = "interrupted" if isinstance(exc, KeyboardInterrupt) else \
            getattr(exc, "message", None) or str(exc) or type(exc).__name__
        opened().event({**last, "at": isoformat(utcnow()), "event": "rollback_failed", "deployment": plan.deployment,
                        "namespace": plan.namespace, "reason": message})
        opened().finish("rollback_failed", message, isoformat(utcnow()))
        raise
    else:
        opened().finish("rolled_back", reason, isoformat(utcnow()))
    finally:
        opened().close(timeout_s=AUDIT_CLOSE_TIMEOUT_S)


def _with_reason(plan: RollbackPlan, why: str) -> RollbackPlan:
    """Put the reason into the state the undo patch writes (when a promotion is rolled back)."""
    if plan.state is None or plan.undo is None or not plan.undo.patch or plan.action == ABORT_CANARY:
        return plan
    final = plan.state.moved(phase=Phase.ABORTED, reason=why)
    patch = [dict(op) for op in plan.undo.patch]
    patch[1] = {**patch[1], "value": {**patch[1]["value"], STATE_ANNOTATION: final.to_json()}}
    new_undo = UndoResult(**{**plan.undo.__dict__, "patch": patch})
    return RollbackPlan(**{**plan.__dict__, "undo": new_undo})


def _after_request(kube: Kube, plan: RollbackPlan, why: str, actor: str) -> None:
    """Record the abort on the stable, free the deploy lock (a running deploy sees it and stops), drop the canary."""
    from magent.services.kube import lease as kl  # here, not at the top: nothing before the request needs it

    if plan.action == ABORT_CANARY and plan.state is not None and not plan.state.phase.terminal:
        final = plan.state.moved(phase=Phase.ABORTED, reason=why, holder=actor)

        def changed(current: CanaryState | None) -> Exception | None:
            if current is not None and current.deploy_id != final.deploy_id:
                return InconsistentState("a new deploy started during the rollback", hint="magent status")
            return None

        kd.write_state(kube, plan.deployment, final, unless=changed)
    if plan.state is not None or plan.action == ABORT_CANARY:
        kl.release(kube, plan.deployment)
        kd.delete_deployment(kube, canary_name(plan.deployment))


def _load_verify() -> None:
    import magent.core.judge
    import magent.services.kube.health  # noqa: F401


def verify(kube: Kube, stable: Deployment) -> list[dict]:
    """The stable pods after the rollback: all ready, none crash-looping; InconsistentState (exit 4) otherwise."""
    from magent.core.judge import Verdict
    from magent.services.kube.health import failures, readiness

    selector = kd.label_selector(stable.selector)
    selector = f"{selector},track!=canary" if selector else "track!=canary"
    pods = [p for p in kd.list_pods(kube, selector) if not p.metadata.get("deletionTimestamp")]
    checks = [readiness(pods, stable.replicas, "stable"), failures(pods, "stable")]
    bad = [c for c in checks if c.verdict is not Verdict.PASS]
    if bad and stable.replicas > 0:
        raise InconsistentState(
            f"deployment {stable.name} rolled back, but its pods are not healthy: "
            + "; ".join(f"{c.name} {c.detail}" for c in bad),
            hint=f"kubectl get pods -n {kube.namespace}; kubectl describe deployment {stable.name}")
    return [c.to_dict() for c in checks]


def _emitter(kube: Kube, plan: RollbackPlan, on_event: Callable[[dict], None]) -> Callable[..., None]:
    def emit(kind: str, **fields: Any) -> None:
        on_event(event(kind, deployment=plan.deployment, namespace=kube.namespace, **fields))

    return emit
