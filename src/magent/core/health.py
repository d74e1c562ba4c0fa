"""How an application's /health body is judged: pure functions shared by the `http.health` check and
`magent key rotate` (which verifies the new key through the running app).

The body must say `status` ok / healthy / pass / up / green, and when Mistral is required (or reported), report
it ok: in the seed's shape `{"status", "services": {"mistral": …}}` or the sample app's
`{"status", "mistral": {"status"}}`.
"""

from __future__ import annotations

from typing import Any

OK_WORDS = frozenset({"ok", "healthy", "pass", "up", "green"})


def judge_body(response: Any, require_mistral: bool, elapsed_ms: float) -> tuple[str | None, str]:
    """(what is wrong or None, a summary of a good answer) for a 200 response (anything with `.json()`)."""
    try:
        body = response.json()
    except ValueError:
        return "200 but the body is not JSON (expected {\"status\": \"ok\", \"services\": {\"mistral\": …}})", ""
    if not isinstance(body, dict):
        return "200 but the body is not a JSON object", ""
    status = body.get("status")
    if not is_ok(status):
        return f"200 but status is {status!r}", ""
    mistral = mistral_status(body)
    if require_mistral and mistral is None:
        return "200 but the body does not report Mistral (add services.mistral to /health)", ""
    if require_mistral and not is_ok(mistral):
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


def is_ok(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in OK_WORDS


def said(response: Any) -> str:
    """' (status 'degraded', Mistral 'down')' from a non-200 answer's body, or ''."""
    try:
        body = response.json()
    except ValueError:
        return ""
    status = body.get("status") if isinstance(body, dict) else None
    mistral = mistral_status(body) if isinstance(body, dict) else None
    parts = [f"status {status!r}" if status is not None else "", f"Mistral {mistral!r}" if mistral is not None else ""]
    text = ", ".join(part for part in parts if part)
    return f" ({text})" if text else ""
