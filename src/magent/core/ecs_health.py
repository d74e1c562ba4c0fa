"""The health of an ECS canary service, judged like a Kubernetes canary's pods: every desired task running,
and no more stopped (failed) tasks than `deploy.max_restarts` allows."""

from __future__ import annotations

from dataclasses import dataclass

from magent.core.judge import MetricResult, Verdict

PROVIDER = "ecs"


@dataclass(frozen=True)
class AlbCheck:
    """How the canary target group's ALB metrics are judged (deploy.ecs in magent.yaml)."""

    max_5xx_ratio: float = 0.05
    min_requests: int = 20
    latency_stat: str = "p95"  # CloudWatch's statistic of TargetResponseTime (moto computes no percentiles)
    max_latency_s: float = 5.0


def tasks_running(running: int, desired: int, track: str = "canary") -> MetricResult:
    threshold = f">= {desired} running"
    detail = f"{running}/{desired} tasks running"
    verdict = Verdict.PASS if desired > 0 and running >= desired else Verdict.INCONCLUSIVE
    return MetricResult(PROVIDER, "tasks_running", float(running), threshold, verdict, detail, track)


def tasks_failed(failed: int, max_failed: int, track: str = "canary") -> MetricResult:
    verdict = Verdict.FAIL if failed > max_failed else Verdict.PASS
    return MetricResult(PROVIDER, "tasks_failed", float(failed), f"<= {max_failed}", verdict,
                        f"{failed} tasks stopped since the canary started", track)


def alb_errors(errors_5xx: float | None, requests: float | None, *, max_ratio: float, min_requests: int,
               track: str = "canary") -> MetricResult:
    """The canary target group's share of 5xx answers; too few requests to judge is INCONCLUSIVE (the step holds)."""
    threshold = f"<= {max_ratio:.1%} of >= {min_requests} requests"
    if not requests or requests < min_requests:
        return MetricResult(PROVIDER, "alb_5xx_ratio", None, threshold, Verdict.INCONCLUSIVE,
                            f"{int(requests or 0)} requests so far (the ALB sends the canary its weight)", track)
    ratio = (errors_5xx or 0.0) / requests
    verdict = Verdict.FAIL if ratio > max_ratio else Verdict.PASS
    return MetricResult(PROVIDER, "alb_5xx_ratio", ratio, threshold, verdict,
                        f"{ratio:.1%} ({int(errors_5xx or 0)} of {int(requests)} requests answered 5xx)", track)


def alb_latency(seconds: float | None, *, stat: str, max_seconds: float, track: str = "canary") -> MetricResult:
    threshold = f"<= {max_seconds:g} s"
    if seconds is None:
        return MetricResult(PROVIDER, f"alb_latency_{stat.lower()}", None, threshold, Verdict.INCONCLUSIVE,
                            "no TargetResponseTime datapoint yet", track)
    verdict = Verdict.FAIL if seconds > max_seconds else Verdict.PASS
    return MetricResult(PROVIDER, f"alb_latency_{stat.lower()}", seconds, threshold, verdict,
                        f"{seconds:.3f} s ({stat} of TargetResponseTime)", track)
