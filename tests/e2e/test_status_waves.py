"""`magent status` and `magent history` over the clusters of a release in waves (three Kubernetes simulators, as
test_deploy_waves).

status: every cluster is one row (one JSON entry naming its context); a cluster that cannot be read is a row saying
so and the others are still shown (exit 1); none readable is exit 3; --watch follows one cluster only (exit 2).
history: every audited deploy and rollback records its kubeconfig context, and `--context` keeps one cluster's.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import yaml
from fixtures.deploy import plant_canary_in_progress
from test_deploy_waves import CONTEXTS, QUICK, clusters, simulators  # noqa: F401 - fixtures


def _add_unreachable_context(kubeconfig: Path, name: str, url: str) -> None:
    """A context whose API server refuses connections (its token is a secret: never printed)."""
    document = yaml.safe_load(kubeconfig.read_text())
    document["clusters"].append({"name": name, "cluster": {"server": url}})
    document["users"].append({"name": name, "user": {"token": "tok-s3cret-down"}})
    document["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    kubeconfig.write_text(yaml.safe_dump(document))


def _flags(*contexts: str) -> list[str]:
    return [item for context in contexts for item in ("--context", context)]


def test_status_shows_every_cluster_of_the_release(cli, clusters):  # noqa: F811
    # what a wave's deploy leaves while it runs: a canary, the state annotation, the lease
    plant_canary_in_progress(clusters["us-1"], context="us-1", deploy_id="d-wave", holder="ci@runner-3 77", replicas=1)
    result = cli("status", "-d", "web", *_flags(*CONTEXTS), "-o", "json")
    assert result.exit_code == 0, result.stderr
    eu, us, ap = json.loads(result.stdout)
    assert [eu["context"], us["context"], ap["context"]] == list(CONTEXTS)
    assert all(r["namespace"] == clusters["eu-1"].namespace and r["error"] is None for r in (eu, us, ap))
    assert eu["images"] == ["app:v1"] and eu["canary"] is None and eu["deploy"] is None and eu["lock"] is None
    assert us["canary"]["images"] == ["app:v2"] and us["lock"]["holder"] == "ci@runner-3 77"
    assert (us["deploy"]["phase"], us["deploy"]["step"], us["deploy"]["in_progress"]) == \
        ("paused-for-analysis", 2, True)

    table = cli("status", "-d", "web", *_flags(*CONTEXTS), env={"COLUMNS": "200"}).stdout
    rows = {line.split()[1]: line for line in table.splitlines() if line.split()[1:2] and line.split()[1] in CONTEXTS}
    assert set(rows) == set(CONTEXTS), table
    assert "paused-for-analysis" in rows["us-1"] and "step 2/2 (50%)" in rows["us-1"] and "ci@runner-3" in rows["us-1"]
    assert "paused-for-analysis" not in rows["eu-1"] and "app:v1 (revision 1, 2/2 ready)" in rows["eu-1"]


def test_a_finished_deploy_says_when_it_ended_in_whole_seconds(cli, clusters):  # noqa: F811
    from magent.core.canary import CanaryState, Phase
    from magent.core.config import KubeSettings
    from magent.services.kube import deployments as kd
    from magent.services.kube.client import connect

    with connect(KubeSettings(kubeconfig=str(clusters["eu-1"].kubeconfig)), context="eu-1") as kube:
        kd.write_state(kube, "web", CanaryState(deploy_id="d-done", image="app:v2", previous_image="app:v1",
                                                container="app", weights=[50], phase=Phase.PROMOTED, step=0,
                                                holder="ci@runner-1 1"))
    records = json.loads(cli("status", "-d", "web", *_flags(*CONTEXTS), "-o", "json").stdout)
    ended = records[0]["deploy"]["updated_at"]  # -o json keeps the instant exact
    table = cli("status", "-d", "web", *_flags(*CONTEXTS), env={"COLUMNS": "250"}).stdout
    assert f"ended {ended.split('.')[0].rstrip('Z')}Z" in table, table


def test_status_with_deploy_waves_configured_and_no_context_shows_every_wave(cli, clusters, tmp_path):  # noqa: F811
    config = tmp_path / "magent.yaml"
    config.write_text(yaml.safe_dump({"deploy": {"waves": [{"context": "ap-1"}, {"context": "eu-1"}]}}))
    result = cli("--config", str(config), "status", "-d", "web", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert [r["context"] for r in json.loads(result.stdout)] == ["ap-1", "eu-1"]

    single = cli("--config", str(config), "status", "-d", "web", "--context", "us-1", "-o", "json")
    assert single.exit_code == 0 and json.loads(single.stdout)["context"] == "us-1"  # one --context: one cluster

    watch = cli("--config", str(config), "status", "-d", "web", "--watch")
    assert watch.exit_code == 2 and "--watch follows one cluster" in watch.stderr
    assert "--context ap-1 --watch" in watch.stderr


def test_an_unreachable_cluster_is_one_row_and_the_others_are_shown(cli, clusters, unused_tcp_url):  # noqa: F811
    kubeconfig = clusters["eu-1"].kubeconfig
    _add_unreachable_context(kubeconfig, "down-1", unused_tcp_url)
    result = cli("status", "-d", "web", *_flags("eu-1", "down-1", "us-1"), "-o", "json")
    assert result.exit_code == 1, result.stderr
    eu, down, us = json.loads(result.stdout)
    assert eu["images"] == us["images"] == ["app:v1"]
    assert down["context"] == "down-1" and "cannot reach the Kubernetes API" in down["error"]
    assert "1 of 3 clusters could not be read (down-1: cannot reach" in result.stderr

    table = cli("status", "-d", "web", *_flags("eu-1", "down-1"), env={"COLUMNS": "200"})
    assert table.exit_code == 1 and "not read: cannot reach" in table.stdout and "app:v1" in table.stdout

    _add_unreachable_context(kubeconfig, "down-2", unused_tcp_url)
    none = cli("status", "-d", "web", *_flags("down-1", "down-2"))
    assert none.exit_code == 3 and "no cluster could be read" in none.stderr
    assert "tok-s3cret-down" not in none.output + result.output + table.output


def test_a_deployment_missing_everywhere_is_exit_2(cli, clusters):  # noqa: F811
    result = cli("status", "-d", "nope", *_flags("eu-1", "us-1"))
    assert result.exit_code == 2 and "no cluster could be read" in result.stderr and "not found" in result.stderr


def test_each_cluster_keeps_its_own_history(cli, clusters, pg_url):  # noqa: F811
    """Same namespace, same Deployment, two clusters: the waves' deploys and rollback, then a single rollback."""
    env = {"MAGENT_DATABASE_URL": pg_url}
    clusters["us-1"].sim.set_ready_delay(3600)  # us-1's canary cannot pass: eu-1, promoted before, is rolled back
    release = cli("deploy", "app:v2", "-d", "web", *_flags("eu-1", "us-1"), *QUICK, "--rollback-on-fail", env=env)
    assert release.exit_code == 1 and "rolled back in eu-1" in release.stderr, release.stderr[-2000:]
    clusters["us-1"].sim.set_ready_delay(0.2)
    again = cli("rollback", "-d", "web", "--context", "eu-1", "--to-revision", "2", "--yes", env=env)
    assert again.exit_code == 0, again.stderr[-2000:]
    with psycopg.connect(pg_url, autocommit=True) as conn:  # an entry from before the store kept the context
        conn.execute("INSERT INTO deployments (namespace, deployment, image, previous_image, started_at, actor, "
                     "outcome) VALUES (%s, 'web', 'app:v1', 'app:v0', now() - interval '1 day', 'old@host', "
                     "'promoted')", (clusters["eu-1"].namespace,))

    def history(*args: str) -> list[tuple]:
        result = cli("history", "-d", "web", *args, "-o", "json", env=env)
        assert result.exit_code == 0, result.stderr
        return [(r["context"], r["kind"], r["image"], r["outcome"]) for r in json.loads(result.stdout)]

    assert history("--context", "us-1") == [("us-1", "deploy", "app:v2", "aborted")]
    assert history("--context", "eu-1") == [("eu-1", "rollback", "app:v2", "rolled_back"),
                                            ("eu-1", "rollback", "app:v1", "rolled_back"),
                                            ("eu-1", "deploy", "app:v2", "promoted")]
    every = history()
    assert sorted(every[:4]) == sorted(history("--context", "us-1") + history("--context", "eu-1"))
    assert every[4] == (None, "deploy", "app:v1", "promoted")  # the oldest, shown only without --context
    table = cli("history", "-d", "web", env={**env, "COLUMNS": "250"}).stdout
    header = next(line for line in table.splitlines() if "started" in line)
    assert header.split()[1] == "context" and "us-1" in table and "old@host" in table


