"""http.health: the application's health endpoint answers 200 within a timeout and reports Mistral up.

`--health-url` (and `--staging-url`, and `params.urls`) are each fetched with GET, redirects not
followed (a redirect to a login page is not health). The JSON body must say `status` ok / healthy / pass
and report Mistral ok, either in the seed's shape `{"status", "services": {"mistral": …}}` or in the sample
app's `{"status", "mistral": {"status"}}`. A refused connection, a timeout or another status is the app not
healthy: `fail`, naming the URL and the reason.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from magent.checks import CheckContext, CheckType, register_check
from magent.core.errors import UsageError
from magent.core.preflight import CheckResult, Finding
from magent.core.redact import SECRETS, mask_url

OK_WORDS = frozenset({"ok", "healthy", "pass", "up", "green"})


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
        return CheckResult.failed(f"{len(problems)} of {len(endpoints)} health endpoint(s) unhealthy: "
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
        return f"unreachable: {_one_line(f'{type(exc).__name__}: {exc}')}", ""
    elapsed_ms = (time.monotonic() - started) * 1000
    if response.status_code != 200:
        said = _said(response)
        return f"HTTP {response.status_code}{said}", ""
    return judge_body(response, params.require_mistral, elapsed_ms)


def judge_body(response: Any, require_mistral: bool, elapsed_ms: float) -> tuple[str | None, str]:
    try:
        body = response.json()
    except ValueError:
        return "200 but the body is not JSON (expected {\"status\": \"ok\", \"services\": {\"mistral\": …}})", ""
    if not isinstance(body, dict):
        return "200 but the body is not a JSON object", ""
    status = body.get("status")
    if not _ok(status):
        return f"200 but status is {status!r}", ""
    mistral = mistral_status(body)
    if require_mistral and mistral is None:
        return "200 but the body does not report Mistral (add services.mistral to /health)", ""
    if require_mistral and not _ok(mistral):
        return f"200 but Mistral is reported {mistral!r}", ""
    reported = f", Mistral {mistral}" if mistral is not None else ""
    return None, f"200 in {elapsed_ms:.0f} ms, status {status}{reported}"


def mistral_status(body: dict[str, Any]) -> Any:
    """The reported Mistral status: `services.mistral` (a word, a bool or an object with `status`), else a
    top-level `mistral`; None when the body does not say."""
    services = body.get("services")
    value = services.get("mistral") if isinstance(services, dict) else None
    if value is None:
        value = body.get("mistral")
    if isinstance(value, dict):
        value = value.get("status", value.get("ok"))
    return value


def _ok(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in OK_WORDS


def _said(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    status = body.get("status") if isinstance(body, dict) else None
    mistral = mistral_status(body) if isinstance(body, dict) else None
    parts = [f"status {status!r}" if status is not None else "", f"Mistral {mistral!r}" if mistral is not None else ""]
    text = ", ".join(part for part in parts if part)
    return f" ({text})" if text else ""


def _one_line(text: str) -> str:
    line = " ".join(SECRETS.mask(text).split())
    return line[:200]


register_check(CheckType("http.health", run, summary="The health endpoint answers 200 and reports Mistral up",
                         params=HealthParams))
