"""An application's health endpoint, probed over HTTP and judged by `magent.core.health`.

`probe_health(url)` is one GET (redirects not followed: a login page is not health); `wait_healthy(url)`
polls until the app answers healthy or the time is up. When the body reports Mistral, Mistral must be ok:
that is the new key verified through the running app.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from magent.core.health import judge_body, mistral_status, said
from magent.core.redact import SECRETS


@dataclass(frozen=True)
class HealthAnswer:
    ok: bool
    detail: str  # what is wrong, or the summary of a good answer
    reports_mistral: bool = False
    status_code: int | None = None


def probe_health(url: str, *, timeout_s: float = 5.0) -> HealthAnswer:
    import httpx

    from magent.services.metrics import ssl_context

    started = time.monotonic()
    try:
        with httpx.Client(timeout=timeout_s, follow_redirects=False, verify=ssl_context()) as client:
            response = client.get(url, headers={"Accept": "application/json"})
    except httpx.TimeoutException:
        return HealthAnswer(False, f"no answer within {timeout_s:g} s")
    except httpx.HTTPError as exc:
        reason = " ".join(SECRETS.mask(f"{type(exc).__name__}: {exc}").split())
        return HealthAnswer(False, f"unreachable: {reason[:200]}")
    elapsed_ms = (time.monotonic() - started) * 1000
    if response.status_code != 200:
        return HealthAnswer(False, SECRETS.mask(f"HTTP {response.status_code}{said(response)}"),
                            status_code=response.status_code)
    reports = _reports_mistral(response)
    problem, summary = judge_body(response, reports, elapsed_ms)
    return HealthAnswer(problem is None, SECRETS.mask(problem or summary), reports, 200)


def _reports_mistral(response: Any) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and mistral_status(body) is not None


def wait_healthy(url: str, *, timeout_s: float, poll_s: float = 0.5,
                 on_poll: Callable[[HealthAnswer], None] | None = None) -> HealthAnswer:
    """Poll until healthy (returned) or `timeout_s` has passed (the last answer is returned, not ok)."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = probe_health(url, timeout_s=min(5.0, max(0.5, timeout_s)))
        if on_poll:
            on_poll(answer)
        if answer.ok or time.monotonic() + poll_s > deadline:
            return answer
        time.sleep(poll_s)


class HealthEndpoint:
    """One health URL with its wait budget, as `magent key rotate` uses it."""

    def __init__(self, url: str, *, timeout_s: float, poll_s: float = 0.5) -> None:
        from magent.core.redact import mask_url

        self._url, self.timeout_s, self.poll_s = url, timeout_s, poll_s
        self.url = mask_url(url)

    def wait(self) -> HealthAnswer:
        return wait_healthy(self._url, timeout_s=self.timeout_s, poll_s=self.poll_s)

    def probe(self) -> HealthAnswer:
        return probe_health(self._url, timeout_s=min(5.0, self.timeout_s))
