"""What the deploy workflow needs from a platform, whichever it is: the `DeployTarget` port.

A target is one stable workload (a Kubernetes Deployment, an ECS service) seen through the operations a canary
is made of: read the stable version, start / resize / remove a canary beside it, read the canary's health, promote
(point the stable at the new image and wait for its rollout), undo a failed promotion, hold the deploy lock, read
and write the deploy state. The workflow (`driver`, `session`, `finish`) decides; the target only acts, so a second
platform is a second class, not a second workflow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from magent.core.canary import CanaryState
from magent.core.judge import MetricResult
from magent.core.rollout import RolloutStatus

StateGuard = Callable[[CanaryState | None], Exception | None]


class StableVersion(Protocol):
    """The stable workload as the workflow sees it."""

    @property
    def name(self) -> str: ...
    @property
    def replicas(self) -> int: ...
    @property
    def paused(self) -> bool: ...
    @property
    def containers(self) -> list[dict[str, Any]]: ...  # each with at least "name" and "image"

    def image_of(self, container: str | None) -> str | None: ...


@dataclass(frozen=True)
class Canary:
    """The canary as sized for one step: its name (for the analysis providers) and what selects its units."""

    name: str
    selector: str
    manifest: dict[str, Any]
    traffic_percent: float | None = None  # an exact share of requests (ALB weights); None: the share of replicas


@dataclass(frozen=True)
class LockHolder:
    """Who holds the deploy lock, and since when it was last renewed (for the refusal message)."""

    holder: str | None
    expired: bool
    description: str


@dataclass(frozen=True)
class UndoneTo:
    """What undoing a failed promotion did: the revision gone back to, and whether that wrote the final state."""

    revision: int | str
    wrote_state: bool


class DeployTarget(Protocol):
    kind: str  # "kubernetes", "ecs"
    name: str  # the stable workload's name
    scope: str  # its namespace or cluster (events, messages)

    # --- the stable version and the deploy state -----------------------------------------------------------
    def stable(self) -> StableVersion: ...
    def refuse_if_unsafe(self, stable: StableVersion) -> None: ...
    def read_state(self, stable: StableVersion | None = None) -> CanaryState | None: ...
    def write_state(self, state: CanaryState, *, unless: StateGuard) -> None: ...

    # --- the deploy lock -----------------------------------------------------------------------------------
    def acquire_lock(self, holder: str, duration_s: int, *, take_over_dead: bool) -> None: ...
    def renew_lock(self, holder: str) -> None: ...
    def release_lock(self, holder: str) -> None: ...
    def lock_holder(self) -> Any: ...  # a lease-like object with .holder, .expired(), .describe(); None if free

    # --- the canary ----------------------------------------------------------------------------------------
    def canary_size(self) -> int | None: ...
    def size_canary(self, stable: StableVersion, state: CanaryState, replicas: int) -> Canary: ...
    def canary_to_zero(self) -> None: ...
    def remove_canary(self, deploy_id: str | None) -> None: ...
    def canary_health(self, canary: Canary, *, desired: int, image: str, since: datetime | None,
                      max_restarts: int) -> list[MetricResult]: ...

    # --- promotion and its undo ----------------------------------------------------------------------------
    def set_stable_image(self, stable: StableVersion, container: str, image: str, cause: str) -> None: ...
    def wait_rollout(self, *, timeout_s: float, on_poll: Callable[[RolloutStatus], None] | None = None) -> None: ...
    def undo_promotion(self, final: CanaryState) -> UndoneTo: ...
    def rollout_hint(self) -> str: ...
