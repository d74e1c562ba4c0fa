"""Notifications to a Slack-compatible incoming webhook (`{"text": …, "blocks": […]}`), never blocking a deploy.

`notify(event)` only queues: a daemon thread posts with a short timeout and at most one retry (after a
refused connection, a 429 or a 5xx; never after a timeout, when the receiver may already have the
message). `flush(timeout)` waits at most `timeout` seconds at process exit. Failures are logged as
warnings and counted, never raised. The webhook URL is a secret: it is registered in SECRETS and shown
as `mask_webhook()` (scheme and host) only.

    configure(settings.notify.webhook_url)      # MAGENT_WEBHOOK_URL or magent.yaml notify.webhook_url
    notify({"event": "aborted", "namespace": "prod", "deployment": "agent", "image": "agent:1.4",
            "reason": "prometheus/errors_5xx_per_min 42/min > 10/min"})
    flush(3)
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping
from typing import Any

from magent.core.redact import SECRETS, mask_webhook
from magent.core.timeutil import isoformat, utcnow

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 2.0
_RETRY_DELAY_S = 0.2

_TITLES = {
    "started": (":rocket:", "Canary started"),
    "step": (":arrow_forward:", "Canary step"),
    "held": (":pause_button:", "Canary held (inconclusive analysis)"),
    "promoted": (":white_check_mark:", "Canary promoted"),
    "aborted": (":rotating_light:", "Canary aborted"),
    "promotion_failed": (":x:", "Promotion failed"),
    "interrupted": (":warning:", "Deploy interrupted"),
    "rollback": (":leftwards_arrow_with_hook:", "Rollback"),
    "rolled_back": (":leftwards_arrow_with_hook:", "Rolled back"),
    "rollback_failed": (":x:", "Rollback failed (needs a human)"),
    "failed": (":x:", "Deploy failed"),
}
_CONTEXT_KEYS = ("step", "weight", "verdict", "previous_image", "revision", "rolled_back_to", "deploy_id", "actor")


def build_payload(event: Mapping[str, Any] | str) -> dict[str, Any]:
    """The webhook body for an event (a deploy event mapping, or plain text); secrets masked."""
    if isinstance(event, str):
        return {"text": SECRETS.mask(event)}
    kind = str(event.get("event") or event.get("type") or "event")
    icon, title = _TITLES.get(kind, (":information_source:", kind.replace("_", " ").capitalize()))
    where = "/".join(str(event[k]) for k in ("namespace", "cluster", "deployment") if event.get(k))
    text = f"{icon} {title}" + (f": {where}" if where else "")
    if event.get("image"):
        text += f" → {event['image']}"
    reason = event.get("reason") or event.get("message")
    if reason:
        text += f" — {reason}"
    text = SECRETS.mask(text)
    context = [f"{key}: {event[key]}" for key in _CONTEXT_KEYS if event.get(key) not in (None, "")]
    context.append(f"sent by magent at {isoformat(utcnow())}")
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": SECRETS.mask(" · ".join(context))}]},
    ]
    return {"text": text, "blocks": blocks}


class Notifier:
    """Posts queued events to one webhook from a daemon thread; `sent` / `failed` count the outcomes."""

    def __init__(self, webhook_url: str | None, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        SECRETS.add(webhook_url)
        self._url = webhook_url or None
        self._timeout = timeout_s
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failed = 0
        self.last_error: str | None = None

    @property
    def enabled(self) -> bool:
        return self._url is not None

    @property
    def target(self) -> str:
        """Where notifications go, safe to print."""
        return mask_webhook(self._url) if self._url else "(no webhook configured)"

    def notify(self, event: Mapping[str, Any] | str) -> None:
        """Queue an event; returns at once, never raises."""
        if not self._url:
            return
        try:
            payload = build_payload(event)
        except Exception as exc:  # a malformed event must not fail the deploy
            log.warning("notification not sent: cannot format the event (%s)", type(exc).__name__)
            return
        with self._idle:
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="magent-notify", daemon=True)
                self._thread.start()
        self._queue.put(payload)

    def flush(self, timeout: float = DEFAULT_TIMEOUT_S) -> bool:
        """Wait at most `timeout` s for queued notifications to be attempted; True when none is left."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def _work(self) -> None:
        import httpx

        with httpx.Client(timeout=self._timeout) as client:
            while True:
                payload = self._queue.get()
                try:
                    self._deliver(client, payload)
                finally:
                    with self._idle:
                        self._pending -= 1
                        self._idle.notify_all()

    def _deliver(self, client: Any, payload: dict[str, Any]) -> None:
        import httpx

        assert self._url is not None
        for attempt in (1, 2):
            try:
                response = client.post(self._url, json=payload)
            except httpx.TimeoutException:
                return self._failure(f"no answer within {self._timeout:g} s")
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    self.sent += 1
                    return None
                error = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    return self._failure(error)
            if attempt == 1:
                time.sleep(_RETRY_DELAY_S)
        return self._failure(error)

    def _failure(self, error: str) -> None:
        self.failed += 1
        self.last_error = SECRETS.mask(error)
        log.warning("notification to %s failed: %s", self.target, self.last_error)


_default = Notifier(None)
_configure_lock = threading.Lock()


def configure(webhook_url: str | None, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Notifier:
    """Set the process-wide notifier (None turns notifications off) and return it."""
    global _default
    with _configure_lock:
        _default = Notifier(webhook_url, timeout_s=timeout_s)
        return _default


def notify(event_or_settings: Any, event: Mapping[str, Any] | str | None = None) -> None:
    """`notify(event)` on the process-wide notifier, or `notify(settings, event)` to the webhook of
    `settings.notify.webhook_url` (the notifier is switched when the URL changes). Never raises."""
    if event is None:
        _default.notify(event_or_settings)
        return
    section = getattr(event_or_settings, "notify", event_or_settings)
    url = getattr(section, "webhook_url", None) or None
    if url != _default._url:
        configure(url)
    _default.notify(event)


def flush(timeout: float = DEFAULT_TIMEOUT_S) -> bool:
    """Wait at most `timeout` s for the process-wide notifier to drain (call before exiting)."""
    return _default.flush(timeout)


def current() -> Notifier:
    """The process-wide notifier (for its `target`, `sent` and `failed`)."""
    return _default
