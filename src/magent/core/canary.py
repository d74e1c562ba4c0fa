"""The controller-free canary, as pure logic: the plan, the state kept on the stable Deployment, the transitions.

The stable Deployment is never scaled: a canary step adds `<name>-canary` pods next to it, so the share of
traffic the canary gets (when the Service selects both, on their common labels) is canary / (stable + canary),
not the step's weight. `plan()` sizes each step from the stable Deployment's CURRENT replicas (an HPA may have
moved them) as ceil(stable × weight / 100), at least one pod, and says which share that gives.

    progressing ──► paused-for-analysis ──► (next step) progressing … ──► promoting ──► promoted
         │                  │  FAIL, or too many INCONCLUSIVE after the pause
         └──────────────────┴──────────────► aborted   (canary scaled to 0; the stable was never touched)
"""

from __future__ import annotations

import enum
import json
import math
import re
import secrets
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from magent.core.errors import InconsistentState, UsageError
from magent.core.timeutil import isoformat, utcnow

STATE_ANNOTATION = "magent.dev/canary-state"
CANARY_OF_ANNOTATION = "magent.dev/canary-of"
DEPLOY_ID_ANNOTATION = "magent.dev/deploy-id"
CANARY_SUFFIX = "-canary"
TRACK_LABEL = "track"
CANARY_TRACK = "canary"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"


class Phase(str, enum.Enum):
    PROGRESSING = "progressing"
    ANALYSING = "paused-for-analysis"
    PROMOTING = "promoting"
    ABORTED = "aborted"
    PROMOTED = "promoted"

    @property
    def terminal(self) -> bool:
        return self in (Phase.ABORTED, Phase.PROMOTED)


class Action(str, enum.Enum):
    """What the driver does after one analysis."""

    CONTINUE = "continue"  # the pause is not over: keep analysing
    ADVANCE = "advance"  # the pause is over and the analysis passed: next step (or promote)
    HOLD = "hold"  # the pause is over but the analysis is inconclusive: analyse again
    ABORT = "abort"  # a metric failed, or too many inconclusive analyses in a row


def canary_name(deployment: str) -> str:
    return f"{deployment}{CANARY_SUFFIX}"


def lease_name(deployment: str) -> str:
    return f"magent-deploy-{deployment}"


def new_deploy_id() -> str:
    """A short id for one deploy, unique enough to tell deploys of one Deployment apart."""
    return f"{utcnow():%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def parse_steps(text: str) -> list[int]:
    """`--steps 10,50` → [10, 50]: increasing percentages between 1 and 99 (100 % is the promotion)."""
    try:
        steps = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise UsageError(f"--steps {text!r}: expected percentages like 10,50", hint="e.g. --steps 10,25,50") from None
    if not steps or any(not 0 < step < 100 for step in steps) or steps != sorted(set(steps)):
        raise UsageError(f"--steps {text!r}: steps must be increasing percentages between 1 and 99",
                         hint="promotion (100 %) follows the last step by itself; e.g. --steps 10,50")
    return steps


# The image reference grammar of distribution/reference (what docker and the kubelet accept), without IPv6 hosts.
_IMAGE_REFERENCE = re.compile(
    r"(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?")


def check_image(image: str) -> None:
    """Refuse a malformed image reference before it reaches the cluster (where it would crash-loop the canary)."""
    if not _IMAGE_REFERENCE.fullmatch(image):
        raise UsageError(f"{image!r} is not a valid image reference",
                         hint="e.g. registry.example.com/team/agent:v2 or agent@sha256:… (lower-case repository)")


def canary_replicas(stable_replicas: int, weight: int) -> int:
    """ceil(stable × weight / 100), at least one pod."""
    return max(1, math.ceil(stable_replicas * weight / 100))


@dataclass(frozen=True)
class PlanStep:
    index: int
    weight: int
    canary_replicas: int
    stable_replicas: int

    @property
    def share(self) -> float:
        """Percentage of pods (≈ of traffic) on the canary, since the stable keeps all its pods."""
        return round(100 * self.canary_replicas / (self.stable_replicas + self.canary_replicas), 1)


@dataclass(frozen=True)
class Plan:
    deployment: str
    namespace: str
    image: str
    previous_image: str
    container: str
    stable_replicas: int
    steps: tuple[PlanStep, ...]
    pause_s: float
    interval_s: float
    max_inconclusive: int

    @property
    def canary(self) -> str:
        return canary_name(self.deployment)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["canary"] = self.canary
        data["steps"] = [{**asdict(step), "share": step.share} for step in self.steps]
        data["note"] = NOTE_ON_SHARE
        return data


NOTE_ON_SHARE = ("the stable Deployment keeps all its replicas, so the canary's share of traffic is "
                 "canary / (stable + canary) pods, not the step's weight")


def plan(
    *, deployment: str, namespace: str, image: str, previous_image: str, container: str, stable_replicas: int,
    weights: list[int], pause_s: float, interval_s: float, max_inconclusive: int,
) -> Plan:
    """The steps of a canary of `image` next to a stable Deployment running `stable_replicas` pods."""
    check_image(image)
    if stable_replicas < 1:
        raise UsageError(f"deployment {deployment} has 0 replicas: a canary would take all the traffic",
                         hint=f"scale it first (kubectl scale deployment/{deployment} --replicas=N)")
    if image == previous_image:
        raise UsageError(f"deployment {deployment} already runs {image}", hint="nothing to deploy")
    steps = tuple(PlanStep(i, w, canary_replicas(stable_replicas, w), stable_replicas) for i, w in enumerate(weights))
    return Plan(deployment, namespace, image, previous_image, container, stable_replicas, steps,
                pause_s, interval_s, max_inconclusive)


