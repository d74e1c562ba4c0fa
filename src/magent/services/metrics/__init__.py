"""Analysis providers for `magent deploy`: web health, Prometheus, CloudWatch, the Mistral API.

One module per provider in this package, each with `check(settings, target, timeout)`, named as its section of
`deploy.analysis`; `core.analysis_config.PROVIDER_NAMES` is the one list of them, and `PROVIDERS` below is built
from it (a new provider is a settings section, a name in that list, and a module here).

`collect(settings, target)` runs every enabled provider concurrently, each under a timeout shorter than
the analysis interval, and returns plain `MetricResult`s for `core.judge.analyse()` (together with the
Kubernetes checks). A provider never raises: an unreachable or refusing backend is an INCONCLUSIVE result
that says why, so the step holds instead of passing on missing data.

    settings = parse_analysis(app_settings.deploy.analysis, aws=app_settings.aws)
    prepare(settings)                                   # once, at deploy start: heavy imports in background
    results = collect(settings, target, interval_s=30)  # every interval; within min(timeout, 15 s) + 0.25 s
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable

from magent.core.analysis_config import PROVIDER_NAMES, AnalysisSettings, AnalysisTarget
from magent.core.judge import MetricResult
from magent.core.redact import SECRETS
from magent.services.metrics.common import ssl_context, unavailable

log = logging.getLogger(__name__)

Provider = Callable[[AnalysisSettings, AnalysisTarget, float], list[MetricResult]]

# Providers get at most this share of the interval, so a verdict is always ready before the next one.
_INTERVAL_SHARE = 0.5
_GRACE_S = 0.25


def collect(
    settings: AnalysisSettings, target: AnalysisTarget, *, interval_s: float | None = None
) -> list[MetricResult]:
    """Results of every enabled provider, concurrently; returns within `provider_timeout()` + 0.25 s."""
    timeout = provider_timeout(settings, interval_s)
    answers: dict[str, list[MetricResult]] = {}
    # Daemon threads, not an executor: a provider stuck past its timeout must hold neither the deploy nor exit.
    threads = [
        threading.Thread(target=_run, args=(name, settings, target, timeout, answers), name=f"magent-analysis-{name}",
                         daemon=True)
        for name in settings.enabled_providers()
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout + _GRACE_S
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    results: list[MetricResult] = []
    for name in settings.enabled_providers():
        results.extend(answers[name] if name in answers else [unavailable(name, f"no answer within {timeout:g} s")])
    return results


def provider_timeout(settings: AnalysisSettings, interval_s: float | None) -> float:
    """The configured per-provider timeout, capped at half the analysis interval."""
    if interval_s is None:
        return settings.timeout
    return max(0.1, min(settings.timeout, interval_s * _INTERVAL_SHARE))


def prepare(settings: AnalysisSettings) -> threading.Thread:
    """Import the heavy libraries the enabled providers need in a background thread (scipy alone takes ~1 s)."""
    modules = ["httpx", "scipy.stats"]
    if settings.cloudwatch is not None and settings.cloudwatch.enabled:
        modules.append("boto3")
    if settings.mistral.enabled:
        modules.append("mistralai.client")

    def load() -> None:
        import importlib

        for module in modules:
            try:
                importlib.import_module(module)
            except ImportError as exc:  # reported by the provider itself when it runs
                log.debug("cannot preload %s: %s", module, exc)
        ssl_context()

    thread = threading.Thread(target=load, name="magent-analysis-preload", daemon=True)
    thread.start()
    return thread


def _run(
    name: str,
    settings: AnalysisSettings,
    target: AnalysisTarget,
    timeout: float,
    answers: dict[str, list[MetricResult]],
) -> None:
    try:
        answers[name] = PROVIDERS[name](settings, target, timeout)
    except Exception as exc:  # a provider bug or an SDK surprise must never stop the deploy
        log.warning("analysis provider %s failed: %s", name, SECRETS.mask(f"{type(exc).__name__}: {exc}"))
        answers[name] = [unavailable(name, f"{type(exc).__name__}: {exc}")]


PROVIDERS: dict[str, Provider] = {
    name: importlib.import_module(f"{__name__}.{name}").check for name in PROVIDER_NAMES
}

__all__ = ["PROVIDERS", "Provider", "collect", "prepare", "provider_timeout", "ssl_context", "unavailable"]
