"""The audit trail in the store and the webhook notifications of deploys and rollbacks (best effort)."""

from __future__ import annotations

import pytest
from fixtures.deploy import cluster, web  # noqa: F401 - fixtures

from magent.sandbox.server import ServerThread

FAST = ("--steps", "50", "--pause", "0.4s", "--interval", "1s", "--yes")


@pytest.fixture
def receiver():
    """A Slack-compatible webhook receiver; yields (bodies, url)."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    bodies: list[dict] = []

    async def hook(request):
        bodies.append(await request.json())
        return PlainTextResponse("ok")

    with ServerThread(Starlette(routes=[Route("/services/T1/B2/secretpath", hook, methods=["POST"])])) as server:
        yield bodies, f"{server.url}/services/T1/B2/secretpath"


def _rows(pg_url: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(pg_url) as conn:
        return conn.execute(sql).fetchall()


def test_deploy_and_rollback_are_recorded_in_the_store(cli, web, pg_url):  # noqa: F811
    env = {"MAGENT_DATABASE_URL": pg_url}
    assert cli("deploy", "app:v2", "-d", "web", *FAST, env=env).exit_code == 0
    assert cli("rollback", "-d", "web", "--reason", "audit test", "--yes", env=env).exit_code == 0
    rows = _rows(pg_url, "SELECT namespace, deployment, image, previous_image, outcome, reason, actor, "
                         "finished_at IS NOT NULL FROM deployments ORDER BY id")
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        (web.namespace, "web", "app:v2", "app:v1", "promoted"),
        (web.namespace, "web", "app:v1", "app:v2", "rolled_back"),
    ]
    assert rows[1][5] == "audit test" and all(r[7] for r in rows) and "@" in rows[0][6]
    kinds = [r[0] for r in _rows(pg_url, "SELECT kind FROM deployment_events e JOIN deployments d "
                                         "ON d.id = e.deployment_id WHERE d.outcome = 'promoted' ORDER BY e.id")]
    assert kinds[0] == "started" and kinds[-1] == "promoted" and "analysis" in kinds
    (payload,) = _rows(pg_url, "SELECT payload FROM deployment_events WHERE kind = 'canary_scaled'")[0]
    assert payload["weight"] == 50 and payload["deployment"] == "web"


def test_a_store_outage_is_a_warning_never_a_failed_deploy(cli, web, unused_tcp_url):  # noqa: F811
    port = unused_tcp_url.rsplit(":", 1)[1]
    url = f"postgresql://magent:pw-s3cret-123@127.0.0.1:{port}/magent"
    result = cli("deploy", "app:v2", "-d", "web", *FAST, env={"MAGENT_DATABASE_URL": url})
    assert result.exit_code == 0
    assert "Warning: audit trail not recorded in the store" in result.stderr
    assert "pw-s3cret-123" not in result.output
    assert web.image() == "app:v2"


def test_an_aborted_canary_is_notified(cli, web, receiver):  # noqa: F811
    bodies, url = receiver
    result = cli("deploy", "app:v2-crashloop", "-d", "web", "--steps", "50", "--pause", "5s", "--interval", "1s",
                 "--yes", env={"MAGENT_WEBHOOK_URL": url})
    assert result.exit_code == 1
    texts = [body["text"] for body in bodies]
    assert any("started" in text.lower() for text in texts)
    aborted = [text for text in texts if "aborted" in text.lower()]
    assert aborted and "crashloop" in aborted[0] and f"{web.namespace}/web" in aborted[0]
    assert "secretpath" not in result.output
