"""mistral.models-exist: every model the application names (mistral.models, plus `params.models`) exists
for its key and may be used by it.

    fail   a model is unknown (404) or forbidden to the key (403), with the close matches it lists
    warn   a `-latest` alias not in mistral.intentional_aliases, or a deprecated model
    error  the key is refused, or Mistral is unreachable / degraded / rate limited
"""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ConfigDict, Field

from magent.checks import CheckContext, CheckType, register_check
from magent.checks._mistral import cannot_judge, key_report
from magent.core.errors import Unreachable
from magent.core.preflight import CheckResult, Finding
from magent.core.text import counted

_CLOSE_MATCHES = 3


class ModelsExistParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(default_factory=list, description="models that must exist (added to mistral.models)")
    spend: bool = Field(default=True, description="1-token chat on each model (finds models listed but forbidden)")


def run(ctx: CheckContext) -> CheckResult:
    from magent.core.keycheck import alias_warnings

    params = ctx.params or ModelsExistParams()
    models = list(dict.fromkeys(name.strip() for name in [*ctx.settings.mistral.models, *params.models]
                                if name.strip()))
    if not models:
        return CheckResult.skipped("no model configured: set mistral.models in magent.yaml (or params.models)")
    report = key_report(ctx, models, spend=params.spend)
    if report.models_count is None:  # the listing itself failed: nothing is known about the models
        raise cannot_judge(report)
    broken = [check for check in report.model_checks if check.status in ("not_found", "forbidden")]
    unknown = [check.model for check in report.model_checks if check.status == "error"]
    if broken:
        findings = [_finding(check.model, check.status, report.available_models) for check in broken]
        names = ", ".join(check.model for check in broken)
        return CheckResult.failed(f"{len(broken)} of {counted(len(models), 'model')} unusable with key "
                                  f"{report.fingerprint}: {names}", findings)
    if unknown:
        raise Unreachable(f"could not look up {', '.join(unknown)}: {report.explanation}", hint=report.hint)
    warnings = alias_warnings(report.model_checks, models, ctx.settings.mistral.intentional_aliases)
    warnings += [w for w in report.warnings if " is deprecated " in w]
    if warnings:
        return CheckResult.warned(f"{counted(len(models), 'model')} found, {len(warnings)} to look at",
                                  [Finding(warning, rule="model-alias" if "-latest" in warning else "model-deprecated",
                                           severity="warning") for warning in warnings])
    return CheckResult.passed(f"{counted(len(models), 'model')} found for key {report.fingerprint}: "
                              f"{', '.join(models)}")


def _finding(model: str, status: str, available: list[str]) -> Finding:
    close = difflib.get_close_matches(model, available, n=_CLOSE_MATCHES, cutoff=0.6)
    what = "forbidden to this key (403)" if status == "forbidden" else "not found for this key"
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return Finding(f"{model}: {what}{hint}", rule=f"model-{status.replace('_', '-')}")


register_check(CheckType("mistral.models-exist", run, summary="Every configured model exists for the Mistral key",
                         params=ModelsExistParams))
