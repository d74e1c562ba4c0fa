"""One key probe per run, shared by `mistral.key-valid` and `mistral.models-exist` (same key, same models,
same spend: one listing and one 1-token chat per model, not one per check)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from magent.checks._shared import api_key, mistral_url
from magent.core.errors import CredentialsRefused, MagentError, Unreachable

if TYPE_CHECKING:
    from magent.checks import CheckContext
    from magent.core.keycheck import KeyReport


def budget(ctx: CheckContext) -> float:
    """Seconds this item may take (its own timeout, else the run's)."""
    return (ctx.item.timeout if ctx.item and ctx.item.timeout else None) or ctx.options.timeout_s


def key_report(ctx: CheckContext, models: Sequence[str], *, spend: bool) -> KeyReport:
    """The `magent key verify` verdict on the application's key, probed once per (models, spend)."""
    names = tuple(dict.fromkeys(models))
    key = api_key(ctx)
    url = mistral_url(ctx)
    # Each API call gets a share of the item's budget, so that the check answers before the engine gives up.
    timeout_s = max(1.0, min(ctx.settings.mistral.timeout, budget(ctx) / 3))

    def build() -> Any:
        from magent.core.keycheck import evaluate_key
        from magent.core.redact import fingerprint
        from magent.services.mistral.probe import probe_key

        probe = probe_key(url, key.key, models=names, spend=spend, timeout_s=timeout_s)
        return evaluate_key(key.source.spec, fingerprint(key.key), probe, models=names,
                            intentional_aliases=ctx.settings.mistral.intentional_aliases,
                            warnings=key.warnings)

    return ctx.once(f"mistral.probe|{spend}|{','.join(names)}", build)


def cannot_judge(report: KeyReport) -> MagentError:
    """The error for a verdict that says nothing about the key (Mistral down, rate limited, odd answer)."""
    from magent.core.keycheck import INVALID_KEY

    if report.verdict == INVALID_KEY:
        return CredentialsRefused(report.explanation, hint=report.hint)
    return Unreachable(report.explanation, hint=report.hint)
