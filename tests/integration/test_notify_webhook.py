"""Webhook notifications against a local Slack-compatible receiver, a dead URL and a hung one."""

from __future__ import annotations

import logging
import time

import pytest

from magent.core.redact import SECRETS
from magent.sandbox.server import ServerThread
from magent.services import notify

SECRET_PATH = "/services/T000/B000/XXXXsecretXXXX"


class Receiver:
    """Records the JSON bodies posted to it; answers with the queued status codes, then 200."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.statuses: list[int] = []

    def app(self):
        from starlette.applications import Starlette
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route

        async def hook(request):
            self.bodies.append(await request.json())
            return PlainTextResponse("ok", status_code=self.statuses.pop(0) if self.statuses else 200)

        return Starlette(routes=[Route(SECRET_PATH, hook, methods=["POST"])])


@pytest.fixture(scope="module")
def receiver_server():
    receiver = Receiver()
    with ServerThread(receiver.app()) as server:
        yield receiver, server.url + SECRET_PATH


@pytest.fixture
def receiver(receiver_server):
    receiver, url = receiver_server
    receiver.bodies.clear()
    receiver.statuses.clear()
    return receiver, url


def test_event_is_posted_as_slack_text_and_blocks(receiver):
    hook, url = receiver
    notifier = notify.Notifier(url)
    notifier.notify({"event": "aborted", "namespace": "shop", "deployment": "agent", "image": "agent:2.0",
                     "step": 1, "weight": 10, "reason": "prometheus/errors_5xx_per_min 600/min"})
    assert notifier.flush(5)
    [body] = hook.bodies
    assert body["text"] == (":rotating_light: Canary aborted: shop/agent → agent:2.0 — "
                            "prometheus/errors_5xx_per_min 600/min")
    assert body["blocks"][0]["text"]["text"] == body["text"]
    assert url not in str(body)
    assert "step: 1 · weight: 10" in body["blocks"][1]["elements"][0]["text"]
    assert (notifier.sent, notifier.failed) == (1, 0)


def test_module_level_notify_follows_the_settings_webhook(receiver):
    hook, url = receiver

    class Section:
        webhook_url = url

    class Settings:
        notify = Section

    notify.notify(Settings, {"event": "promoted", "deployment": "agent"})
    notify.notify("plain text")
    assert notify.flush(5)
    assert [b["text"] for b in hook.bodies] == [":white_check_mark: Canary promoted: agent", "plain text"]
    assert notify.current().target == "http://127.0.0.1/***"
    notify.configure(None)
    notify.notify({"event": "promoted"})  # no webhook: nothing to do, nothing raised
    assert notify.flush(0.1)


def test_a_5xx_is_retried_once_and_a_400_not(receiver):
    hook, url = receiver
    hook.statuses.extend([503, 503, 400])
    notifier = notify.Notifier(url)
    notifier.notify("first")  # 503, retried: 503 again → failed
    notifier.notify("second")  # 400: not retried → failed
    notifier.notify("third")  # 200
    assert notifier.flush(5)
    assert [b["text"] for b in hook.bodies] == ["first", "first", "second", "third"]
    assert (notifier.sent, notifier.failed, notifier.last_error) == (1, 2, "HTTP 400")


def test_dead_webhook_never_blocks_and_never_leaks_the_url(unused_tcp_url, caplog):
    url = unused_tcp_url + SECRET_PATH
    notifier = notify.Notifier(url, timeout_s=0.5)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="magent.services.notify"):
        notifier.notify({"event": "aborted", "deployment": "agent", "reason": f"see {url}"})
        assert time.monotonic() - started < 0.05  # notify() only queues
        assert notifier.flush(3)
    assert notifier.failed == 1 and "ConnectError" in (notifier.last_error or "")
    assert url not in SECRETS.mask(f"posting to {url}")  # registered as a secret
    assert SECRET_PATH not in caplog.text and "127.0.0.1/***" in caplog.text


def test_hung_webhook_is_cut_at_the_flush_timeout(hanging_server):
    notifier = notify.Notifier(hanging_server + SECRET_PATH, timeout_s=0.5)
    notifier.notify("hello")
    started = time.monotonic()
    assert notifier.flush(0.2) is False  # still waiting for the receiver: flush gives up on time
    assert time.monotonic() - started < 0.4
    assert notifier.flush(2)  # then the client timeout ends the attempt, without a retry
    assert (notifier.sent, notifier.failed) == (0, 1)
    assert notifier.last_error == "no answer within 0.5 s"
