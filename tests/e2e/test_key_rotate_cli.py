"""`magent key rotate` end to end: moto server (Secrets Manager), the Kubernetes simulator, the Mistral simulator
and an app whose pods read the secret at start and whose /health reports whether Mistral takes their key."""

from __future__ import annotations

import json

import pytest
from fixtures.keyapp import NEW_KEY, OLD_KEY, OTHER_FIELDS, World

from magent.core.redact import fingerprint
from magent.sandbox.mistral import KeySpec

ROTATE = ("key", "rotate")


@pytest.fixture
def world(kube_sim, kube_namespace, kubeconfig, moto_server, make_mistral_sim):
    mistral = make_mistral_sim(keys=[KeySpec(OLD_KEY), KeySpec(NEW_KEY)])
    return World(kube_sim=kube_sim, namespace=kube_namespace, kubeconfig=kubeconfig, moto_url=moto_server,
                 mistral=mistral)


def _rotate(cli, world, *extra, env=None, health=None):
    args = [*ROTATE, "--secret-id", world.spec, "--new-key-from", "env:NEW_MISTRAL_KEY", "-d", world.deployment,
            "--yes", "--no-spend", *extra]
    if health:
        args += ["--health-url", health, "--health-timeout", "3s"]
    return cli(*args, env=world.env(NEW_MISTRAL_KEY=NEW_KEY, **(env or {})))


def _assert_no_key(result, *more):
    for text in (result.stdout, result.stderr, *more):
        assert OLD_KEY not in text and NEW_KEY not in text


def test_rotation_moves_awscurrent_restarts_and_verifies_through_the_app(cli, world):
    with world.app.serve() as health:
        assert world.app.health()[0] == 200 and world.app.loads == 1  # running on the old key
        revision = world.revision()
        result = _rotate(cli, world, "-o", "json", health=health)
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert world.app.loads == 2  # the pods were replaced and read the new key
    assert data["outcome"] == "rotated"
    assert json.loads(world.current()) == {"api_key": NEW_KEY, **OTHER_FIELDS}  # other fields kept
    stages = world.stages()
    assert stages[world.original_version] == ["AWSPREVIOUS"]
    assert stages[data["versions"]["new"]] == ["AWSCURRENT"]  # AWSPENDING removed at the end
    assert world.restarted_at() is not None and world.revision() == revision + 1
    assert [s["step"] for s in data["steps"]] == ["pending", "verified", "promoted", "restarted", "rolled_out",
                                                  "healthy", "finished"]
    assert data["old_key"] == fingerprint(OLD_KEY) and data["new_key"] == fingerprint(NEW_KEY)
    assert "Mistral ok" in data["health"]
    last = result.stderr.strip().splitlines()[-1]
    assert "revoke the old key" in last and fingerprint(OLD_KEY) in last
    _assert_no_key(result)


def test_refused_key_puts_nothing_current_and_restarts_nothing(cli, world, make_mistral_sim):
    refusing = make_mistral_sim(keys=[KeySpec(OLD_KEY)])  # does not know the new key
    before = world.restarted_at()
    result = _rotate(cli, world, env={"MAGENT_MISTRAL_URL": refusing.url})
    assert result.exit_code == 1, result.output
    assert json.loads(world.current())["api_key"] == OLD_KEY
    assert world.holder("AWSCURRENT") == world.original_version and world.holder("AWSPENDING") is None
    assert world.restarted_at() == before
    assert "INVALID KEY" in result.stderr and "rolled back" in result.stderr
    assert "State now:\n  - secret" in result.stderr and "not restarted" in result.stderr
    _assert_no_key(result)


def test_app_unhealthy_after_restart_rolls_back_and_restarts_again(cli, world):
    world.app.broken = True
    with world.app.serve() as health:
        result = _rotate(cli, world, "-o", "json", health=health)
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["outcome"] == "rolled_back"
    assert world.holder("AWSCURRENT") == world.original_version
    assert json.loads(world.current())["api_key"] == OLD_KEY
    assert world.holder("AWSPREVIOUS") is None  # there was none before: none after
    assert world.holder("AWSPENDING") is None
    statuses = {s["step"]: s["status"] for s in data["steps"]}
    assert statuses["healthy"] == "failed" and statuses["undo_restarted"] == "undone"
    assert statuses["undo_promoted"] == "undone"
    assert any("restarted again on the old key" in line for line in data["state"])
    world.app.broken = False
    assert world.app.key() == OLD_KEY and world.app.health()[0] == 200  # the pods run on the old key again
    _assert_no_key(result)