def test_no_kubeconfig_for_every_cluster_is_said_once(cli, tmp_path, monkeypatch):
    """Not a cluster's fault: one error line and its hint, no table of identical rows (exit 2, as each row's)."""
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)  # not "running in a cluster" either
    missing = tmp_path / "no-kubeconfig"
    for output in ("table", "json"):
        result = cli("status", "-d", "web", *_flags("eu-1", "us-1"), "-o", output, env={"KUBECONFIG": str(missing)})
        assert result.exit_code == 2, result.output
        assert result.stdout == "" and "not read" not in result.output
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert errors == [f"Error: no kubeconfig at {missing} and not running in a cluster"], result.stderr
        assert "Hint: set KUBECONFIG or kubernetes.kubeconfig" in result.stderr


def test_piped_table_lines_end_without_padding(cli, tmp_path):
    """A kubeconfig without the contexts asked for: each row says so (its message names its context)."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "only",
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "only", "context": {"cluster": "c", "user": "u"}}]}))
    result = cli("status", "-d", "web", *_flags("eu-1", "us-1"), env={"KUBECONFIG": str(kubeconfig)})
    assert result.exit_code == 2, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "deployment web in 2 clusters" and all(line == line.rstrip() for line in lines), lines
    assert sum("Expected object with name eu-1 in" in line for line in lines) == 1, result.stdout