@dataclass(frozen=True)
class CanaryState:
    """What a new process needs to resume or roll back a deploy; stored as JSON in STATE_ANNOTATION."""

    deploy_id: str
    image: str
    previous_image: str
    container: str
    weights: list[int]
    phase: Phase
    step: int = 0
    started_at: str = field(default_factory=lambda: isoformat(utcnow()))
    updated_at: str = field(default_factory=lambda: isoformat(utcnow()))
    inconclusive: int = 0
    last_analysis: dict[str, Any] | None = None
    holder: str = ""
    reason: str | None = None
    # how the deploy was started, so that `--resume` walks on alike (None in states written before they were kept)
    pause_s: float | None = None
    interval_s: float | None = None
    max_inconclusive: int | None = None

    @property
    def weight(self) -> int | None:
        return self.weights[self.step] if 0 <= self.step < len(self.weights) else None

    def to_json(self) -> str:
        data = asdict(self)
        data["phase"] = self.phase.value
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, where: str) -> CanaryState:
        try:
            data = json.loads(text)
            data["phase"] = Phase(data["phase"])
            known = {f for f in cls.__dataclass_fields__}
            for key in ("pause_s", "interval_s", "max_inconclusive"):
                value = data.get(key)
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                          or not math.isfinite(value) or value < 0):
                    raise ValueError(f"{key} must be a number of seconds ≥ 0, not {value!r}")
            return cls(**{k: v for k, v in data.items() if k in known})
        except (ValueError, KeyError, TypeError) as exc:
            raise InconsistentState(f"the {STATE_ANNOTATION} annotation on {where} is unreadable ({exc})",
                                    hint=f"inspect it with kubectl; remove it to start over "
                                         f"(kubectl annotate deployment/{where} {STATE_ANNOTATION}-)") from None

    def moved(self, **changes: Any) -> CanaryState:
        """A copy with `changes` applied and updated_at set to now."""
        return replace(self, updated_at=isoformat(utcnow()), **changes)


def decide(verdict: str, *, pause_elapsed: bool, inconclusive: int, max_inconclusive: int) -> tuple[Action, int]:
    """The next action after one analysis, and the new count of inconclusive analyses.

    FAIL aborts at once. PASS advances once the pause is over. INCONCLUSIVE ("no data") never passes: during
    the pause it is shown and waited on; after the pause the step holds and each inconclusive analysis counts,
    until `max_inconclusive` of them abort the deploy.
    """
    verdict = verdict.lower()
    if verdict == "fail":
        return Action.ABORT, inconclusive
    if verdict == "pass":
        return (Action.ADVANCE if pause_elapsed else Action.CONTINUE), 0
    if not pause_elapsed:
        return Action.CONTINUE, inconclusive
    count = inconclusive + 1
    return (Action.ABORT if count >= max_inconclusive else Action.HOLD), count


def advance(state: CanaryState) -> CanaryState:
    """After a passed step: the next step, or promotion after the last one."""
    if state.step + 1 < len(state.weights):
        return state.moved(step=state.step + 1, phase=Phase.PROGRESSING, inconclusive=0)
    return state.moved(phase=Phase.PROMOTING, inconclusive=0)


class Resume(str, enum.Enum):
    """Where `--resume` picks a deploy up, from the state annotation and the canary found in the cluster."""

    RUN_STEP = "run-step"  # (re)size the canary for state.step and analyse again for a full pause
    FINISH_ABORT = "finish-abort"  # the canary is at 0 but the abort was not recorded: complete it
    PROMOTE = "promote"  # set the stable image (idempotent), wait, remove the canary


def resume_point(state: CanaryState, canary_replicas_now: int | None) -> Resume:
    """magent only ever scales a canary to 0 to abort, so a canary at 0 mid-deploy is an abort cut short."""
    if state.phase.terminal:
        raise UsageError(f"the last deploy ({state.deploy_id}, {state.image}) is already {state.phase.value}",
                         hint="nothing to resume; start a new deploy without --resume")
    if state.phase is Phase.PROMOTING:
        return Resume.PROMOTE
    if canary_replicas_now == 0:
        return Resume.FINISH_ABORT
    return Resume.RUN_STEP


def event(kind: str, *, deployment: str, namespace: str, state: CanaryState | None = None, **fields: Any) -> dict:
    """One audit/CI event: `{"at", "event", "deployment", "namespace", "step", "weight", …}`."""
    record: dict[str, Any] = {"at": isoformat(utcnow()), "event": kind, "deployment": deployment,
                              "namespace": namespace}
    if state is not None:
        record.update(deploy_id=state.deploy_id, image=state.image, step=state.step + 1, steps=len(state.weights),
                      weight=state.weight)
    record.update(fields)
    return record


def nothing_to_undo(name: str, state: CanaryState, *, units: str, history: str) -> str:
    """Why a rollback after an aborted (or already rolled back) deploy has nothing to undo: the stable runs what it
    ran before that deploy. `units`: what never got the new version (pods, tasks); `history`: the command that
    lists the revisions to go back to instead."""
    if (state.reason or "").startswith("rolled back"):
        what = f"deploy {state.deploy_id} of {state.image} was already rolled back ({state.reason})"
    else:
        what = f"the last deploy ({state.deploy_id} of {state.image}) was aborted and never reached the stable {units}"
    return (f"nothing to undo: {what}; {name} runs {state.previous_image} as before it. "
            f"To go back further, pass --to-revision N (see {history})")
