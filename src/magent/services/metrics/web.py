"""The `web` provider: GET the health URL, judge the status code and (optionally) a value in its JSON."""

from __future__ import annotations

import json
from typing import Any

from magent.core.analysis_config import AnalysisSettings, AnalysisTarget, expand
from magent.core.judge import MetricResult, Verdict
from magent.core.redact import mask_url, one_line
from magent.services.metrics.common import ssl_context, unavailable


def check(settings: AnalysisSettings, target: AnalysisTarget, timeout: float) -> list[MetricResult]:
    """GET the health URL: the status code, then the value at `json_path`."""
    import httpx

    check = settings.web
    assert check is not None and check.url
    url = expand(check.url, target.variables())
    shown = mask_url(url)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, verify=ssl_context()) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        return [unavailable("web", f"{shown} unreachable: {type(exc).__name__}: {exc}", "status_code")]
    ok = response.status_code == check.expect_status
    results = [MetricResult("web", "status_code", float(response.status_code), f"== {check.expect_status}",
                            Verdict.PASS if ok else Verdict.FAIL, f"HTTP {response.status_code} from {shown}")]
    if check.json_path:
        results.append(_json_check(response.text, check.json_path, check.expect))
    return results


def _json_check(body: str, path: str, expect: Any) -> MetricResult:
    threshold = f"{path} == {json.dumps(expect)}"
    try:
        value: Any = json.loads(body)
        for part in path.split("."):
            value = value[int(part)] if isinstance(value, list) else value[part]
    except ValueError:
        return MetricResult("web", path, None, threshold, Verdict.FAIL, f"not JSON: {one_line(body[:80])!r}")
    except (KeyError, IndexError, TypeError):
        return MetricResult("web", path, None, threshold, Verdict.FAIL, f"{path} missing from the response")
    matches = value == expect or (not isinstance(value, str) and json.dumps(value) == str(expect))
    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    detail = f"{path} = {json.dumps(value)[:80]}"
    return MetricResult("web", path, number, threshold, Verdict.PASS if matches else Verdict.FAIL, detail)
