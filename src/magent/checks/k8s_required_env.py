"""k8s.required-env: the env vars the checklist lists are set on every long-running workload (in one of its
containers, or in `container`), the sensitive ones from a Secret. A var that only an envFrom Secret or
ConfigMap could provide, whose keys magent cannot see (offline, without that object in the manifests), warns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from magent.checks import CheckContext, CheckType, register_check
from magent.checks._k8s import NO_INPUT, NO_WORKLOADS, workload_sets
from magent.core.k8s_rules import required_env
from magent.core.preflight import CheckResult
from magent.core.text import counted

DEFAULT_VARS = ["MISTRAL_API_KEY", "ENVIRONMENT", "LOG_LEVEL"]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vars: list[str] = Field(default_factory=lambda: list(DEFAULT_VARS), min_length=1)
    sensitive: list[str] | None = None  # None: the names that look sensitive (MISTRAL_API_KEY, *_TOKEN, …)
    container: str | None = None


def run(ctx: CheckContext) -> CheckResult:
    params = ctx.params or Params()
    sets = workload_sets(ctx)
    if not sets:
        return CheckResult.skipped(NO_INPUT)
    if not any(s.workloads for s in sets):
        return CheckResult.skipped(NO_WORKLOADS)
    findings = [f for s in sets for f in required_env(s, params.vars, params.sensitive, params.container)]
    failing = [f for f in findings if f.rule != "unverified"]
    if failing:
        return CheckResult.failed(counted(len(failing), "required env var problem"), findings)
    if findings:
        return CheckResult.warned(f"{counted(len(findings), 'env var')} may come from envFrom; magent cannot see "
                                  "their keys", findings)
    return CheckResult.passed(f"{', '.join(params.vars)} set on every workload")


register_check(CheckType("k8s.required-env", run, params=Params,
                         summary="Required env vars set on the Deployment, sensitive ones from a Secret"))
