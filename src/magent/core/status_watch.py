"""`magent status --watch`: one line per change, and when (and how) the watch ends. Pure: no I/O.

The watch ends as `kubectl rollout status` does, with the outcome's exit code: a deploy promoted (or no deploy,
the stable rolled out) is 0, an aborted or rolled-back deploy 1; a deploy whose process stopped without finishing
(its lock gone or expired, the state still in progress) is 4, as is a stable rollout that failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from magent.core.errors import EXIT_CHECK_FAILED, EXIT_INCONSISTENT


@dataclass(frozen=True)
class WatchEnd:
    exit_code: int
    message: str


def watch_line(data: dict[str, Any]) -> str:
    """What a person follows, on one line: the deploy's phase, step and last analysis, the canary, the stable."""
    parts = [f"{data['namespace']}/{data['deployment']}"]
    deploy = data.get("deploy")
    if deploy:
        step = f" step {deploy['step']}/{len(deploy['weights'])} ({deploy['weight']}%)" if deploy.get("weight") else ""
        parts.append(f"deploy {deploy['deploy_id']} {deploy['phase']}{step}: "
                     f"{deploy['previous_image']} → {deploy['image']}")
        if deploy.get("reason"):
            parts.append(f"reason: {deploy['reason']}")
        last = (deploy.get("last_analysis") or {}).get("summary")
        if last:
            parts.append(f"last analysis: {last}")
    canary = data.get("canary")
    if canary:
        r = canary["replicas"]
        parts.append(f"canary {r['ready']}/{r['desired']} ready")
    r = data["replicas"]
    parts.append(f"stable {', '.join(data['images'])} {r['ready']}/{r['desired']} ready")
    if not data.get("rollout_done", True):
        parts.append(data["rollout"])
    return "; ".join(parts)


def watch_end(data: dict[str, Any], *, holder_gone_before: bool) -> WatchEnd | None:
    """None while there is something to follow. `holder_gone_before`: the previous poll also saw an in-progress
    deploy without a live lock (one poll is not enough: a lease is renewed on a schedule)."""
    deploy = data.get("deploy")
    if deploy and deploy["in_progress"]:
        if holder_gone(data) and holder_gone_before:
            return WatchEnd(EXIT_INCONSISTENT, f"deploy {deploy['deploy_id']} stopped without finishing (its lock "
                                               f"is {'expired' if data.get('lock') else 'not held'}, phase "
                                               f"{deploy['phase']})")
        return None
    if data.get("rollout_error"):
        return WatchEnd(EXIT_INCONSISTENT, data["rollout"])
    if not data.get("rollout_done", True):
        return None
    if deploy is None:
        return WatchEnd(0, data["rollout"])
    what = f"deploy {deploy['deploy_id']} of {deploy['image']} {deploy['phase']}"
    if deploy["phase"] == "promoted":
        return WatchEnd(0, what)
    return WatchEnd(EXIT_CHECK_FAILED, what + (f": {deploy['reason']}" if deploy.get("reason") else ""))


def holder_gone(data: dict[str, Any]) -> bool:
    lock = data.get("lock")
    return lock is None or bool(lock.get("expired"))
