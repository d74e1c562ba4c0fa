"""The `mistral` provider: list models with the SDK; a refused key fails the step, an outage holds it."""

from __future__ import annotations

import functools
import time
from typing import Any

from magent.core.analysis_config import AnalysisSettings, AnalysisTarget
from magent.core.judge import MetricResult, Verdict
from magent.core.redact import mask_url, one_line
from magent.services.metrics.common import unavailable


def check(settings: AnalysisSettings, target: AnalysisTarget, timeout: float) -> list[MetricResult]:
    """List models with the SDK: a refused key fails the step; an outage or a rate limit holds it."""
    threshold = "models listed"
    if not target.mistral_base_url or not target.mistral_api_key:
        return [unavailable("mistral", "no Mistral base URL or API key for the analysis", "api")]
    from magent.services.mistral.client import AUTH, FORBIDDEN, describe_failure

    started = time.monotonic()
    try:
        client = _mistral_client(target.mistral_base_url, target.mistral_api_key, timeout)
        models = client.models.list()
    except Exception as exc:
        failure = describe_failure(exc)
        status = f"HTTP {failure.status}: " if failure.status else ""
        verdict = Verdict.FAIL if failure.kind in (AUTH, FORBIDDEN) else Verdict.INCONCLUSIVE
        return [MetricResult("mistral", "api", None, threshold, verdict, one_line(f"{status}{failure.message}"))]
    elapsed = time.monotonic() - started
    count = len(models.data or [])
    return [MetricResult("mistral", "api", round(elapsed, 3), threshold, Verdict.PASS,
                         f"{count} models in {elapsed:.2f} s from {mask_url(target.mistral_base_url)}")]


@functools.lru_cache(maxsize=4)
def _mistral_client(base_url: str, api_key: str, timeout: float) -> Any:
    """Kept for the whole deploy: building the SDK client (and its HTTP client) every interval costs ~100 ms."""
    from magent.services.mistral.client import make_client

    return make_client(base_url, api_key, timeout_s=timeout)
