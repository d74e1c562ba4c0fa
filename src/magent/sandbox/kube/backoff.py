"""The kubelet's crash back-off, on a scaled clock.

A real node restarts a crashed container after 10 s, then 20 s, 40 s, … at most 5 min (and forgets the
back-off after 10 min of running well, which a crash-looping image never does). The sandbox keeps that shape
on its own clock: a crash-looping container runs `restart_interval / 2`, crashes, and waits a back-off that
starts at `restart_interval / 2` (the node's 10 s) and doubles up to 30 times that (the node's 5 min). So the
first crash-restart cycle lasts `restart_interval`, as it always did, and later ones grow as on a node.
"""

from __future__ import annotations

from dataclasses import dataclass

CAP_FACTOR = 30  # 5 min / 10 s
_MIN_INTERVAL_S = 0.05


@dataclass(frozen=True)
class CrashCycle:
    """Where a crash-looping container stands, `age` seconds after its pod started (offsets from the start)."""

    restarts: int  # crashes so far; counted as the back-off begins, as `kubectl get pods` shows it
    started: float  # the current run (or, in back-off, the run that crashed) started at this offset
    previous_started: float | None  # the run before that
    crashed: bool  # waiting in back-off
    backoff: float  # the back-off in force, or the one the next crash will get
    next_change: float  # offset of the next crash or restart
    run: float  # how long each run lasts before it crashes


def crash_cycle(age: float, restart_interval: float) -> CrashCycle:
    run = max(restart_interval, _MIN_INTERVAL_S) / 2
    cap = run * CAP_FACTOR
    started, previous, restarts, backoff = 0.0, None, 0, run
    while True:
        if backoff >= cap and age >= started + run + cap:
            # Capped: every cycle is run + cap long from here on; skip the whole ones at once.
            skipped = int((age - started) // (run + cap))
            previous = started + (skipped - 1) * (run + cap)
            started += skipped * (run + cap)
            restarts += skipped
        crash_at = started + run
        if age < crash_at:
            return CrashCycle(restarts, started, previous, False, backoff, crash_at, run)
        restart_at = crash_at + backoff
        if age < restart_at:
            return CrashCycle(restarts + 1, started, previous, True, backoff, restart_at, run)
        previous, started, restarts = started, restart_at, restarts + 1
        backoff = min(backoff * 2, cap)


def go_duration(seconds: float) -> str:
    """How Go prints a time.Duration (`500ms`, `10s`, `1m20s`, `5m0s`), as the kubelet's messages do."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    if seconds < 60:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m" + (f"{rest:.3f}".rstrip("0").rstrip(".") or "0") + "s"
