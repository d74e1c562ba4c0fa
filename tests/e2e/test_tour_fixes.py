"""Small things found by trying magent as a new user would (the README tour), each held by a test."""

from __future__ import annotations

import json

import pytest
from fixtures.deploy import cluster, web  # noqa: F401 - fixtures
from fixtures.keyapp import NEW_KEY, OLD_KEY, World

from magent.sandbox.mistral import KeySpec


def test_db_status_prints_the_whole_database_url_on_one_line_when_piped(cli, pg_url):
    # a long URL (here a libpq parameter) used to be the table's title, folded to the table's width in a CI log
    url = f"{pg_url}&application_name=magent-tour-{'x' * 60}"
    migrated = cli("db", "migrate", env={"MAGENT_DATABASE_URL": url})
    assert migrated.exit_code == 0, migrated.stderr
    status = cli("db", "status", env={"MAGENT_DATABASE_URL": url})
    assert status.exit_code == 0, status.stderr
    database = json.loads(cli("db", "status", "-o", "json", env={"MAGENT_DATABASE_URL": url}).stdout)["database"]
    assert f"Database: {database}" in status.stdout.splitlines()


def test_db_status_table_shows_whole_seconds_and_json_the_full_instant(cli, pg_url):
    # as every other table (history, usage): the microseconds only widened the column
    assert cli("db", "migrate", env={"MAGENT_DATABASE_URL": pg_url}).exit_code == 0
    as_json = json.loads(cli("db", "status", "-o", "json", env={"MAGENT_DATABASE_URL": pg_url}).stdout)
    applied = as_json["migrations"][0]["applied_at"]
    assert "." in applied  # -o json keeps the microseconds
    table = cli("db", "status", env={"MAGENT_DATABASE_URL": pg_url}).stdout
    assert applied.split(".")[0] + "Z" in table and applied not in table, table


def test_live_deploy_view_shows_no_canary_pods_once_the_canary_is_gone():
    # the panel kept the last step's count ("canary pods 1") under "phase aborted" / "promoted"
    from magent.cli.deploy_view import update_panel

    for last in ({"event": "canary_scaled_to_zero", "seconds": 0.08}, {"event": "promoted", "image": "app:v2"}):
        panel: dict = {}
        update_panel(panel, {"event": "canary_scaled", "canary_replicas": 2, "stable_replicas": 4})
        update_panel(panel, last)
        assert (panel["canary_replicas"], panel["stable_replicas"], panel["event"]) == (0, 4, last["event"])


def test_rollback_summary_says_true_and_false_as_yaml_does(cli, web):  # noqa: F811
    # `magent rollback --dry-run` printed Python's `dry_run  True` in its summary
    result = cli("rollback", "-d", "web", "--dry-run", "--to-revision", "1")
    assert result.exit_code == 0, result.stderr
    rows = dict(line.split(None, 1) for line in result.stdout.splitlines() if line.strip())
    assert rows["dry_run"] == "true" and "True" not in result.stdout


def test_unknown_revision_points_to_the_revision_list(cli, web):  # noqa: F811
    # the hint named `magent history`, which shows the store's audit trail (no revision numbers) when there is one
    result = cli("rollback", "-d", "web", "--to-revision", "99", "--yes")
    assert result.exit_code == 2
    hint = result.stderr.split("Hint: ", 1)[1]
    assert "`magent history --deployment web --revisions`" in hint
    revisions = cli("history", "--deployment", "web", "--revisions")
    assert revisions.exit_code == 0 and "revision" in revisions.stdout


@pytest.fixture
def key_world(kube_sim, kube_namespace, kubeconfig, moto_server, make_mistral_sim):
    mistral = make_mistral_sim(keys=[KeySpec(OLD_KEY), KeySpec(NEW_KEY)])
    return World(kube_sim=kube_sim, namespace=kube_namespace, kubeconfig=kubeconfig, moto_url=moto_server,
                 mistral=mistral)


def test_key_rotate_dry_run_names_no_version_id_the_rotation_will_not_use(cli, key_world):
    # the dry run showed a fresh random id as the new key's version; the real run then used another one
    args = ("key", "rotate", "--secret-id", key_world.spec, "--new-key-from", "env:NEW_MISTRAL_KEY",
            "-d", key_world.deployment, "--dry-run")
    env = key_world.env(NEW_MISTRAL_KEY=NEW_KEY)
    first, second = cli(*args, env=env), cli(*args, env=env)
    assert first.exit_code == second.exit_code == 0, first.stderr
    new_key_rows = [[line for line in run.stdout.splitlines() if line.strip().startswith("new key")][0]
                    for run in (first, second)]
    assert new_key_rows[0] == new_key_rows[1]  # nothing random in the plan
    assert "new version (its id is set when the rotation runs)" in new_key_rows[0]
    assert key_world.original_version in first.stdout  # the old key's version is known and shown


def test_deploy_dry_run_promote_row_says_a_share_in_the_share_column(cli, web):  # noqa: F811
    # the promote row put "app:v2 on the stable" under "canary share", where every other row has a percentage
    result = cli("deploy", "app:v2", "-d", "web", "--dry-run", "--steps", "50")
    assert result.exit_code == 0, result.stderr
    promote = [cell.strip() for cell in next(line for line in result.stdout.splitlines()
                                             if line.startswith("│ promote")).split("│")[1:-1]]
    assert promote == ["promote", "100%", "0", "4", "100% (stable pods, new image)"], promote


def test_dry_run_with_exact_weights_shows_the_weights_as_the_share(cli, web):  # noqa: F811
    # with --router gateway-api (and on ECS) the canary gets exactly the step's weight of requests, yet the plan
    # showed the share of pods (33.3% at 50%) and the note about the stable keeping all its replicas
    result = cli("deploy", "app:v2", "-d", "web", "--router", "gateway-api", "--steps", "10,50", "--dry-run",
                 "-o", "json")
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert [step["share"] for step in plan["steps"]] == [10, 50]
    assert "exactly" in plan["note"] and "replicas" not in plan["note"]
    table = cli("deploy", "app:v2", "-d", "web", "--router", "gateway-api", "--steps", "10,50", "--dry-run")
    assert "33.3%" not in table.stdout and "canary / (stable + canary)" not in table.stderr
    assert "exactly" in table.stderr
