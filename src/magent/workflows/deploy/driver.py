"""The deploy loop: lock, walk the canary steps analysing every interval, then abort or promote.

Decisions are `core.canary`'s; this module performs them through a `DeployTarget` (a Kubernetes Deployment,
an ECS service) and reports each as an event (`on_event`, also queued for the audit trail). The canary state
is written to the stable workload before each action, so a new process can `--resume` (or `magent rollback`)
whatever point this one died at.

Abort: the canary is scaled to zero first (nothing else comes before it), then the state is recorded and
the canary Deployment deleted (it has no pods left; the next deploy creates a fresh one). Ctrl-C and
SIGTERM abort the same way before the process exits 130; during promotion they leave the stable rollout
alone (it is the new version by then) and say how to finish or undo it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from magent.core import ctrl_c
from magent.core.analysis_config import analyses_per_step
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
    new_deploy_id,
    plan,
    resume_point,
)
from magent.core.canary_manifest import pick_container
from magent.core.errors import InconsistentState, MagentError, Unreachable, UsageError
from magent.core.text import counted
from magent.core.timeutil import human_duration, isoformat, utcnow
from magent.services.targets import Canary, DeployTarget, StableVersion, lock
from magent.workflows.deploy.analysis import StepAnalysis, build_target
from magent.workflows.deploy.api_retry import ApiOutage, ApiRetry
from magent.workflows.deploy.finish import Finisher
from magent.workflows.deploy.session import NOTIFY_KINDS, DeploySession, EventSink, Preempted

# The settings a deploy keeps in its state annotation, so that `--resume` walks on as it was started.
RESUMABLE = ("steps", "pause", "interval", "max_inconclusive")


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
    given: frozenset[str] = field(default_factory=frozenset)  # which of RESUMABLE came from the command line


@dataclass(frozen=True)
class Prepared:
    """What `prepare()` found: the plan, the state to resume (None for a new deploy), and for a resume
    where each of its settings comes from (`--interval 5s from the interrupted deploy`, …)."""

    plan: Plan
    resume_state: CanaryState | None
    settings_origin: list[str] = field(default_factory=list)


class Deployer:
    """Runs one `magent deploy` against `target`; `prepare()` is read-only (it is all --dry-run does)."""

    def __init__(self, target: DeployTarget, settings: Any, options: DeployOptions, *, on_event: EventSink,
                 holder: str | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        from magent.core.analysis_config import parse_analysis

        self.target, self.settings, self.options = target, settings, options
        self.analysis_settings = parse_analysis(settings.deploy.analysis, aws=settings.aws)
        self.session = DeploySession(target, settings, holder=holder or lock.identity(), on_event=on_event, sleep=sleep)
        self.finisher = Finisher(self.session)
        self.api_retry = ApiRetry(settings.deploy.api_retry_window, sleep=sleep, on_down=self._api_down,
                                  on_up=self._api_up)

    @property
    def current(self) -> CanaryState | None:
        return self.session.current

    # --- preparation (read-only) -----------------------------------------------------------------------------

    def prepare(self) -> Prepared:
        name, opts = self.options.deployment, self.options
        stable = self.target.stable()
        self.target.refuse_if_unsafe(stable)
        state = self.target.read_state(stable)
        in_progress = state is not None and not state.phase.terminal
        if in_progress and not opts.resume:
            self._refuse_unfinished(state)
        origin: list[str] = []
        if opts.resume:
            if state is None or not in_progress:
                raise UsageError(f"no unfinished deploy of {name} to resume", hint="run it without --resume")
            if opts.image and opts.image != state.image:
                raise UsageError(f"--resume: the unfinished deploy of {name} is {state.image}, not {opts.image}",
                                 hint=f"run `magent deploy {state.image} --deployment {name} --resume`, "
                                      f"or `magent rollback --deployment {name}` first")
            opts, origin = self._resumed_options(state)
            self.options = opts
            image, container, weights, previous = state.image, state.container, state.weights, state.previous_image
        else:
            if not opts.image:
                raise UsageError("give the IMAGE to deploy", hint="magent deploy IMAGE --deployment NAME")
            image, weights = opts.image, opts.weights
            container = pick_container(name, stable.containers, image, opts.container)
            previous = stable.image_of(container) or ""
        the_plan = plan(deployment=name, namespace=self.target.scope, image=image, previous_image=previous,
                        container=container, stable_replicas=stable.replicas, weights=weights,
                        pause_s=opts.pause_s, interval_s=opts.interval_s, max_inconclusive=opts.max_inconclusive)
        return Prepared(the_plan, state if opts.resume else None, origin)

    def _resumed_options(self, state: CanaryState) -> tuple[DeployOptions, list[str]]:
        """The interrupted deploy's settings, except those given again on the command line (said aloud)."""
        opts, name = self.options, self.options.deployment
        if "steps" in opts.given and opts.weights != state.weights:
            raise UsageError(f"--resume: the unfinished deploy of {name} walks the steps "
                             f"{','.join(map(str, state.weights))}; --steps cannot change them half-way",
                             hint=f"resume without --steps, or `magent rollback --deployment {name}` and deploy again")
        stored = {"pause": state.pause_s, "interval": state.interval_s, "max_inconclusive": state.max_inconclusive}
        chosen = {"pause": opts.pause_s, "interval": opts.interval_s, "max_inconclusive": opts.max_inconclusive}
        interrupted, command_line, config = [f"--steps {','.join(map(str, state.weights))}"], [], []
        for key in ("pause", "interval", "max_inconclusive"):
            if key in opts.given:
                command_line.append(_flag(key, chosen[key]))
            elif stored[key] is not None:
                chosen[key] = stored[key]
                interrupted.append(_flag(key, chosen[key]))
            else:  # a state written before magent kept its settings
                config.append(_flag(key, chosen[key]))
        origin = [f"{', '.join(interrupted)} from the interrupted deploy"]
        if command_line:
            origin.append(f"{', '.join(command_line)} from the command line")
        if config:
            origin.append(f"{', '.join(config)} from the configuration (not recorded by the interrupted deploy)")
        resumed = dataclasses.replace(opts, weights=list(state.weights), pause_s=chosen["pause"],
                                      interval_s=chosen["interval"], max_inconclusive=int(chosen["max_inconclusive"]))
        return resumed, origin

    def _refuse_unfinished(self, state: CanaryState) -> None:
        lease = self.target.lock_holder()
        if lease is not None and not lease.expired() and not lock.holder_is_dead_here(lease.holder):
            raise lock.LeaseHeld(self.options.deployment, lease)
        name = self.options.deployment
        raise InconsistentState(
            f"an unfinished deploy of {state.image} ({state.deploy_id}, {state.phase.value}, step {state.step + 1}) "
            f"is recorded on {name}, and its process ({state.holder}) is gone",
            hint=f"continue it with `magent deploy {state.image} --deployment {name} --resume`, "
                 f"or abort it with `magent rollback --deployment {name}`")

    # --- the run -------------------------------------------------------------------------------------------

    def run(self, prepared: Prepared) -> CanaryState:
        """Lock, then walk the steps; returns the final (promoted or aborted) state."""
        # A lease left by a dead process of this very host is free: nobody will renew it, and making the next
        # deploy wait for its expiry only to be told to `--resume` a deploy that is over helps no one.
        self.session.acquire(take_over_dead=True)
        try:
            return self._walk(self._start(prepared))
        except KeyboardInterrupt:
            raise self.finisher.interrupted(self.current) from None
        except (Preempted, lock.LeaseLost) as exc:
            return self.finisher.preempted(self.current, exc)
        except Exception as exc:
            if ctrl_c.is_user_interrupt(exc):  # Ctrl-C that a library turned into its own error: still abort
                raise self.finisher.interrupted(self.current) from None
            if isinstance(exc, MagentError):
                self.finisher.failed(self.current, exc)
            raise
        finally:
            self.session.close()

    def _start(self, prepared: Prepared) -> CanaryState:
        the_plan, session = prepared.plan, self.session
        session.open_audit(the_plan)
        if self.analysis_settings.enabled_providers():
            from magent.services.metrics import prepare

            prepare(self.analysis_settings)  # heavy imports (scipy, boto3) in the background
        kept = {"pause_s": the_plan.pause_s, "interval_s": the_plan.interval_s,
                "max_inconclusive": the_plan.max_inconclusive}
        if prepared.resume_state is not None:
            state = session.current = prepared.resume_state.moved(holder=session.holder, **kept)
            session.emit("resumed", state, phase=state.phase.value, settings=prepared.settings_origin)
            return state
        state = CanaryState(deploy_id=new_deploy_id(), image=the_plan.image, previous_image=the_plan.previous_image,
                            container=the_plan.container, weights=[s.weight for s in the_plan.steps],
                            phase=Phase.PROGRESSING, holder=session.holder, **kept)
        state = session.save(state, new=True)
        session.emit("started", state, previous_image=state.previous_image, plan=the_plan.to_dict())
        return state

    def _walk(self, state: CanaryState) -> CanaryState:
        if self.options.resume:
            point = resume_point(state, self.target.canary_size())
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
        weight, session = state.weight or 0, self.session
        stable = self.target.stable()  # the CURRENT replicas: an HPA may have moved them
        replicas = PlanStep(state.step, weight, canary_replicas(stable.replicas, weight), stable.replicas)
        state = session.save(state.moved(phase=Phase.PROGRESSING))
        canary = self.target.size_canary(stable, state, replicas.canary_replicas)
        if canary.traffic_percent is None:
            session.emit("canary_scaled", state, canary_replicas=replicas.canary_replicas,
                         stable_replicas=replicas.stable_replicas, share=replicas.share)
        else:
            session.emit("canary_scaled", state, canary_replicas=replicas.canary_replicas,
                         stable_replicas=replicas.stable_replicas, share=canary.traffic_percent, traffic="weighted")
        state = session.save(state.moved(phase=Phase.ANALYSING))
        analysis = self._step_analysis(state, stable, canary)
        return self._analyse_step(state, analysis, replicas.canary_replicas)

    def _step_analysis(self, state: CanaryState, stable: StableVersion, canary: Canary) -> StepAnalysis:
        target = build_target(self.settings, self.analysis_settings, namespace=self.target.scope,
                              deployment=stable.name, canary=canary.name,
                              stable_image=stable.image_of(state.container) or state.previous_image,
                              canary_image=state.image, window_s=max(self.options.interval_s, 1.0),
                              analyses_per_step=analyses_per_step(self.options.pause_s, self.options.interval_s,
                                                                  self.options.max_inconclusive))
        return StepAnalysis(self.target, canary, self.settings, self.analysis_settings, state.image, target,
                            self.options.interval_s)

    def _analyse_step(self, state: CanaryState, analysis: StepAnalysis, desired: int) -> CanaryState:
        started_wall, start = utcnow(), time.monotonic()
        pause_end, next_tick = start + self.options.pause_s, start + self.options.interval_s
        while True:
            # every Kubernetes call of one analysis (lease renewal, pods, the state write) is retried as a whole
            # through an API-server blip: nothing of a tick is half-applied, and the retried analysis sees what
            # the canary did meanwhile (restart counts only grow)
            # both lambdas run inside this call, in this iteration (B023 does not apply)
            state, result, action, count = self.api_retry.call(
                lambda: self._tick(state, analysis, desired, started_wall, next_tick, pause_end),  # noqa: B023
                gone=lambda exc, seconds: self._outage(state, desired, exc, seconds))  # noqa: B023
            next_tick = max(next_tick + self.options.interval_s, time.monotonic())
            if action is Action.ABORT:
                reason = result.summary() if result.failed else (
                    f"{count} inconclusive analyses after the pause (--max-inconclusive {self.options.max_inconclusive})"
                    f": {result.summary()}")
                return self.finisher.abort(state, reason)
            if action is Action.ADVANCE:
                self.session.emit("step_passed", state)
                return advance(state)

    def _tick(self, state: CanaryState, analysis: StepAnalysis, desired: int, started_wall: Any,
              next_tick: float, pause_end: float) -> tuple[CanaryState, Any, Action, int]:
        """One analysis: wait for its moment, analyse, record; returns the new state, result, action, count."""
        self.session.wait_until(next_tick)
        result = analysis.run(desired=desired, since=started_wall)
        action, count = decide(result.verdict.value, pause_elapsed=time.monotonic() >= pause_end,
                               inconclusive=state.inconclusive, max_inconclusive=self.options.max_inconclusive)
        summary = {"at": isoformat(result.at), "verdict": result.verdict.value, "summary": result.summary()}
        state = self.session.save(state.moved(inconclusive=count, last_analysis=summary))
        self.session.emit("analysis", state, verdict=result.verdict.value, action=action.value, inconclusive=count,
                          summary=result.summary(), canary_desired=desired,
                          metrics=[m.to_dict() for m in result.metrics])
        return state, result, action, count

    # --- API-server outages --------------------------------------------------------------------------------

    def _api_down(self, exc: Unreachable) -> None:
        self.session.emit("api_unreachable", self.current, error=exc.message,
                          retry_window_s=self.settings.deploy.api_retry_window)

    def _api_up(self, seconds: float) -> None:
        self.session.emit("api_recovered", self.current, seconds=round(seconds, 3))

    def _outage(self, state: CanaryState, desired: int, exc: Unreachable, seconds: float) -> ApiOutage:
        name, step = self.options.deployment, f"step {state.step + 1}/{len(state.weights)} ({state.weight}%)"
        on_ecs = self.target.kind == "ecs"
        api, unit = ("the ECS API", "task") if on_ecs else ("the Kubernetes API", "pod")
        # the commands the hint names must select the same workload again
        which = f"--target ecs --cluster {self.target.scope} --service {name}" if on_ecs else f"--deployment {name}"
        return ApiOutage(
            f"{api} did not answer for {human_duration(seconds)} ({exc.message}); the canary "
            f"{canary_name(name)} may still serve traffic: {counted(desired, unit)} of {state.image} next to {name} "
            f"({state.previous_image}), {step} of deploy {state.deploy_id}, unfinished",
            hint=f"once it answers: `magent rollback {which}` takes the canary down, or "
                 f"`magent deploy {state.image} {which} --resume` continues; "
                 f"`magent status {which}` shows it (deploy.api_retry_window sets how long magent waits)")

    # --- shared with the CLI and tests ------------------------------------------------------------------------

    def emit(self, kind: str, state: CanaryState | None, **fields: Any) -> None:
        self.session.emit(kind, state, **fields)


def _flag(key: str, value: float | int) -> str:
    if key == "max_inconclusive":
        return f"--max-inconclusive {value}"
    seconds = float(value)
    return f"--{key} {human_duration(seconds) if seconds.is_integer() and seconds else f'{seconds:g}s'}"


__all__ = ["NOTIFY_KINDS", "RESUMABLE", "DeployOptions", "Deployer", "Preempted", "Prepared"]
