"""deploy.analysis-reachable: every backend under `deploy.analysis` answers now, so that a release does not
find out at 10 % that its canary analysis cannot see anything.

    prometheus   the instant query `vector(1)` at its URL
    web          its URL answers over HTTP (any status: reachable; the status is reported). `$canary_deployment`
                 is checked as the stable Deployment (the canary does not exist before the deploy)
    cloudwatch   one ListMetrics page of its namespace (region and endpoint as the deploy would use them)
    mistral      GET /v1/models with the application's key

Each backend is probed side by side within `deploy.analysis.timeout`. A backend that does not answer (or
refuses our credentials) is a finding naming it: the item fails. No analysis configured is a `warn`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

from magent.checks import CheckContext, CheckType, register_check
from magent.core.analysis_config import AnalysisSettings, expand
from magent.core.errors import MagentError
from magent.core.preflight import CheckResult, Finding
from magent.core.redact import mask_url, one_line
from magent.core.text import counted

Probe = Callable[[], str]  # returns what answered ("HTTP 200 in 12 ms"); raises ProbeFailed when it did not
_PLACEHOLDER = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_GRACE_S = 1.0


class ProbeFailed(Exception):
    """A backend did not answer (the message says how)."""


def run(ctx: CheckContext) -> CheckResult:
    from magent.core.analysis_config import parse_analysis

    if not ctx.settings.deploy.analysis:
        return CheckResult.warned("deploy.analysis is empty: the canary is judged on pod health only")
    analysis = parse_analysis(ctx.settings.deploy.analysis, aws=ctx.settings.aws)
    providers = analysis.enabled_providers()
    if not providers:
        return CheckResult.warned("every deploy.analysis provider is disabled: the canary is judged on pod health only")
    probes = {name: _PROBES[name](ctx, analysis) for name in providers}
    answers = _run_all(probes, analysis.timeout + _GRACE_S)
    failed = [Finding(f"{name}: {answer}", rule=f"analysis-{name}") for name, (ok, answer) in answers.items() if not ok]
    if failed:
        names = ", ".join(finding.message.split(":")[0] for finding in failed)
        return CheckResult.failed(f"{len(failed)} of {counted(len(providers), 'analysis backend')} not answering: "
                                  f"{names}",
                                  failed)
    return CheckResult.passed("every analysis backend answers: " + "; ".join(
        f"{name} {answer}" for name, (_ok, answer) in answers.items()))


def _run_all(probes: dict[str, Probe], deadline_s: float) -> dict[str, tuple[bool, str]]:
    """Every probe in its own daemon thread (a hung backend holds neither the item nor the run)."""
    answers: dict[str, tuple[bool, str]] = {}

    def call(name: str, probe: Probe) -> None:
        try:
            answers[name] = (True, probe())
        except ProbeFailed as exc:
            answers[name] = (False, str(exc))
        except MagentError as exc:
            answers[name] = (False, exc.message)
        except Exception as exc:  # noqa: BLE001 - an SDK surprise is that backend's finding, not a crash
            answers[name] = (False, f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=call, args=item, name=f"reach-{item[0]}", daemon=True)
               for item in probes.items()]
    for thread in threads:
        thread.start()
    end = time.monotonic() + deadline_s
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    return {name: answers.get(name, (False, f"no answer within {deadline_s:g} s")) for name in probes}


def _ms(started: float) -> str:
    return f"{(time.monotonic() - started) * 1000:.0f} ms"


# --- one probe per provider -------------------------------------------------------------------------------

def _prometheus(ctx: CheckContext, analysis: AnalysisSettings) -> Probe:
    assert analysis.prometheus is not None
    url = analysis.prometheus.url or ""

    def probe() -> str:
        import asyncio

        from magent.services.metrics.prometheus import query_all

        started = time.monotonic()
        answer = asyncio.run(query_all(url, {"probe": "vector(1)"}, analysis.timeout))["probe"]
        if answer.error:
            raise ProbeFailed(f"{mask_url(url)}: {answer.error}")
        return f"{mask_url(url)} answered vector(1) in {_ms(started)}"

    return probe


def _web(ctx: CheckContext, analysis: AnalysisSettings) -> Probe:
    assert analysis.web is not None
    deployment = ctx.options.deployment or ""
    variables = {"namespace": ctx.options.namespace or ctx.settings.kubernetes.namespace}
    if deployment:  # before the deploy there is no canary: its URL is the stable one's
        variables |= {"deployment": deployment, "canary_deployment": deployment}
    url = expand(analysis.web.url or "", variables)

    def probe() -> str:
        import httpx

        from magent.services.metrics import ssl_context

        left = sorted(set(_PLACEHOLDER.findall(url)))
        if left:
            raise ProbeFailed(f"cannot check {mask_url(url)}: it uses ${', $'.join(left)} (pass --deployment)")
        started = time.monotonic()
        try:
            with httpx.Client(timeout=analysis.timeout, follow_redirects=False, verify=ssl_context()) as client:
                response = client.get(url)
        except httpx.HTTPError as exc:
            raise ProbeFailed(f"{mask_url(url)} unreachable: {one_line(f'{type(exc).__name__}: {exc}')}") from None
        return f"{mask_url(url)} answered HTTP {response.status_code} in {_ms(started)}"

    return probe


def _cloudwatch(ctx: CheckContext, analysis: AnalysisSettings) -> Probe:
    section = analysis.cloudwatch
    assert section is not None
    namespace = section.namespace or next((m.namespace for m in section.metrics if m.namespace), None)

    def probe() -> str:
        from magent.services.aws.cloudwatch import probe_metrics

        count, seconds = probe_metrics(namespace, region=section.region, endpoint_url=section.endpoint_url,
                                       timeout_s=analysis.timeout)
        where = f" at {mask_url(section.endpoint_url)}" if section.endpoint_url else ""
        return f"ListMetrics{where} on {namespace} answered ({count} metrics) in {seconds * 1000:.0f} ms"

    return probe


def _mistral(ctx: CheckContext, analysis: AnalysisSettings) -> Probe:
    from magent.checks._shared import api_key, mistral_url

    key, url = api_key(ctx), mistral_url(ctx)  # a missing key is an error of the item, not of the backend

    def probe() -> str:
        from magent.services.mistral.client import make_client
        from magent.services.mistral.probe import list_models

        with make_client(url, key.key, timeout_s=analysis.timeout) as client:
            listing = list_models(client)
        if listing.failure is not None:
            status = f"HTTP {listing.failure.status}: " if listing.failure.status else ""
            raise ProbeFailed(f"{mask_url(url)}/v1/models: {status}{listing.failure.message}")
        return f"{mask_url(url)} listed {len(listing.models)} models in {listing.latency_ms:.0f} ms"

    return probe


_PROBES: dict[str, Callable[[CheckContext, AnalysisSettings], Any]] = {
    "prometheus": _prometheus, "web": _web, "cloudwatch": _cloudwatch, "mistral": _mistral,
}

register_check(CheckType("deploy.analysis-reachable", run, summary="Every canary analysis backend answers now"))
