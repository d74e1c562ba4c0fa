"""The deploy loop: lock, walk the canary steps analysing every interval, then abort or promote.

Decisions are `core.canary`'s; this module performs them against the cluster and reports each as an event
(`on_event`, also queued for the audit trail). The canary state is written to the stable Deployment before
each action, so a new process can `--resume` (or `magent rollback`) whatever point this one died at.

Abort: the canary is scaled to zero first (nothing else comes before it), then the state is recorded and
the canary Deployment deleted (it has no pods left; the next deploy creates a fresh one). Ctrl-C and
SIGTERM abort the same way before the process exits 130; during promotion they leave the stable rollout
alone (it is the new version by then) and say how to finish or undo it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from magent.core.canary import (
    Action,
    CanaryState,
    Phase,
    Plan,
    PlanStep,
    Resume,
    advance,
    canary_name,
    canary_replicas,
    decide,
    event,
    new_deploy_id,
    plan,
    resume_point,
)
from magent.core.canary_manifest import canary_manifest, pick_container
from magent.core.errors import CheckFailed, InconsistentState, MagentError, UsageError
from magent.core.timeutil import isoformat, utcnow
from magent.services.deploy.analysis import StepAnalysis, build_target
from magent.services.deploy.finish import Finisher
from magent.services.kube import deployments as kd
from magent.services.kube import lease as kl
from magent.services.kube.client import Kube

log = logging.getLogger(__name__)
EventSink = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class DeployOptions:
    deployment: str
    image: str | None
    weights: list[int]
    pause_s: float
    interval_s: float
    max_inconclusive: int
    container: str | None = None
    resume: bool = False


@dataclass(frozen=True)
class Prepared:
    """What `prepare()` found: the plan, and the state to resume (None for a new deploy)."""

    plan: Plan
    resume_state: CanaryState | None


class Preempted(CheckFailed):
    """Someone else (`magent rollback`) ended this deploy while it ran."""


class Deployer:
    """Runs one `magent deploy` against `kube`; `prepare()` is read-only (it is all --dry-run does)."""

    def __init__(self, kube: Kube, settings: Any, options: DeployOptions, *, on_event: EventSink,
                 holder: str | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        from magent.core.analysis_config import parse_analysis

        self.kube, self.settings, self.options = kube, settings, options
        self.analysis_settings = parse_analysis(settings.deploy.analysis, aws=settings.aws)
        self.holder = holder or kl.identity()
        self._on_event, self._sleep = on_event, sleep
        self._renewed_at = 0.0
        self.current: CanaryState | None = None  # the state as last written to the cluster
        self.audit: Any = None
        self.finisher = Finisher(self)

    # --- preparation (read-only) -----------------------------------------------------------------------------

    def prepare(self) -> Prepared:
        name, opts = self.options.deployment, self.options
        stable = kd.get_deployment(self.kube, name)
        if stable.paused:
            raise InconsistentState(f"deployment {name} is paused: someone is changing it by hand",
                                    hint=f"resume it first (kubectl rollout resume deployment/{name})")
        state = kd.read_state(stable)
        in_progress = state is not None and not state.phase.terminal
        if in_progress and not opts.resume:
            self._refuse_unfinished(state)
        if opts.resume:
            if state is None or not in_progress:
                raise UsageError(f"no unfinished deploy of {name} to resume", hint="run it without --resume")
            if opts.image and opts.image != state.image:
                raise UsageError(f"--resume: the unfinished deploy of {name} is {state.image}, not {opts.image}",
                                 hint=f"run `magent deploy {state.image} --deployment {name} --resume`, "
                                      f"or `magent rollback --deployment {name}` first")
            image, container, weights, previous = state.image, state.container, state.weights, state.previous_image
        else:
            if not opts.image:
                raise UsageError("give the IMAGE to deploy", hint="magent deploy IMAGE --deployment NAME")
            image, weights = opts.image, opts.weights
            container = pick_container(name, stable.containers, image, opts.container)
            previous = stable.image_of(container) or ""
        the_plan = plan(deployment=name, namespace=self.kube.namespace, image=image, previous_image=previous,
                        container=container, stable_replicas=stable.replicas, weights=weights,
                        pause_s=opts.pause_s, interval_s=opts.interval_s, max_inconclusive=opts.max_inconclusive)
        return Prepared(the_plan, state if opts.resume else None)

    def _refuse_unfinished(self, state: CanaryState) -> None:
        lease = kl.read_lease(self.kube, self.options.deployment)
        if lease is not None and not lease.expired():
            raise kl.LeaseHeld(self.options.deployment, lease)
        name = self.options.deployment
        raise InconsistentState(
            f"an unfinished deploy of {state.image} ({state.deploy_id}, {state.phase.value}, step {state.step + 1}) "
            f"is recorded on {name}, and its process ({state.holder}) is gone",
            hint=f"continue it with `magent deploy {state.image} --deployment {name} --resume`, "
                 f"or abort it with `magent rollback --deployment {name}`")

    # --- the run -------------------------------------------------------------------------------------------

    def run(self, prepared: Prepared) -> CanaryState:
        """Lock, then walk the steps; returns the final (promoted or aborted) state."""
        name = self.options.deployment
        kl.acquire(self.kube, name, self.holder, int(self.settings.deploy.lease_duration),
                   take_over_dead=self.options.resume)
        self._renewed_at = time.monotonic()
        try:
            return self._walk(self._start(prepared))
        except KeyboardInterrupt:
            raise self.finisher.interrupted(self.current) from None
        except (Preempted, kl.LeaseLost) as exc:
            return self.finisher.preempted(self.current, exc)
        except MagentError as exc:
            self.finisher.failed(self.current, exc)
            raise
        finally:
            self._release()

    def _start(self, prepared: Prepared) -> CanaryState:
        the_plan = prepared.plan
        self._open_audit(the_plan)
        if self.analysis_settings.enabled_providers():
            from magent.services.metrics import prepare

            prepare(self.analysis_settings)  # heavy imports (scipy, boto3) in the background
        if prepared.resume_state is not None:
            state = self.current = prepared.resume_state.moved(holder=self.holder)
            self.emit("resumed", state, phase=state.phase.value)
            return state
        state = CanaryState(deploy_id=new_deploy_id(), image=the_plan.image, previous_image=the_plan.previous_image,
                            container=the_plan.container, weights=[s.weight for s in the_plan.steps],
                            phase=Phase.PROGRESSING, holder=self.holder)
        state = self.save(state, new=True)
        self.emit("started", state, previous_image=state.previous_image, plan=the_plan.to_dict())
        return state

    def _walk(self, state: CanaryState) -> CanaryState:
        if self.options.resume:
            canary = kd.find_deployment(self.kube, canary_name(self.options.deployment))
            point = resume_point(state, canary.replicas if canary else None)
            if point is Resume.FINISH_ABORT:
                return self.finisher.abort(state, state.reason or "an interrupted abort, completed by --resume")
            if point is Resume.PROMOTE:
                return self.finisher.promote(state)
        while state.phase is not Phase.PROMOTING:
            state = self._run_step(state)
            if state.phase.terminal:
                return state
        return self.finisher.promote(state)

    def _run_step(self, state: CanaryState) -> CanaryState:
        """Size the canary for this step, then analyse every interval until the step passes or aborts."""
        name, weight = self.options.deployment, state.weight or 0
        stable = kd.get_deployment(self.kube, name)  # the CURRENT replicas: an HPA may have moved them
        replicas = PlanStep(state.step, weight, canary_replicas(stable.replicas, weight), stable.replicas)
        state = self.save(state.moved(phase=Phase.PROGRESSING))
        manifest = canary_manifest(stable.raw, image=state.image, container=state.container,
                                   replicas=replicas.canary_replicas, deploy_id=state.deploy_id)
        kd.ensure_canary(self.kube, manifest)
        self.emit("canary_scaled", state, canary_replicas=replicas.canary_replicas,
                  stable_replicas=replicas.stable_replicas, share=replicas.share)
        state = self.save(state.moved(phase=Phase.ANALYSING))
        analysis = self._step_analysis(state, stable, manifest)
        return self._analyse_step(state, analysis, replicas.canary_replicas)

    def _step_analysis(self, state: CanaryState, stable: kd.Deployment, manifest: dict) -> StepAnalysis:
        target = build_target(self.settings, self.analysis_settings, namespace=self.kube.namespace,
                              deployment=stable.name, canary=manifest["metadata"]["name"],
                              stable_image=stable.image_of(state.container) or state.previous_image,
                              canary_image=state.image, window_s=max(self.options.interval_s, 1.0))
        return StepAnalysis(self.kube, self.settings, self.analysis_settings,
                            kd.label_selector(manifest["spec"]["selector"]), state.image, target,
                            self.options.interval_s)

    def _analyse_step(self, state: CanaryState, analysis: StepAnalysis, desired: int) -> CanaryState:
        started_wall, start = utcnow(), time.monotonic()
        pause_end, next_tick = start + self.options.pause_s, start + self.options.interval_s
        while True:
            self.wait_until(next_tick)
            next_tick = max(next_tick + self.options.interval_s, time.monotonic())
            result = analysis.run(desired=desired, since=started_wall)
            action, count = decide(result.verdict.value, pause_elapsed=time.monotonic() >= pause_end,
                                   inconclusive=state.inconclusive, max_inconclusive=self.options.max_inconclusive)
            summary = {"at": isoformat(result.at), "verdict": result.verdict.value, "summary": result.summary()}
            state = self.save(state.moved(inconclusive=count, last_analysis=summary))
            self.emit("analysis", state, verdict=result.verdict.value, action=action.value, inconclusive=count,
                      summary=result.summary(), canary_desired=desired,
                      metrics=[m.to_dict() for m in result.metrics])
            if action is Action.ABORT:
                reason = result.summary() if result.failed else (
                    f"{count} inconclusive analyses after the pause (--max-inconclusive {self.options.max_inconclusive})"
                    f": {result.summary()}")
                return self.finisher.abort(state, reason)
            if action is Action.ADVANCE:
                self.emit("step_passed", state)
                return advance(state)

    # --- helpers shared with the Finisher --------------------------------------------------------------------

    def emit(self, kind: str, state: CanaryState | None, **fields: Any) -> None:
        record = event(kind, deployment=self.options.deployment, namespace=self.kube.namespace, state=state, **fields)
        self._on_event(record)
        if self.audit is not None:
            self.audit.event(record)

    def save(self, state: CanaryState, *, new: bool = False, final: bool = False) -> CanaryState:
        """Write the state; Preempted if another process ended (or replaced) this deploy meanwhile."""

        def conflict(current: CanaryState | None) -> Exception | None:
            if new:
                if current is not None and not current.phase.terminal:
                    return kl.LeaseLost(f"another deploy ({current.deploy_id}) started on {self.options.deployment}")
                return None
            if current is None or current.deploy_id != state.deploy_id:
                return Preempted(f"the deploy of {state.image} on {self.options.deployment} was replaced")
            if current.phase.terminal and not final:
                return Preempted(f"the deploy of {state.image} was {current.phase.value} by {current.holder}: "
                                 f"{current.reason or 'no reason given'}")
            return None

        self.renew_if_due()
        kd.write_state(self.kube, self.options.deployment, state, unless=conflict)
        self.current = state
        return state

    def wait_until(self, moment: float) -> None:
        """Sleep until `moment` (monotonic), renewing the lease on the way."""
        while (remaining := moment - time.monotonic()) > 0:
            renew_in = self._renewed_at + self._renew_every() - time.monotonic()
            self._sleep(max(0.0, min(remaining, renew_in)))
            self.renew_if_due()

    def renew_if_due(self) -> None:
        if time.monotonic() - self._renewed_at >= self._renew_every():
            kl.renew(self.kube, self.options.deployment, self.holder)
            self._renewed_at = time.monotonic()

    def _renew_every(self) -> float:
        return self.settings.deploy.lease_duration / 3

    def _open_audit(self, the_plan: Plan) -> None:
        from magent.services.deploy.audit import AuditTrail, DeploymentRecord

        record = DeploymentRecord(self.kube.namespace, the_plan.deployment, the_plan.image, the_plan.previous_image,
                                  self.holder, isoformat(utcnow()))
        self.audit = AuditTrail(self.settings, record, notify_kinds=NOTIFY_KINDS)

    def _release(self) -> None:
        try:
            kl.release(self.kube, self.options.deployment, self.holder)
        except Exception:  # noqa: BLE001 - an unreleased lease expires by itself
            log.debug("lease release failed", exc_info=True)
        if self.audit is not None:
            self.audit.close()


NOTIFY_KINDS = frozenset({"started", "aborted", "promoted", "promotion_failed", "interrupted"})

