"""`magent history` from the store's audit trail when one is configured; the Kubernetes revisions otherwise."""

from __future__ import annotations

import json

from fixtures.deploy import cluster, web  # noqa: F401 - fixtures

FAST = ("--steps", "50", "--pause", "0.4s", "--interval", "1s", "--yes")
LONG = "registry.example.com/platform-team/customer-support-agent:2026.11.28-0123456789abcdef0123456789"


def test_history_shows_the_audit_trail_from_the_store(cli, web, pg_url):  # noqa: F811
    env = {"MAGENT_DATABASE_URL": pg_url}
    assert cli("deploy", LONG, "-d", "web", *FAST, env=env).exit_code == 0
    assert cli("rollback", "-d", "web", "--reason", "5xx after v2", "--yes", env=env).exit_code == 0

    result = cli("history", "-d", "web", "-o", "json", env=env)
    assert result.exit_code == 0, result.stderr
    rollback, deploy = json.loads(result.stdout)  # newest first
    assert (deploy["kind"], deploy["image"], deploy["previous_image"], deploy["outcome"]) == \
        ("deploy", LONG, "app:v1", "promoted")
    assert "@" in deploy["actor"] and deploy["started_at"].endswith("Z") and deploy["finished_at"].endswith("Z")
    assert deploy["analyses"]["count"] >= 1 and deploy["analyses"]["pass"] >= 1
    assert deploy["analyses"]["last"]  # the last analysis's summary
    assert deploy["deploy_id"]
    assert (rollback["kind"], rollback["image"], rollback["outcome"], rollback["reason"]) == \
        ("rollback", "app:v1", "rolled_back", "5xx after v2")

    table = cli("history", "-d", "web", env={**env, "COLUMNS": "80"}).stdout  # piped: never folded or cut
    assert any(LONG in line for line in table.splitlines()), table
    assert "5xx after v2" in table and "promoted" in table and "rolled_back" in table
    promoted = next(line for line in table.splitlines() if "promoted" in line)
    counts = f"{deploy['analyses']['count']} ({deploy['analyses']['pass']} pass)"
    assert counts in promoted and deploy["analyses"]["last"] not in table, promoted  # counts; the summary: -o json

    revisions = json.loads(cli("history", "-d", "web", "--revisions", "-o", "json", env=env).stdout)
    assert [r["images"] for r in revisions][-1] == ["app:v1"] and revisions[-1]["current"]


def test_history_of_a_deployment_the_store_never_saw_says_so(cli, web, pg_url):  # noqa: F811
    result = cli("history", "-d", "web", env={"MAGENT_DATABASE_URL": pg_url})
    assert result.exit_code == 0, result.stderr
    assert "no deploy or rollback of web" in result.stderr and "--revisions" in result.stderr
    assert json.loads(cli("history", "-d", "web", "-o", "json", env={"MAGENT_DATABASE_URL": pg_url}).stdout) == []


def test_an_unreachable_store_is_exit_3_with_a_hint(cli, web, unused_tcp_url):  # noqa: F811
    port = unused_tcp_url.rsplit(":", 1)[1]
    result = cli("history", "-d", "web", env={"MAGENT_DATABASE_URL": f"postgresql://m:pw-s3cret@127.0.0.1:{port}/m"})
    assert result.exit_code == 3 and "--revisions" in result.stderr and "pw-s3cret" not in result.output
