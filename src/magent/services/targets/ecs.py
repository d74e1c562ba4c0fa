"""The `DeployTarget` of an ECS (Fargate) service behind an ALB: a traffic-weighted canary.

    canary    a new task-definition revision (the stable's, with the new image) run as `<service>-canary` in the
              canary target group; the listener's forward action sends it exactly the step's share of requests
              (ALB weights: 10 % is 10 %, where a replica-ratio canary can only approximate it)
    abort     weights back to 100/0 in one ModifyListener call, then the canary service to 0 and deleted
    promote   the stable service pointed at the new revision, its deployment awaited (rolloutState COMPLETED),
              weights back to the stable, the canary service deleted
    undo      the stable service back to the revision it ran before (kept in its tags)
    state     the deploy state and the lock live in the stable service's tags (compressed, in 256-character
              chunks): they survive the CI runner, need no table, and `aws ecs list-tags-for-resource` shows them

Tags have no compare-and-swap: two writers could interleave. The lock (checked again right after it is taken) is
what keeps a second deploy out; the state is only written by the lock's holder or by `magent rollback`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from magent.core.canary import CanaryState, canary_name
from magent.core.ecs_health import AlbCheck, alb_errors, alb_latency, tasks_failed, tasks_running
from magent.core.errors import InconsistentState, UsageError
from magent.core.judge import MetricResult
from magent.core.rollout import RolloutStatus
from magent.core.tag_chunks import TagChunksError, from_tags, stale_keys, to_tags
from magent.core.timeutil import isoformat, parse_instant, utcnow
from magent.services.aws import ecs as es
from magent.services.targets import Canary, StableVersion, StateGuard, UndoneTo
from magent.services.targets.lock import LeaseHeld, LeaseInfo, LeaseLost, holder_is_dead_here

STATE_TAG = "magent.dev/state"
LOCK_HOLDER_TAG = "magent.dev/lock-holder"
LOCK_RENEWED_TAG = "magent.dev/lock-renewed"
LOCK_DURATION_TAG = "magent.dev/lock-duration"
PREVIOUS_TASK_DEFINITION_TAG = "magent.dev/previous-task-definition"
DEPLOY_ID_TAG = "magent.dev/deploy-id"


@dataclass(frozen=True)
class EcsStable:
    """The stable service and its task definition, as the deploy workflow reads them."""

    service: es.EcsService
    task_definition: dict[str, Any]
    paused: bool = False
    images: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def replicas(self) -> int:
        return self.service.desired

    @property
    def containers(self) -> list[dict[str, Any]]:
        return list(self.task_definition.get("containerDefinitions", []))

    def image_of(self, container: str | None) -> str | None:
        if container is None:
            return next(iter(self.images.values()), None)
        return self.images.get(container)


@dataclass(frozen=True)
class Traffic:
    """Where the ALB sends requests: the listener (or rule) and the two target groups."""

    listener_arn: str
    stable_target_group: str
    canary_target_group: str
    rule_arn: str | None = None
    load_balancer_arn: str = ""


class EcsTarget:
    kind = "ecs"

    def __init__(self, ecs: es.Ecs, cluster: str, service: str, *, listener_arn: str | None = None,
                 rule_arn: str | None = None, canary_target_group: str | None = None,
                 alb: AlbCheck | None = None) -> None:
        self.ecs, self.scope, self.name, self.alb = ecs, cluster, service, alb
        self._given = (listener_arn, rule_arn, canary_target_group)
        self._traffic: Traffic | None = None

    @property
    def canary_name(self) -> str:
        return canary_name(self.name)

    # --- the stable version and the deploy state -----------------------------------------------------------

    def stable(self) -> EcsStable:
        service = es.get_service(self.ecs, self.scope, self.name)
        definition = es.describe_task_definition(self.ecs, service.task_definition)
        images = {c["name"]: c.get("image", "") for c in definition.get("containerDefinitions", [])}
        return EcsStable(service, definition, images=images)

    def refuse_if_unsafe(self, stable: StableVersion) -> None:
        assert isinstance(stable, EcsStable)
        if stable.service.rollout_state == "IN_PROGRESS":
            raise InconsistentState(f"ECS service {self.name} is in the middle of a deployment",
                                    hint=f"wait for it: aws ecs wait services-stable --cluster {self.scope} "
                                         f"--services {self.name}")
        self.traffic(stable)

    def traffic(self, stable: EcsStable | None = None) -> Traffic:
        """The listener and target groups: from the configuration, else discovered from the service."""
        if self._traffic is None:
            self._traffic = self._discover(stable or self.stable())
        return self._traffic

    def _discover(self, stable: EcsStable) -> Traffic:
        listener, rule, canary_group = self._given
        groups = stable.service.target_groups
        if len(groups) != 1:
            raise UsageError(f"ECS service {self.name} has {len(groups)} target groups; magent needs exactly one",
                             hint="a canary shifts the listener's weights between the stable and a canary group")
        stable_group = groups[0]
        if listener is None:
            found = es.listeners_forwarding_to(self.ecs, stable_group)
            if len(found) != 1:
                raise UsageError(f"{len(found)} listeners forward to the target group of {self.name}",
                                 hint="name the one to shift with deploy.ecs.listener_arn")
            listener = found[0]
        if canary_group is None:
            others = [arn for arn in es.forward_weights(self.ecs, listener, rule) if arn != stable_group]
            if len(others) != 1:
                raise UsageError(f"no canary target group known for {self.name}",
                                 hint="set deploy.ecs.canary_target_group (an empty target group in the same VPC)")
            canary_group = others[0]
        return Traffic(listener, stable_group, canary_group, rule, es.load_balancer_of(self.ecs, listener))

    def _tags(self) -> dict[str, str]:
        return es.get_service(self.ecs, self.scope, self.name).tags

    def read_state(self, stable: StableVersion | None = None) -> CanaryState | None:
        tags = stable.service.tags if isinstance(stable, EcsStable) else self._tags()
        try:
            text = from_tags(STATE_TAG, tags)
        except TagChunksError as exc:
            raise InconsistentState(f"the deploy state on ECS service {self.name} is unreadable: {exc}",
                                    hint=f"remove the {STATE_TAG}.* tags to start afresh") from None
        return CanaryState.from_json(text, where=f"ECS service {self.name}") if text else None

    def write_state(self, state: CanaryState, *, unless: StateGuard) -> None:
        service = es.get_service(self.ecs, self.scope, self.name)
        problem = unless(self.read_state(EcsStable(service, {})))
        if problem is not None:
            raise problem
        tags = to_tags(STATE_TAG, state.to_json())
        es.write_tags(self.ecs, service.arn, tags, remove=stale_keys(STATE_TAG, service.tags, tags))

    # --- the deploy lock -----------------------------------------------------------------------------------

    def lock_holder(self) -> LeaseInfo | None:
        tags = self._tags()
        holder = tags.get(LOCK_HOLDER_TAG)
        if not holder:
            return None
        try:
            renewed = parse_instant(tags.get(LOCK_RENEWED_TAG, ""))
        except ValueError:
            renewed = None
        return LeaseInfo(f"tags of ECS service {self.name}", holder, int(tags.get(LOCK_DURATION_TAG) or 0),
                         renewed, None)

    def acquire_lock(self, holder: str, duration_s: int, *, take_over_dead: bool) -> None:
        current = self.lock_holder()
        if current is not None and current.holder != holder and not current.expired() and not (
                take_over_dead and holder_is_dead_here(current.holder)):
            raise LeaseHeld(self.name, current)
        self._write_lock(holder, duration_s)
        taken = self.lock_holder()  # no compare-and-swap on tags: make sure the last writer is us
        if taken is None or taken.holder != holder:
            raise LeaseHeld(self.name, taken) if taken else LeaseLost(f"the deploy lock of {self.name} vanished")

    def renew_lock(self, holder: str) -> None:
        current = self.lock_holder()
        if current is None or current.holder != holder:
            raise LeaseLost(f"the deploy lock of ECS service {self.name} is now held by "
                            f"{current.holder if current else 'nobody'}")
        self._write_lock(holder, current.duration_s)

    def release_lock(self, holder: str) -> None:
        current = self.lock_holder()
        if current is not None and current.holder == holder:
            arn = es.get_service(self.ecs, self.scope, self.name).arn
            es.write_tags(self.ecs, arn, {}, remove=[LOCK_HOLDER_TAG, LOCK_RENEWED_TAG, LOCK_DURATION_TAG])

    def _write_lock(self, holder: str, duration_s: int) -> None:
        arn = es.get_service(self.ecs, self.scope, self.name).arn
        es.write_tags(self.ecs, arn, {LOCK_HOLDER_TAG: holder, LOCK_RENEWED_TAG: isoformat(utcnow()),
                                      LOCK_DURATION_TAG: str(duration_s)})

    # --- the canary ----------------------------------------------------------------------------------------

    def canary_size(self) -> int | None:
        canary = es.find_service(self.ecs, self.scope, self.canary_name)
        return canary.desired if canary else None

    def size_canary(self, stable: StableVersion, state: CanaryState, replicas: int) -> Canary:
        assert isinstance(stable, EcsStable)
        traffic = self.traffic(stable)
        existing = es.find_service(self.ecs, self.scope, self.canary_name)
        if existing is not None and existing.tags.get(DEPLOY_ID_TAG) != state.deploy_id:
            es.delete_service(self.ecs, self.scope, self.canary_name)  # a previous deploy's leftover
            existing = None
        if existing is None:
            revision = es.register_with_image(self.ecs, stable.task_definition, state.image, state.container)
            existing = es.create_service_like(self.ecs, stable.service, self.canary_name, task_definition=revision,
                                              count=replicas, target_group=traffic.canary_target_group,
                                              tags={DEPLOY_ID_TAG: state.deploy_id})
        elif existing.desired != replicas:
            es.update_service(self.ecs, self.scope, self.canary_name, count=replicas)
        share = state.weight or 0
        es.set_forward_weights(self.ecs, traffic.listener_arn, {traffic.stable_target_group: 100 - share,
                                                                traffic.canary_target_group: share},
                               traffic.rule_arn)
        return Canary(self.canary_name, self.canary_name, {"taskDefinition": existing.task_definition},
                      traffic_percent=float(share))

    def canary_to_zero(self) -> None:
        """Traffic first (one call), then the tasks: the canary serves nothing from the first call on."""
        traffic = self.traffic()
        es.set_forward_weights(self.ecs, traffic.listener_arn, {traffic.stable_target_group: 100,
                                                                traffic.canary_target_group: 0}, traffic.rule_arn)
        if es.find_service(self.ecs, self.scope, self.canary_name) is not None:
            es.update_service(self.ecs, self.scope, self.canary_name, count=0)

    def remove_canary(self, deploy_id: str | None) -> None:
        canary = es.find_service(self.ecs, self.scope, self.canary_name)
        if canary is None or (deploy_id is not None and canary.tags.get(DEPLOY_ID_TAG) != deploy_id):
            return
        self.canary_to_zero()
        es.delete_service(self.ecs, self.scope, self.canary_name)

    def canary_health(self, canary: Canary, *, desired: int, image: str, since: datetime | None,
                      max_restarts: int) -> list[MetricResult]:
        service = es.find_service(self.ecs, self.scope, canary.name)
        running = service.running if service else 0
        failed = service.failed_tasks if service else 0
        results = [tasks_running(running, desired), tasks_failed(failed, max_restarts)]
        if self.alb is not None:
            results.extend(self._alb_health(since))
        return results

    def _alb_health(self, since: datetime | None) -> list[MetricResult]:
        """What the ALB saw of the canary target group since the step began (its share of 5xx, its latency)."""
        from magent.services.aws.cloudwatch import target_group_metrics

        assert self.alb is not None
        traffic, now = self.traffic(), utcnow()
        start = since if since is not None and since < now else now - timedelta(minutes=1)
        seen = target_group_metrics(self.ecs.cloudwatch, load_balancer=traffic.load_balancer_arn,
                                    target_group=traffic.canary_target_group, start=start,
                                    end=now + timedelta(seconds=1), latency_stat=self.alb.latency_stat,
                                    endpoint_url=self.ecs.endpoint_url)
        return [alb_errors(seen["errors_5xx"], seen["requests"], max_ratio=self.alb.max_5xx_ratio,
                           min_requests=self.alb.min_requests),
                alb_latency(seen["latency"], stat=self.alb.latency_stat, max_seconds=self.alb.max_latency_s)]

    # --- promotion and its undo ----------------------------------------------------------------------------

    def set_stable_image(self, stable: StableVersion, container: str, image: str, cause: str) -> None:
        assert isinstance(stable, EcsStable)
        revision = es.register_with_image(self.ecs, stable.task_definition, image, container)
        es.write_tags(self.ecs, stable.service.arn, {PREVIOUS_TASK_DEFINITION_TAG: stable.service.task_definition})
        es.update_service(self.ecs, self.scope, self.name, task_definition=revision)

    def wait_rollout(self, *, timeout_s: float, on_poll: Callable[[RolloutStatus], None] | None = None) -> None:
        wanted = es.get_service(self.ecs, self.scope, self.name).task_definition
        done = es.wait_for_rollout(self.ecs, self.scope, self.name, task_definition=wanted, timeout_s=timeout_s,
                                   poll_s=1.0)
        if on_poll:
            on_poll(RolloutStatus(f"service {self.name}: {done.running}/{done.desired} tasks of "
                                  f"{wanted.rsplit('/', 1)[-1]} running", True))

    def undo_promotion(self, final: CanaryState) -> UndoneTo:
        previous = self._tags().get(PREVIOUS_TASK_DEFINITION_TAG)
        if not previous:
            raise InconsistentState(f"ECS service {self.name} does not record the task definition it ran before",
                                    hint=f"aws ecs update-service --cluster {self.scope} --service {self.name} "
                                         "--task-definition FAMILY:REVISION")
        es.update_service(self.ecs, self.scope, self.name, task_definition=previous)
        return UndoneTo(previous.rsplit("/", 1)[-1], wrote_state=False)

    def rollout_hint(self) -> str:
        return f"aws ecs describe-services --cluster {self.scope} --services {self.name}"

    def describe(self) -> dict[str, Any]:
        return {"target": self.kind, "service": self.name, "cluster": self.scope}
