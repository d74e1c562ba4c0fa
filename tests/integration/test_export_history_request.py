"""The export's history reads, parsed as JSON past the SDK's models (issue 9 §7: CPU per request), still send the
request the SDK's configured client would: its headers, auth and timeout."""

from __future__ import annotations

import httpx2
from fixtures.mistral import SIM_API_KEY

from magent.services.mistral.conversations import open_source


def test_a_history_request_carries_the_clients_headers_and_timeout(mistral_sim):
    source, client = open_source(mistral_sim.url, SIM_API_KEY, timeout_s=7)
    seen: list[httpx2.Request] = []
    http = client.sdk_configuration.client
    http.event_hooks = {**http.event_hooks, "request": [*http.event_hooks["request"], seen.append]}
    with client:
        conversation = next(source.conversation_pages())[0]
        source.history(conversation["id"])
    request = seen[-1]
    assert request.url == f"{mistral_sim.url}/v1/conversations/{conversation['id']}/history"
    assert request.headers["authorization"] == f"Bearer {SIM_API_KEY}"
    assert request.headers["user-agent"] == seen[0].headers["user-agent"]  # as the SDK sends its own requests
    assert request.headers["accept"] == "application/json"
    assert request.extensions["timeout"]["read"] == 7

