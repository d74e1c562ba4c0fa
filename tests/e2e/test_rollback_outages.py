"""`magent rollback` completes when Postgres, the webhook, the metrics backend and Mistral are all down."""

from __future__ import annotations

import pytest
import yaml
from fixtures.deploy import cluster, plant_canary_in_progress, web  # noqa: F401 - fixtures

from magent.core.canary import Phase


@pytest.fixture
def everything_down(hanging_server, unused_tcp_url, monkeypatch):
    """A hung Postgres and webhook, a hung Prometheus, the Mistral check on without a key or a reachable API."""
    host_port = hanging_server.removeprefix("http://")
    monkeypatch.setenv("MAGENT_DATABASE_URL", f"postgresql://magent:db-pass-XYZ987@{host_port}/magent")
    monkeypatch.setenv("MAGENT_WEBHOOK_URL", f"{hanging_server}/services/T9/B9/hook-secret-abc")
    monkeypatch.setenv("MAGENT_MISTRAL_URL", unused_tcp_url)
    with open("magent.yaml", "w") as handle:
        yaml.safe_dump({"deploy": {"analysis": {"prometheus": {"url": hanging_server}, "mistral": {"enabled": True}}}},
                       handle)


def _assert_nothing_leaked(result) -> None:
    for secret in ("db-pass-XYZ987", "hook-secret-abc"):
        assert secret not in result.output


def test_undo_completes_with_everything_else_down(cli, web, everything_down):  # noqa: F811
    web.set_image("app:v2")
    result = cli("rollback", "-d", "web", "--yes", "--reason", "outage drill")
    assert result.exit_code == 0, result.stderr
    assert web.image() == "app:v1" and web.ready()
    assert "Warning: the audit trail was not fully written" in result.stderr
    _assert_nothing_leaked(result)


def test_canary_abort_completes_with_everything_else_down(cli, web, everything_down):  # noqa: F811
    plant_canary_in_progress(web)
    result = cli("rollback", "-d", "web", "--yes", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert '"event":"rollback_requested"' in result.stdout and '"action":"abort-canary"' in result.stdout
    assert web.deployment("web-canary") is None and web.lease() is None
    assert web.image() == "app:v1"
    state = web.state()
    assert state.phase is Phase.ABORTED and "rolled back by" in state.reason
    _assert_nothing_leaked(result)
