"""The Kubernetes analysis provider (always on): are the canary's pods ready, restarting, crashing, warned about?

Each check is a `MetricResult(provider="kubernetes", …)` for the judge. Pods that are not ready yet make the
analysis INCONCLUSIVE (the step holds, it does not pass); crash loops, OOM kills, image pull failures and
restarts beyond `max_restarts` FAIL it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from textwrap import shorten

from magent.core.judge import MetricResult, Verdict
from magent.core.text import counted
from magent.services.kube.client import Kube
from magent.services.kube.deployments import list_events, list_pods
from magent.services.kube.objects import Obj, Pod

PROVIDER = "kubernetes"
# Waiting/terminated reasons that mean the new image does not run.
FAILING_REASONS = frozenset({
    "CrashLoopBackOff", "OOMKilled", "Error", "ErrImagePull", "ImagePullBackOff", "InvalidImageName",
    "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
})
# Warning events that mean the same, as the kubelet reports them.
FAILING_EVENTS = frozenset({"BackOff", "Failed", "OOMKilling", "ErrImagePull", "InvalidImageName"})


def pod_health(
    kube: Kube, selector: str, *, desired: int, image: str | None = None, since: datetime | None = None,
    max_restarts: int = 0, track: str = "canary",
) -> list[MetricResult]:
    """Readiness, restarts, failure reasons and Warning events of the pods `selector` picks (running `image`)."""
    pods = [p for p in list_pods(kube, selector) if _current(p, image)]
    events = _warnings(list_events(kube), {p.name for p in pods}, since)
    return [
        readiness(pods, desired, track),
        restarts(pods, max_restarts, track),
        failures(pods, track),
        warning_events(events, track),
    ]


def _current(pod: Pod, image: str | None) -> bool:
    if pod.metadata.get("deletionTimestamp"):
        return False  # terminating: a pod of a previous canary or of a scale-down
    containers = (pod.spec.get("containers") or [])
    return image is None or any(c.get("image") == image for c in containers)


def readiness(pods: list[Pod], desired: int, track: str) -> MetricResult:
    ready = sum(p.ready for p in pods)
    threshold = f">= {desired} ready"
    if desired > 0 and ready >= desired:
        return MetricResult(PROVIDER, "pods_ready", float(ready), threshold, Verdict.PASS, f"{ready}/{desired} ready", track)
    waiting = ", ".join(f"{p.name}: {p.phase}" for p in pods if not p.ready)[:200]
    detail = f"{ready}/{desired} ready" + (f" ({waiting})" if waiting else "")
    return MetricResult(PROVIDER, "pods_ready", float(ready), threshold, Verdict.INCONCLUSIVE, detail, track)


def restarts(pods: list[Pod], max_restarts: int, track: str) -> MetricResult:
    threshold = f"<= {max_restarts}"
    if not pods:
        return MetricResult(PROVIDER, "restarts", None, threshold, Verdict.INCONCLUSIVE, "no pods yet", track)
    total = sum(p.restarts for p in pods)
    worst = max(pods, key=lambda p: p.restarts)
    verdict = Verdict.FAIL if total > max_restarts else Verdict.PASS
    detail = counted(total, "restart") + (f" (most: {worst.name}, {worst.restarts})" if total else "")
    return MetricResult(PROVIDER, "restarts", float(total), threshold, verdict, detail, track)


def failures(pods: list[Pod], track: str) -> MetricResult:
    """CrashLoopBackOff, OOMKilled, image pull errors…: the image does not run."""
    failing = [(p.name, reason) for p in pods for reason in p.problems if reason in FAILING_REASONS]
    threshold = "none of CrashLoopBackOff/OOMKilled/ImagePull…"
    if not pods:
        return MetricResult(PROVIDER, "crashloop_oomkilled", None, threshold, Verdict.INCONCLUSIVE, "no pods yet", track)
    if not failing:
        return MetricResult(PROVIDER, "crashloop_oomkilled", 0.0, threshold, Verdict.PASS, "none", track)
    detail = ", ".join(f"{name}: {reason}" for name, reason in failing[:3])
    return MetricResult(PROVIDER, "crashloop_oomkilled", float(len({n for n, _ in failing})), threshold,
                        Verdict.FAIL, detail, track)


def warning_events(events: list[Obj], track: str) -> MetricResult:
    """Warning events on the pods; BackOff/Failed/OOMKilling fail, others (e.g. Unhealthy at startup) are shown."""
    threshold = "no BackOff/Failed/OOMKilling"
    fatal = [e for e in events if e.get("reason") in FAILING_EVENTS]
    shown = fatal or events
    detail = "; ".join(f"{e.get('reason')}: {shorten(e.get('message') or '', 80, placeholder='…', break_on_hyphens=False)}"
                       for e in shown[:2]) or "none"
    verdict = Verdict.FAIL if fatal else Verdict.PASS
    return MetricResult(PROVIDER, "warning_events", float(len(events)), threshold, verdict,
                        counted(len(events), "warning") + (f" ({detail})" if events else ""), track)


def _warnings(events: Iterable[Obj], pod_names: set[str], since: datetime | None) -> list[Obj]:
    found = []
    for item in events:
        involved = item.get("involvedObject") or {}
        if item.get("type") != "Warning" or involved.get("kind") != "Pod" or involved.get("name") not in pod_names:
            continue
        moment = _event_time(item)
        if since is None or moment is None or moment >= since:
            found.append(item)
    return found


def _event_time(item: Obj) -> datetime | None:
    text = item.get("lastTimestamp") or item.get("eventTime") or (item.get("metadata") or {}).get("creationTimestamp")
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
