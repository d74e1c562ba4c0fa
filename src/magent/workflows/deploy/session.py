"""One deploy's hold on its target: its lock, its state on the stable workload, and its events.

Both the walk through the steps (`driver.Deployer`) and the endings (`finish.Finisher`) act through a
`DeploySession`; neither knows the other's class, so there is no import circle between them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from magent.core.canary import CanaryState, Plan, event
from magent.core.errors import CheckFailed
from magent.core.timeutil import isoformat, utcnow
from magent.services.targets import DeployTarget, lock

log = logging.getLogger(__name__)
EventSink = Callable[[dict[str, Any]], None]
NOTIFY_KINDS = frozenset({"started", "aborted", "promoted", "promotion_failed", "interrupted"})


class Preempted(CheckFailed):
    """Someone else (`magent rollback`) ended this deploy while it ran."""


class DeploySession:
    """The lock, the state annotation and the event stream of one deploy of `deployment`."""

    def __init__(self, target: DeployTarget, settings: Any, *, holder: str, on_event: EventSink,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.target, self.settings, self.deployment, self.holder = target, settings, target.name, holder
        self._on_event, self.sleep = on_event, sleep
        self._renewed_at = 0.0
        self.current: CanaryState | None = None  # the state as last written to the cluster
        self.audit: Any = None

    # --- the lock ----------------------------------------------------------------------------------------

    def acquire(self, *, take_over_dead: bool) -> None:
        self.target.acquire_lock(self.holder, int(self.settings.deploy.lease_duration), take_over_dead=take_over_dead)
        self._renewed_at = time.monotonic()

    def renew_if_due(self) -> None:
        if time.monotonic() - self._renewed_at >= self._renew_every():
            self.target.renew_lock(self.holder)
            self._renewed_at = time.monotonic()

    def wait_until(self, moment: float) -> None:
        """Sleep until `moment` (monotonic), renewing the lease on the way."""
        while (remaining := moment - time.monotonic()) > 0:
            renew_in = self._renewed_at + self._renew_every() - time.monotonic()
            self.sleep(max(0.0, min(remaining, renew_in)))
            self.renew_if_due()

    def release(self) -> None:
        """Give the lock back (only if still ours); an unreleased lease expires by itself."""
        try:
            self.target.release_lock(self.holder)
        except Exception:  # noqa: BLE001 - best effort: the final state is what matters
            log.debug("lease release failed", exc_info=True)

    def _renew_every(self) -> float:
        return self.settings.deploy.lease_duration / 3

    # --- the state ---------------------------------------------------------------------------------------

    def save(self, state: CanaryState, *, new: bool = False, final: bool = False) -> CanaryState:
        """Write the state; Preempted if another process ended (or replaced) this deploy meanwhile.

        The final write also releases the lock: a process killed right after recording the outcome must not
        leave a Lease that blocks the next deploy.
        """
        name = self.deployment

        def conflict(current: CanaryState | None) -> Exception | None:
            if new:
                if current is not None and not current.phase.terminal:
                    return lock.LeaseLost(f"another deploy ({current.deploy_id}) started on {name}")
                return None
            if current is None or current.deploy_id != state.deploy_id:
                return Preempted(f"the deploy of {state.image} on {name} was replaced")
            if current.phase.terminal and not final:
                return Preempted(f"the deploy of {state.image} was {current.phase.value} by {current.holder}: "
                                 f"{current.reason or 'no reason given'}")
            return None

        self.renew_if_due()
        self.target.write_state(state, unless=conflict)
        self.current = state
        if final:
            self.release()
        return state

    # --- events and the audit trail ------------------------------------------------------------------------

    def emit(self, kind: str, state: CanaryState | None, **fields: Any) -> None:
        record = event(kind, deployment=self.deployment, namespace=self.target.scope, state=state, **fields)
        if self.target.kind == "ecs":  # an ECS service lives in a cluster, not a namespace
            record = {("cluster" if key == "namespace" else key): value for key, value in record.items()}
        self._on_event(record)
        if self.audit is not None:
            self.audit.event(record)

    def open_audit(self, the_plan: Plan) -> None:
        from magent.workflows.deploy.audit import AuditTrail, DeploymentRecord

        record = DeploymentRecord(self.target.scope, the_plan.deployment, the_plan.image, the_plan.previous_image,
                                  self.holder, isoformat(utcnow()), context=getattr(self.target, "context", None))
        self.audit = AuditTrail(self.settings, record, notify_kinds=NOTIFY_KINDS)

    def finish_audit(self, outcome: str, reason: str | None) -> None:
        if self.audit is not None:
            self.audit.finish(outcome, reason, isoformat(utcnow()))

    def close(self) -> None:
        self.release()
        if self.audit is not None:
            self.audit.close()
