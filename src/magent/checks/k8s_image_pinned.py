"""k8s.image-pinned: no `:latest`, no missing tag, on every container and init container. A tag without a
digest passes (the message recommends a digest) unless `require_digest: true`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from magent.checks import CheckContext, CheckType, register_check
from magent.checks._k8s import NO_INPUT, NO_WORKLOADS, workload_sets
from magent.core.k8s_rules import image_pinned
from magent.core.preflight import CheckResult
from magent.core.text import counted


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    require_digest: bool = False


def run(ctx: CheckContext) -> CheckResult:
    require_digest = (ctx.params or Params()).require_digest
    sets = workload_sets(ctx)
    if not sets:
        return CheckResult.skipped(NO_INPUT)
    if not any(s.workloads for s in sets):
        return CheckResult.skipped(NO_WORKLOADS)
    findings = [f for s in sets for f in image_pinned(s)]
    unpinned = [f for f in findings if f.rule == "unpinned" or (require_digest and f.rule == "no-digest")]
    if unpinned:
        return CheckResult.failed(f"{counted(len(unpinned), 'image')} not pinned", unpinned)
    tag_only = len(findings)
    if tag_only:
        return CheckResult.passed(f"every image has a version tag; {tag_only} pinned by tag only "
                                  "(a digest, @sha256:…, is best)")
    return CheckResult.passed("every image is pinned by digest")


register_check(CheckType("k8s.image-pinned", run, summary="Images pinned: no :latest, no missing tag",
                         params=Params))
