"""How a deploy ends: abort (canary to zero first), promote (stable image, rollout wait, canary removed),
a promotion whose rollout fails (the stable is undone like `kubectl rollout undo`), an interruption, or
another process (`magent rollback`) ending it first. It acts through the deploy's `DeploySession` only."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator

from magent.core.canary import CanaryState, Phase
from magent.core.errors import InconsistentState, Interrupted, MagentError
from magent.core.rollout import RolloutStatus
from magent.services.targets import DeployTarget
from magent.workflows.deploy.api_retry import ApiOutage
from magent.workflows.deploy.session import DeploySession


@contextlib.contextmanager
def sigint_deferred() -> Iterator[None]:
    """A second Ctrl-C must not cut an abort short: ignore SIGINT while the canary is being taken down."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Finisher:
    def __init__(self, session: DeploySession) -> None:
        self.d = session

    @property
    def name(self) -> str:
        return self.d.deployment

    @property
    def target(self) -> DeployTarget:
        return self.d.target

    def abort(self, state: CanaryState, reason: str) -> CanaryState:
        """Scale the canary to zero at once (the stable was never touched), then record and clean up."""
        with sigint_deferred():
            started = time.monotonic()
            self.target.canary_to_zero()
            self.d.emit("canary_scaled_to_zero", state, seconds=round(time.monotonic() - started, 3))
            final = state.moved(phase=Phase.ABORTED, reason=reason)
            self.d.save(final, final=True)
            self.target.remove_canary(state.deploy_id)
            self.d.emit("aborted", final, reason=reason)
            self._finish_audit("aborted", reason)
        return final

    def promote(self, state: CanaryState) -> CanaryState:
        """Set the stable image, wait as `kubectl rollout status`, remove the canary."""
        state = self.d.save(state.moved(phase=Phase.PROMOTING))
        self.d.emit("promoting", state, weight=100)
        stable = self.target.stable()
        if stable.image_of(state.container) != state.image:
            self.target.set_stable_image(stable, state.container, state.image,
                                         f"magent deploy {state.image} ({state.deploy_id})")
        try:
            self.target.wait_rollout(timeout_s=self.d.settings.deploy.rollout_timeout, on_poll=self._progress(state))
        except InconsistentState as exc:
            return self._promotion_failed(state, exc)
        self.target.remove_canary(None)
        final = state.moved(phase=Phase.PROMOTED, reason=None)
        self.d.save(final, final=True)
        self.d.emit("promoted", final, weight=100)
        self._finish_audit("promoted", None)
        return final

    def _progress(self, state: CanaryState):
        shown: list[str] = []

        def on_poll(status: RolloutStatus) -> None:
            self.d.renew_if_due()
            if not shown or shown[-1] != status.message:
                shown.append(status.message)
                self.d.emit("rollout", state, weight=100, message=status.message, done=status.done)

        return on_poll

    def _promotion_failed(self, state: CanaryState, failure: InconsistentState) -> CanaryState:
        """The canary passed but the stable's rollout did not: undo the stable, as `kubectl rollout undo` would."""
        reason = f"promotion failed: {failure.message}"
        self.d.emit("promotion_failed", state, weight=100, reason=reason)
        final = state.moved(phase=Phase.ABORTED, reason=reason)
        with sigint_deferred():
            undone = self.target.undo_promotion(final)
            if undone.wrote_state:
                self.d.current = final  # the undo itself wrote it
                self.d.release()
            else:
                self.d.save(final, final=True)
            self.target.remove_canary(None)
            try:
                self.target.wait_rollout(timeout_s=self.d.settings.deploy.rollout_timeout)
            except InconsistentState as exc:
                self._finish_audit("rollback_failed", f"{reason}; rollback: {exc.message}")
                raise InconsistentState(
                    f"the rollout of {state.image} failed and the rollback to revision {undone.revision} "
                    f"did not complete: {exc.message}", hint=self.target.rollout_hint()) from None
        self.d.emit("aborted", final, reason=reason, rolled_back_to=undone.revision)
        self._finish_audit("aborted", reason)
        return final

    def interrupted(self, state: CanaryState | None) -> Interrupted:
        """Ctrl-C / SIGTERM: abort a canary in progress safely; never undo a promotion half-way."""
        if state is None or state.phase.terminal:
            return Interrupted("deploy interrupted before any change; nothing to undo")
        if state.phase is Phase.PROMOTING:
            self.d.emit("interrupted", state, weight=100)
            self._finish_audit("interrupted", "interrupted while promoting")
            return Interrupted(
                f"interrupted while promoting: deployment {self.name} is rolling out {state.image}",
                hint=f"finish with `magent deploy {state.image} --deployment {self.name} --resume`, "
                     f"or undo with `magent rollback --deployment {self.name}`")
        self.abort(state, "interrupted (Ctrl-C or SIGTERM)")
        return Interrupted("deploy interrupted: the canary was scaled to zero and removed; "
                           f"deployment {self.name} still runs {state.previous_image}")

    def failed(self, state: CanaryState | None, error: MagentError) -> None:
        """An error mid-canary (API refusal, lost cluster…): take the canary down if we still can, then let it raise."""
        if state is None or state.phase.terminal or state.phase is Phase.PROMOTING:
            return
        try:
            self.abort(state, f"error: {error.message}")
        except MagentError:
            if isinstance(error, ApiOutage):
                return  # its message already names the canary left running and what to run
            error.hint = ((error.hint + "; ") if error.hint else "") + (
                f"the canary may still run: `magent rollback --deployment {self.name}` once the cluster answers")

    def preempted(self, state: CanaryState | None, exc: Exception) -> CanaryState:
        """Another process ended or took over this deploy; make sure our late actions did not revive the canary."""
        current = self.target.read_state()
        if state is None or current is None or current.deploy_id != state.deploy_id:
            raise InconsistentState(f"{exc}: this process stopped without touching the new deploy",
                                    hint=f"see `magent status --deployment {self.name}`") from None
        if not current.phase.terminal:
            raise InconsistentState(f"{exc}: {current.holder} took this deploy over", hint="let it finish") from None
        if current.phase is Phase.ABORTED:
            self.target.canary_to_zero()
        self.d.emit("preempted", current, phase=current.phase.value, by=current.holder, reason=current.reason)
        self._finish_audit(current.phase.value, f"ended by {current.holder}: {current.reason}")
        return current

    def _finish_audit(self, outcome: str, reason: str | None) -> None:
        self.d.finish_audit(outcome, reason)


__all__ = ["Finisher", "sigint_deferred"]
