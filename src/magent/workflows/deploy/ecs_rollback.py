"""`magent rollback --target ecs`: abort the canary in progress, or point the stable service back at the task
definition it ran before the last promoted deploy (or at `--to-revision N` of its family).

The critical path is the one request that rolls back (the listener's weights to 100/0 for a canary, UpdateService
for the stable), then the state write, then the wait for the service's deployment; as on Kubernetes, the audit
trail comes after, in the CLI.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from magent.core.canary import CanaryState, Phase, event, nothing_to_undo
from magent.core.errors import InconsistentState, UsageError
from magent.services.aws import ecs as es
from magent.services.targets.ecs import PREVIOUS_TASK_DEFINITION_TAG, EcsStable, EcsTarget

ABORT_CANARY, UNDO, SKIP = "abort-canary", "undo", "skip"


@dataclass(frozen=True)
class EcsRollbackPlan:
    deployment: str  # the service
    namespace: str  # the cluster
    action: str
    current_images: list[str]
    target_images: list[str]
    state: CanaryState | None = None
    from_task_definition: str | None = None
    to_task_definition: str | None = None
    note: str = ""

    @property
    def to_revision(self) -> str | None:
        return _revision(self.to_task_definition)

    def describe(self) -> str:
        current, target = ", ".join(self.current_images), ", ".join(self.target_images)
        if self.action == ABORT_CANARY:
            return (f"abort the canary of {current} (listener back to 100/0, {self.deployment}-canary removed); "
                    f"keep {target}")
        if self.action == SKIP:
            return self.note
        text = (f"roll back ECS service {self.deployment} from {current} to {target} "
                f"(task definition {_revision(self.from_task_definition)} → {self.to_revision})")
        return f"{text}; {self.note}" if self.note else text

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.deployment, "cluster": self.namespace, "action": self.action,
                "current_images": self.current_images, "target_images": self.target_images,
                "to_revision": self.to_revision, "canary_deploy_id": self.state.deploy_id if self.state else None,
                "description": self.describe()}


@dataclass
class EcsRollbackOutcome:
    plan: EcsRollbackPlan
    request_seconds: float | None
    health: list[dict]
    message: str


def _revision(arn: str | None) -> str | None:
    return arn.rsplit("/", 1)[-1] if arn else None


def _images(definition: dict[str, Any]) -> list[str]:
    return [c.get("image", "") for c in definition.get("containerDefinitions", [])]


def plan_ecs_rollback(target: EcsTarget, to_revision: int = 0) -> EcsRollbackPlan:
    """Read-only: what the rollback will do."""
    stable = target.stable()
    state = target.read_state(stable)
    name, cluster = target.name, target.scope
    canary = es.find_service(target.ecs, cluster, target.canary_name)
    unfinished = state is not None and not state.phase.terminal
    promoting = unfinished and state is not None and state.phase is Phase.PROMOTING
    if (unfinished and not promoting) or (canary is not None and canary.desired > 0 and not promoting):
        current = [state.image] if state else _images(es.describe_task_definition(target.ecs, canary.task_definition))
        return EcsRollbackPlan(name, cluster, ABORT_CANARY, current, _images(stable.task_definition), state)
    if to_revision:
        family = stable.task_definition.get("family", "")
        goal = es.describe_task_definition(target.ecs, f"{family}:{to_revision}")["taskDefinitionArn"]
        return _undo(target, stable, state, goal, note="")
    if state is not None and state.phase is Phase.ABORTED and stable.image_of(state.container) == state.previous_image:
        return EcsRollbackPlan(name, cluster, SKIP, _images(stable.task_definition), _images(stable.task_definition),
                               note=nothing_to_undo(name, state, units="tasks", history=(
                                   f"magent history --target ecs --cluster {cluster} --service {name} --revisions")))
    previous = stable.service.tags.get(PREVIOUS_TASK_DEFINITION_TAG)
    if not previous:
        raise UsageError(f"ECS service {name} records no task definition from before a magent deploy",
                         hint="pass --to-revision N (a revision of the task definition's family)")
    note = f"{state.previous_image} is what ran before deploy {state.deploy_id} of {state.image}" if state else ""
    return _undo(target, stable, state, previous, note=note)


def _undo(target: EcsTarget, stable: EcsStable, state: CanaryState | None, goal: str, *, note: str) -> EcsRollbackPlan:
    current = stable.service.task_definition
    images = _images(es.describe_task_definition(target.ecs, goal))
    if goal == current:
        return EcsRollbackPlan(target.name, target.scope, SKIP, images, images, state, current, goal,
                               note=f"skipped rollback (the service already runs {_revision(goal)})")
    return EcsRollbackPlan(target.name, target.scope, UNDO, _images(stable.task_definition), images, state, current,
                           goal, note=note)


def execute_ecs(target: EcsTarget, plan: EcsRollbackPlan, *, reason: str | None, actor: str, timeout_s: float,
                on_event: Callable[[dict], None], started: float | None = None) -> EcsRollbackOutcome:
    """Send the rollback request first, then record the state, wait for the service, and check its tasks."""
    started = time.monotonic() if started is None else started

    def emit(kind: str, **fields: Any) -> None:
        on_event(event(kind, deployment=plan.deployment, namespace=plan.namespace, **fields))

    if plan.action == SKIP:
        emit("rollback_skipped", message=plan.describe())
        return EcsRollbackOutcome(plan, None, [], plan.describe())
    why = f"rolled back by {actor}" + (f": {reason}" if reason else "")
    if plan.action == ABORT_CANARY:
        target.canary_to_zero()  # the listener first: the canary serves nothing from this call on
    else:
        es.update_service(target.ecs, target.scope, target.name, task_definition=plan.to_task_definition)
    request_seconds = round(time.monotonic() - started, 3)
    emit("rollback_requested", action=plan.action, seconds=request_seconds)
    if plan.state is not None:
        final = plan.state.moved(phase=Phase.ABORTED, reason=why, holder=actor)
        target.write_state(final, unless=lambda current: _changed(current, final))
        holder = target.lock_holder()
        if holder is not None and holder.holder:
            target.release_lock(holder.holder)  # a running deploy sees the lock gone and stops
    target.remove_canary(None)
    done = es.wait_for_rollout(target.ecs, target.scope, target.name,
                               task_definition=es.get_service(target.ecs, target.scope, target.name).task_definition,
                               timeout_s=timeout_s, poll_s=1.0)
    health = [{"name": "tasks_running", "value": done.running, "detail": f"{done.running}/{done.desired} running"}]
    emit("rolled_back", action=plan.action, to_revision=plan.to_revision, images=plan.target_images, reason=reason)
    return EcsRollbackOutcome(plan, request_seconds, health, plan.describe())


def _changed(current: CanaryState | None, final: CanaryState) -> Exception | None:
    if current is not None and current.deploy_id != final.deploy_id:
        return InconsistentState("a new deploy started during the rollback", hint="magent status --target ecs")
    return None
