"""One analysis of a canary step: the target's own health checks (always) plus the configured providers, judged
together."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from magent.core.analysis_config import AnalysisSettings, AnalysisTarget
from magent.core.canary_manifest import image_repository
from magent.core.errors import MagentError
from magent.core.judge import AnalysisResult, MetricResult, Verdict, analyse
from magent.core.redact import SECRETS

if TYPE_CHECKING:
    from magent.core.config import Settings
    from magent.services.targets import Canary, DeployTarget

log = logging.getLogger(__name__)


def image_tag(image: str) -> str:
    """`registry/app:v2` → `v2` (the version label the app reports); the whole image when it has no tag."""
    repository = image_repository(image)
    rest = image.split("@", 1)[0][len(repository):]
    return rest.lstrip(":") or image


@dataclass
class StepAnalysis:
    """Everything an analysis of one step needs; `run()` performs one analysis."""

    target: DeployTarget
    canary: Canary
    settings: Settings
    analysis: AnalysisSettings
    canary_image: str
    metrics_target: AnalysisTarget
    interval_s: float

    def run(self, *, desired: int, since: datetime | None) -> AnalysisResult:
        results = self.target.canary_health(self.canary, desired=desired, image=self.canary_image, since=since,
                                            max_restarts=self.settings.deploy.max_restarts)
        results.extend(self._providers())
        return analyse(results)

    def _providers(self) -> list[MetricResult]:
        if not self.analysis.enabled_providers():
            return []
        try:
            from magent.services.metrics import collect
        except ImportError:  # the metrics service is not installed in this build
            return []
        try:
            return list(collect(self.analysis, self.metrics_target, interval_s=self.interval_s))
        except MagentError as exc:
            return [MetricResult("analysis", "providers", None, "answer", Verdict.INCONCLUSIVE,
                                 SECRETS.mask(exc.message))]


def build_target(
    settings: Settings, analysis: AnalysisSettings, *, namespace: str, deployment: str, canary: str,
    stable_image: str, canary_image: str, window_s: float, analyses_per_step: int = 1,
) -> AnalysisTarget:
    """The analysis target; the Mistral key is resolved only when the Mistral check is on (and never fails a deploy)."""
    key = None
    if analysis.mistral.enabled:
        key = _mistral_key(settings)
    return AnalysisTarget(namespace=namespace, deployment=deployment, canary_deployment=canary,
                          stable_version=image_tag(stable_image), canary_version=image_tag(canary_image),
                          window_s=window_s, analyses_per_step=analyses_per_step,
                          mistral_base_url=settings.mistral.base_url, mistral_api_key=key)


def _mistral_key(settings: Settings) -> str | None:
    try:
        from magent.services.keys import resolve_mistral_keys

        resolved = resolve_mistral_keys(settings, first_only=True)
    except MagentError as exc:
        log.warning("the Mistral check has no key (%s): it will be inconclusive", exc.message)
        return None
    return resolved[0].key if resolved else None
