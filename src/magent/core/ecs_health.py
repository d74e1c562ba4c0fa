"""The health of an ECS canary service, judged like a Kubernetes canary's pods: every desired task running,
and no more stopped (failed) tasks than `deploy.max_restarts` allows."""

from __future__ import annotations

from magent.core.judge import MetricResult, Verdict

PROVIDER = "ecs"


def tasks_running(running: int, desired: int, track: str = "canary") -> MetricResult:
    threshold = f">= {desired} running"
    detail = f"{running}/{desired} tasks running"
    verdict = Verdict.PASS if desired > 0 and running >= desired else Verdict.INCONCLUSIVE
    return MetricResult(PROVIDER, "tasks_running", float(running), threshold, verdict, detail, track)


def tasks_failed(failed: int, max_failed: int, track: str = "canary") -> MetricResult:
    verdict = Verdict.FAIL if failed > max_failed else Verdict.PASS
    return MetricResult(PROVIDER, "tasks_failed", float(failed), f"<= {max_failed}", verdict,
                        f"{failed} tasks stopped since the canary started", track)