def test_aws_unreachable_changes_nothing_exit_3(cli, world):
    before = world.restarted_at()
    result = _rotate(cli, world, env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert result.exit_code == 3, result.output
    assert "unreachable" in result.stderr.lower()
    assert world.holder("AWSCURRENT") == world.original_version and world.restarted_at() == before


def test_dry_run_shows_the_plan_and_changes_nothing(cli, world):
    before = (world.stages(), world.restarted_at())
    result = _rotate(cli, world, "--dry-run", "-o", "json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["outcome"] == "planned" and plan["steps"][0] == "pending"
    assert plan["versions"]["old"] == world.original_version
    assert (world.stages(), world.restarted_at()) == before
    table = _rotate(cli, world, "--dry-run")
    assert table.exit_code == 0 and "pending → verified → promoted → restarted" in table.stdout
    _assert_no_key(result, table.stdout)


@pytest.mark.parametrize(("args", "message"), [
    (("--secret-id", "bad id!", "--new-key-from", "env:NEW_MISTRAL_KEY"), "not a secret name"),
    (("--secret-id", "x#", "--new-key-from", "env:NEW_MISTRAL_KEY"), "empty field"),
    (("--secret-id", "x", "--new-key-from", NEW_KEY), "looks like a key itself"),
    (("--secret-id", "x", "--new-key-from", "env:UNSET_VAR"), "UNSET_VAR is not set"),
    (("--secret-id", "x", "--new-key-from", "nope:x"), "--new-key-from 'nope:x'"),
    (("--secret-id", "x", "--new-key-from", "env:NEW_MISTRAL_KEY", "--health-url", "ftp://h"), "http(s)"),
    (("--secret-id", "x", "--new-key-from", "env:NEW_MISTRAL_KEY", "--rollout-timeout", "soon"), "--rollout-timeout"),
    (("--secret-id", "x", "--new-key-from", "env:NEW_MISTRAL_KEY", "-n", "shop"), "without --deployment"),
])
def test_bad_input_is_one_line_and_exit_2(cli, args, message):
    result = cli(*ROTATE, *args, env={"NEW_MISTRAL_KEY": NEW_KEY})
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Hint:" in result.stderr and "Traceback" not in result.output
    assert NEW_KEY not in result.output


def test_secret_shapes_are_checked_before_anything_changes(cli, world):
    same = cli(*ROTATE, "--secret-id", world.spec, "--new-key-from", "env:K", "--yes",
               env=world.env(K=OLD_KEY))
    assert same.exit_code == 2 and "already current" in same.stderr
    no_field = cli(*ROTATE, "--secret-id", world.secret_id, "--new-key-from", "env:K", "--yes",
                   env=world.env(K=NEW_KEY))
    assert no_field.exit_code == 2 and "fields present: api_key, note, region" in no_field.stderr
    missing = cli(*ROTATE, "--secret-id", "test/no-such-secret", "--new-key-from", "env:K", "--yes",
                  env=world.env(K=NEW_KEY))
    assert missing.exit_code == 2 and "not found" in missing.stderr
    no_deployment = _rotate(cli, world, "-d", "nope")
    assert no_deployment.exit_code == 2 and "deployment nope not found" in no_deployment.stderr
    assert world.holder("AWSCURRENT") == world.original_version and world.holder("AWSPENDING") is None
    _assert_no_key(same, no_field.stdout, no_field.stderr, missing.stdout, missing.stderr)


def test_plain_secret_without_deployment(cli, kube_sim, kube_namespace, kubeconfig, moto_server, make_mistral_sim):
    mistral = make_mistral_sim(keys=[KeySpec(OLD_KEY), KeySpec(NEW_KEY)])
    world = World(kube_sim=kube_sim, namespace=kube_namespace, kubeconfig=kubeconfig, moto_url=moto_server,
                  mistral=mistral, secret_value=OLD_KEY, field=None)
    result = cli(*ROTATE, "--secret-id", world.secret_id, "--new-key-from", "env:K", "--no-spend",
                 env=world.env(K=NEW_KEY))  # not a TTY: no question asked
    assert result.exit_code == 0, result.output
    assert world.current() == NEW_KEY and world.restarted_at() is None
    assert "nothing is restarted" in result.stderr and "rotated" in result.stdout
    _assert_no_key(result)


def test_rotation_is_recorded_in_the_store(cli, world, pg_url):
    import psycopg

    result = _rotate(cli, world, env={"MAGENT_DATABASE_URL": pg_url})
    assert result.exit_code == 0, result.output
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT id, image, previous_image, outcome, deployment, context FROM deployments "
                           "WHERE image LIKE %s", (f"%{world.secret_id}%",)).fetchone()
        kinds = [k for (k,) in conn.execute("SELECT kind FROM deployment_events WHERE deployment_id = %s ORDER BY id",
                                            (row[0],))]
        payloads = " ".join(json.dumps(p) for (p,) in conn.execute("SELECT payload FROM deployment_events "
                                                                  "WHERE deployment_id = %s", (row[0],)))
    assert row[3] == "key_rotated" and row[4] == world.deployment
    assert row[5] is not None  # the kubeconfig context of the restarted Deployment, as deploys record theirs
    assert fingerprint(NEW_KEY) in row[1] and fingerprint(OLD_KEY) in row[2]
    assert kinds[0] == "key_rotation_started" and kinds[-1] == "key_rotated" and "key_promoted" in kinds
    assert OLD_KEY not in payloads + row[1] + row[2] and NEW_KEY not in payloads + row[1] + row[2]


def test_key_verify_reads_the_rotated_key_by_stage(cli, world):
    assert _rotate(cli, world).exit_code == 0
    result = cli("key", "verify", "--key-from", f"aws:{world.spec}", "--no-spend", "-o", "json", env=world.env())
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["keys"][0]["fingerprint"] == fingerprint(NEW_KEY)


def test_declined_at_the_prompt_changes_nothing(cli, world, monkeypatch):
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    before = (world.stages(), world.restarted_at())
    result = cli(*ROTATE, "--secret-id", world.spec, "--new-key-from", "env:K", "-d", world.deployment,
                 env=world.env(K=NEW_KEY))
    assert result.exit_code == 130, result.output
    assert "nothing was changed" in result.stderr and f"namespace {world.namespace}" in result.stderr
    assert (world.stages(), world.restarted_at()) == before
