"""One release across several clusters: the canary runs cluster by cluster, in order, each with its own analysis.

    prepare   every wave's plan first (read-only): a Deployment missing in the third cluster stops the release
              before the first cluster is touched
    walk      each wave is a whole `magent deploy` (lock, steps, analysis, promotion) through its own target
    stop      the first wave that is not promoted (aborted, or an error) stops the release: later clusters are
              never touched; with `rollback_on_fail`, the waves already promoted are rolled back, newest first

Every event carries `context` (the wave's cluster) and `wave` / `waves`. The workflow never prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from magent.core.canary import CanaryState, Phase
from magent.core.errors import MagentError


@dataclass(frozen=True)
class Wave:
    context: str
    namespace: str | None = None


@dataclass
class WaveOutcome:
    wave: Wave
    state: CanaryState | None = None  # None: never started
    error: str | None = None
    rolled_back: bool | None = None  # None: no rollback asked of this wave

    @property
    def outcome(self) -> str:
        if self.rolled_back:
            return "rolled back"
        if self.error is not None:
            return "error"
        return self.state.phase.value if self.state is not None else "not started"

    def to_dict(self) -> dict[str, Any]:
        return {"context": self.wave.context, "namespace": self.wave.namespace, "outcome": self.outcome,
                "image": self.state.image if self.state else None,
                "reason": self.error or (self.state.reason if self.state else None)}


@dataclass
class Release:
    waves: list[WaveOutcome] = field(default_factory=list)
    failure: MagentError | None = None  # the error that stopped the release, re-raised by the caller

    @property
    def promoted(self) -> bool:
        return all(w.state is not None and w.state.phase is Phase.PROMOTED for w in self.waves)


# (wave) -> a Deployer for it (its target, settings and options bound), built before anything changes
DeployerFactory = Callable[[Wave, Callable[[dict[str, Any]], None]], Any]
RollbackOne = Callable[[Wave, Callable[[dict[str, Any]], None]], None]


def run_release(waves: list[Wave], *, deployer_for: DeployerFactory, on_event: Callable[[dict[str, Any]], None],
                rollback: RollbackOne | None = None) -> Release:
    release = Release([WaveOutcome(wave) for wave in waves])

    def tagged(index: int) -> Callable[[dict[str, Any]], None]:
        def emit(record: dict[str, Any]) -> None:
            on_event({**record, "context": waves[index].context, "wave": index + 1, "waves": len(waves)})
        return emit

    deployers = [deployer_for(wave, tagged(index)) for index, wave in enumerate(waves)]
    prepared = [deployer.prepare() for deployer in deployers]  # read-only, every cluster, before any change
    for index, (deployer, plan) in enumerate(zip(deployers, prepared)):
        outcome = release.waves[index]
        try:
            outcome.state = deployer.run(plan)
        except MagentError as exc:
            outcome.error, release.failure = exc.message, exc
        if outcome.state is None or outcome.state.phase is not Phase.PROMOTED or outcome.error:
            break
    if not release.promoted and rollback is not None:
        _roll_back_promoted(release, rollback, tagged)
    return release


def _roll_back_promoted(release: Release, rollback: RollbackOne,
                        tagged: Callable[[int], Callable[[dict[str, Any]], None]]) -> None:
    """The waves promoted before the failure, newest first; a rollback that fails is recorded, the others go on."""
    promoted = [(index, w) for index, w in enumerate(release.waves)
                if w.state is not None and w.state.phase is Phase.PROMOTED and w.error is None]
    for index, outcome in reversed(promoted):
        try:
            rollback(outcome.wave, tagged(index))
            outcome.rolled_back = True
        except MagentError as exc:
            outcome.rolled_back, outcome.error = False, f"rollback failed: {exc.message}"
            release.failure = release.failure or exc
