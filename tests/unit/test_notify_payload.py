"""Webhook payloads: Slack-compatible text and blocks, with every registered secret masked."""

from __future__ import annotations

from magent.core.redact import SECRETS, fingerprint
from magent.services.notify import Notifier, build_payload


def test_payload_for_a_deploy_event():
    payload = build_payload({"event": "held", "namespace": "shop", "deployment": "agent", "step": 2, "weight": 50,
                             "verdict": "inconclusive", "reason": "prometheus/latency_vs_stable: too few samples"})
    assert payload["text"] == (":pause_button: Canary held (inconclusive analysis): shop/agent — "
                               "prometheus/latency_vs_stable: too few samples")
    context = payload["blocks"][1]["elements"][0]["text"]
    assert context.startswith("step: 2 · weight: 50 · verdict: inconclusive · sent by magent at ")


def test_unknown_events_and_plain_text():
    assert build_payload({"event": "key_rotated"})["text"] == ":information_source: Key rotated"
    assert build_payload("hello") == {"text": "hello"}


def test_secrets_are_masked_and_the_webhook_is_registered():
    key = "sk" + "x" * 30
    SECRETS.add(key)
    payload = build_payload({"event": "failed", "reason": f"key {key} refused"})
    assert key not in str(payload) and fingerprint(key) in payload["text"]
    url = "https://hooks.slack.com/services/T0/B0/secretpart123"
    notifier = Notifier(url)
    assert notifier.target == "https://hooks.slack.com/***"
    assert "secretpart123" not in SECRETS.mask(f"posting to {url}")
    assert not Notifier(None).enabled and Notifier("").target == "(no webhook configured)"
