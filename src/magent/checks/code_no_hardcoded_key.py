"""code.no-hardcoded-key: no Mistral API key (nor, with less confidence, any other secret) in the repository.

Scans `--repo DIR` as git sees it (`.gitignore` honoured) with the rules of `magent.core.secretscan`.
Findings accepted in `--baseline FILE` (written by `--write-baseline FILE`) and lines marked `magent:allow`
are not reported. `--verify` asks Mistral (`GET /v1/models`) whether each key found is live: a live key in
a repository is critical. Every key found is registered for masking, so no output can show it.

    fail   a Mistral key is in the repository (generic findings listed with it)
    warn   only generic findings (lower confidence)
    pass   nothing found
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from magent.checks import CheckContext, CheckType, register_check
from magent.core.errors import UsageError
from magent.core.preflight import CheckResult, Finding
from magent.core.redact import SECRETS
from magent.core.secretscan import MISTRAL_RULE, BaselineKey, Hit, in_baseline
from magent.core.text import counted

if TYPE_CHECKING:
    from magent.services.mistral.client import ApiFailure
    from magent.services.repo import RepoScan

_MAX_VERIFIED = 20  # distinct keys asked about per run: a repository full of keys needs no more proof
_VERIFY_TIMEOUT_S = 5.0


class HardcodedKeyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exclude: list[str] = Field(default_factory=list, description="gitignore-style globs not to scan")
    max_file_bytes: int = Field(default=2 * 1024 * 1024, gt=0, description="larger files are skipped")
    generic: bool = Field(default=True, description="also report generic `*_API_KEY / token / secret = …`")


def _params(ctx: CheckContext) -> HardcodedKeyParams:
    return ctx.params if isinstance(ctx.params, HardcodedKeyParams) else HardcodedKeyParams()


def scan_hits(ctx: CheckContext) -> RepoScan:
    """Scan `--repo` with the item's params; no baseline applied. Registers every secret for masking."""
    from magent.services.repo import scan_repo

    params = _params(ctx)
    if ctx.options.repo is None:
        raise UsageError("no repository to scan", hint="pass --repo DIR")
    scan = scan_repo(ctx.options.repo, exclude=params.exclude, max_file_bytes=params.max_file_bytes,
                     generic=params.generic)
    for hit in scan.hits:
        SECRETS.add(hit.secret)
    return scan


def scan_findings(ctx: CheckContext) -> list[Finding]:
    """Every finding in `--repo` before the baseline (what `--write-baseline FILE` records)."""
    return scan_hits(ctx).findings


def run(ctx: CheckContext) -> CheckResult:
    if ctx.options.repo is None:
        return CheckResult.skipped("no repository to scan: pass --repo DIR")
    baseline = _baseline(ctx)
    scan = scan_hits(ctx)
    hits = [hit for hit in scan.hits if not in_baseline(hit.finding, baseline)]
    suppressed = len(scan.hits) - len(hits)
    if ctx.options.verify_keys:
        hits = _verify(ctx, hits)
    findings = [hit.finding for hit in hits]
    keys = [f for f in findings if f.rule == MISTRAL_RULE]
    summary = _summary(scan, keys, findings, suppressed)
    if keys:
        return CheckResult.failed(summary, findings)
    if findings:
        return CheckResult.warned(summary, findings)
    return CheckResult.passed(summary)


def _baseline(ctx: CheckContext) -> set[BaselineKey]:
    if ctx.options.baseline is None:
        return set()
    from magent.services.repo import load_baseline

    return load_baseline(ctx.options.baseline)


def _summary(scan: RepoScan, keys: list[Finding], findings: list[Finding], suppressed: int) -> str:
    files = len({f.file for f in keys})
    live = sum("LIVE key" in f.message for f in keys)
    what = counted(len(keys), "Mistral key") + (f" in {counted(files, 'file')}" if keys else "")
    if live:
        what += f" ({live} LIVE)"
    if len(findings) > len(keys):
        what += f", {counted(len(findings) - len(keys), 'possible secret')}"
    if suppressed:
        what += f", {suppressed} in the baseline"
    skipped = [counted(n, label, label) for n, label in ((scan.skipped_binary, "binary"),
                                                        (scan.skipped_large, "too large")) if n]
    seen = f"{counted(scan.files, 'file')} ({scan.bytes / 1e6:.1f} MB)"
    if skipped:
        seen += f", skipped {' and '.join(skipped)}"
    return f"scanned {seen} in {scan.seconds:.1f} s: {what}"


def _verify(ctx: CheckContext, hits: list[Hit]) -> list[Hit]:
    """Ask Mistral about each distinct Mistral-rule key; say in each finding what it answered."""
    from magent.services.mistral.client import AUTH

    secrets = list(dict.fromkeys(hit.secret for hit in hits if hit.finding.rule == MISTRAL_RULE))
    verdicts: dict[str, tuple[str, str | None]] = {}
    unreachable: str | None = None  # once Mistral cannot be reached, don't wait on it for every key
    for secret in secrets[:_MAX_VERIFIED]:
        failure = None if unreachable else _list_models_failure(ctx, secret)
        if unreachable:
            verdicts[secret] = (unreachable, None)
        elif failure is None:
            verdicts[secret] = ("LIVE key: revoke it now in the Mistral console", "critical")
        elif failure.kind == AUTH:
            verdicts[secret] = ("rejected by Mistral (not live)", None)
        else:
            verdicts[secret] = (f"not verified: {failure.kind} ({failure.message})", None)
            unreachable = verdicts[secret][0] if failure.transport else None
    out = []
    for hit in hits:
        verdict = verdicts.get(hit.secret) if hit.finding.rule == MISTRAL_RULE else None
        if verdict:
            message, severity = verdict
            finding = replace(hit.finding, message=SECRETS.mask(f"{hit.finding.message}: {message}"),
                              severity=severity or hit.finding.severity)
            hit = Hit(finding, hit.secret)
        out.append(hit)
    return out


def _list_models_failure(ctx: CheckContext, secret: str) -> ApiFailure | None:
    """None when `GET /v1/models` answers 200 for `secret`, else the ApiFailure (no retries: one question)."""
    from magent.checks._shared import mistral_url
    from magent.services.mistral.client import make_client
    from magent.services.mistral.probe import list_models

    with make_client(mistral_url(ctx), secret, timeout_s=_VERIFY_TIMEOUT_S) as client:
        return list_models(client).failure


register_check(CheckType("code.no-hardcoded-key", run, summary="No Mistral API key hard-coded in the repository",
                         params=HardcodedKeyParams, security=True))
