"""k8s.key-from-secret: MISTRAL_API_KEY and every sensitive-looking env var (password, token, secret, API
key, …: Polaris' list plus API and private keys) come from `valueFrom.secretKeyRef`, never a literal value;
no literal value holds a private key. `sensitive` adds name patterns (regular expressions, case-insensitive)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from magent.checks import CheckContext, CheckType, register_check
from magent.checks._k8s import NO_WORKLOADS, has_workloads, judge
from magent.core.k8s_rules import key_from_secret
from magent.core.preflight import CheckResult
from magent.core.text import counted


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sensitive: list[str] = Field(default_factory=list)

    @field_validator("sensitive")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        return patterns


def run(ctx: CheckContext) -> CheckResult:
    extra = tuple(re.compile(p, re.IGNORECASE) for p in (ctx.params or Params()).sensitive)
    return judge(ctx, lambda ws: key_from_secret(ws, extra), applies=has_workloads, nothing=NO_WORKLOADS,
                 passed="every sensitive env var comes from a Secret (valueFrom.secretKeyRef)",
                 failed=lambda n: f"{counted(n, 'sensitive env var')} not taken from a Secret")


register_check(CheckType("k8s.key-from-secret", run, security=True, params=Params,
                         summary="MISTRAL_API_KEY and other sensitive env vars come from a Secret"))
