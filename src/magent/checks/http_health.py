"""http.health: the application's health endpoint answers 200 within a timeout and reports Mistral up.

`--health-url` (and `--staging-url`, and `params.urls`) are each fetched with GET, redirects not
followed (a redirect to a login page is not health). The JSON body must say `status` ok / healthy / pass
and report Mistral ok, either in the seed's shape `{"status", "services": {"mistral": …}}` or in the sample
app's `{"status", "mistral": {"status"}}`. A refused connection, a timeout or another status is the app not
healthy: `fail`, naming the URL and the reason.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field

from magent.checks import CheckContext, CheckType, register_check
from magent.core.errors import UsageError
from magent.core.health import judge_body, mistral_status  # noqa: F401 (re-exported)
from magent.core.health import said as _said
from magent.core.preflight import CheckResult, Finding
from magent.core.redact import mask_url, one_line
from magent.core.text import counted


class HealthParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeout: float = Field(default=5.0, gt=0, le=120, description="seconds for each URL to answer")
    require_mistral: bool = Field(default=True, description="the body must report Mistral connectivity ok")
    urls: list[str] = Field(default_factory=list, description="more health URLs to check")


def targets(ctx: CheckContext, params: HealthParams) -> list[tuple[str, str]]:
    """(label, URL) of every endpoint to check."""
    found = [("health", ctx.options.health_url), ("staging", ctx.options.staging_url)]
    found += [(f"urls[{index}]", url) for index, url in enumerate(params.urls)]
    chosen = [(label, url.strip()) for label, url in found if url and url.strip()]
    for label, url in chosen:
        if not url.lower().startswith(("http://", "https://")):
            raise UsageError(f"{label} URL {mask_url(url)!r} is not an http(s) URL",
                             hint="pass --health-url https://HOST/health")
    return chosen


def run(ctx: CheckContext) -> CheckResult:
    params = ctx.params or HealthParams()
    endpoints = targets(ctx, params)
    if not endpoints:
        return CheckResult.skipped("no health URL: pass --health-url URL (and --staging-url URL)")
    problems: list[Finding] = []
    good: list[str] = []
    for label, url in endpoints:
        problem, summary = probe(url, params)
        shown = f"{label} {mask_url(url)}"
        if problem:
            problems.append(Finding(f"{shown}: {problem}", rule=f"health-{label.split('[')[0]}"))
        else:
            good.append(f"{shown} {summary}")
    if problems:
        return CheckResult.failed(f"{len(problems)} of {counted(len(endpoints), 'health endpoint')} unhealthy: "
                                  + "; ".join(f.message for f in problems), problems)
    return CheckResult.passed("; ".join(good))


def probe(url: str, params: HealthParams) -> tuple[str | None, str]:
    """(what is wrong or None, a summary of a good answer)."""
    import httpx

    from magent.services.metrics import ssl_context

    started = time.monotonic()
    try:
        with httpx.Client(timeout=params.timeout, follow_redirects=False, verify=ssl_context()) as client:
            response = client.get(url, headers={"Accept": "application/json"})
    except httpx.TimeoutException:
        return f"no answer within {params.timeout:g} s", ""
    except httpx.HTTPError as exc:
        return f"unreachable: {one_line(f'{type(exc).__name__}: {exc}')}", ""
    elapsed_ms = (time.monotonic() - started) * 1000
    if response.status_code != 200:
        said = _said(response)
        return f"HTTP {response.status_code}{said}", ""
    return judge_body(response, params.require_mistral, elapsed_ms)


register_check(CheckType("http.health", run, summary="The health endpoint answers 200 and reports Mistral up",
                         params=HealthParams))
