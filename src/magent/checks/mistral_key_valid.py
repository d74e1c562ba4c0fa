"""mistral.key-valid: the application's key (first of --key-from / mistral.key_from) is valid and paid.

The same probe and verdict as `magent key verify`: list the models, then one 1-token chat completion
(`spend: false` skips it, and then payment is not proved). Mistral unreachable, degraded or rate
limited is an `error` (exit 3): the key could not be judged.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from magent.checks import CheckContext, CheckType, register_check
from magent.checks._mistral import cannot_judge, key_report
from magent.core.preflight import CheckResult


class KeyValidParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spend: bool = Field(default=True, description="run a 1-token chat completion to prove payment is activated")


def run(ctx: CheckContext) -> CheckResult:
    from magent.core.keycheck import FORBIDDEN_MODEL, INVALID_KEY, MODEL_NOT_FOUND, PAYMENT_NOT_ACTIVATED, VALID

    spend = (ctx.params or KeyValidParams()).spend
    report = key_report(ctx, ctx.settings.mistral.models, spend=spend)
    who = f"key {report.fingerprint} ({report.source})"
    if report.verdict in (INVALID_KEY, PAYMENT_NOT_ACTIVATED):
        return CheckResult.failed(f"{who}: {report.explanation}" + _hint(report.hint))
    if report.verdict not in (VALID, FORBIDDEN_MODEL, MODEL_NOT_FOUND):
        raise cannot_judge(report)
    # A model problem is mistral.models-exist's finding; here only the key and its payment count.
    listed = f"{report.models_count} models listed in {report.models_latency_ms:.0f} ms"
    if report.payment == "activated":
        return CheckResult.passed(f"{who} valid: {listed}, payment activated (1 token on "
                                  f"{report.completion_model} in {report.completion_latency_ms:.0f} ms)")
    if report.payment == "not_checked":
        return CheckResult.passed(f"{who} valid: {listed}; payment not checked (spend: false)")
    return CheckResult.warned(f"{who} lists models ({listed}) but payment could not be proved: {report.explanation}")


def _hint(hint: str | None) -> str:
    return f" ({hint})" if hint else ""


register_check(CheckType("mistral.key-valid", run, summary="The Mistral API key is valid and its payment activated",
                         params=KeyValidParams, security=True))
