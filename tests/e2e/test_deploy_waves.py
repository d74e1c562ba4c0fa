"""One release across three clusters (three Kubernetes simulators, contexts eu-1, us-1, ap-1), cluster by cluster.

All healthy: every cluster is promoted, in order, and every JSON event names its cluster. A faulty cluster (its
pods never become ready) stops the release there: the clusters after it are never touched and, with
--rollback-on-fail, the clusters promoted before it are rolled back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fixtures.deploy import Cluster
from fixtures.kube import SIM_READY_DELAY, SIM_RESTART_INTERVAL, SIM_TICK

from magent.sandbox.kube import KubeSimulator, kubeconfig_document

CONTEXTS = ("eu-1", "us-1", "ap-1")
QUICK = ("--steps", "50", "--pause", "0s", "--interval", "1s", "--max-inconclusive", "2", "--yes")


@pytest.fixture(scope="module")
def simulators() -> Iterator[dict[str, KubeSimulator]]:
    sims: dict[str, KubeSimulator] = {}
    try:
        for context in CONTEXTS:
            sim = KubeSimulator(ready_delay=SIM_READY_DELAY, tick=SIM_TICK, restart_interval=SIM_RESTART_INTERVAL)
            sims[context] = sim.__enter__()
        yield sims
    finally:
        for sim in sims.values():
            sim.__exit__(None, None, None)


@pytest.fixture
def clusters(simulators, tmp_path: Path, monkeypatch) -> dict[str, Cluster]:
    """A fresh namespace with Deployment web (app:v1) in each simulator, one kubeconfig with the three contexts."""
    namespace = f"t-{uuid.uuid4().hex[:8]}"
    merged: dict = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": [],
                    "current-context": CONTEXTS[0], "preferences": {}}
    found = {}
    for context, sim in simulators.items():
        sim.set_ready_delay(SIM_READY_DELAY)
        sim.create_namespace(namespace)
        document = kubeconfig_document(sim.url, sim.token, namespace=namespace, context=context)
        document["clusters"][0]["name"] = document["users"][0]["name"] = context
        document["contexts"][0]["context"].update(cluster=context, user=context)
        for key in ("clusters", "users", "contexts"):
            merged[key].extend(document[key])
        found[context] = Cluster(sim, namespace, tmp_path / "kubeconfig")
        found[context].create(replicas=2)
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(merged))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    return found


def _events(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_a_healthy_release_is_promoted_cluster_after_cluster(cli, clusters):
    args = [item for context in CONTEXTS for item in ("--context", context)]
    result = cli("deploy", "app:v2", "-d", "web", *args, *QUICK, "-o", "json")
    assert result.exit_code == 0, result.stderr[-2000:]
    events = _events(result)
    promoted = [e["context"] for e in events if e["event"] == "promoted"]
    assert promoted == list(CONTEXTS)
    assert all(e.get("context") in CONTEXTS for e in events if e["event"] != "release")
    assert events[-1]["event"] == "release" and events[-1]["promoted"] is True
    assert all(cluster.image() == "app:v2" for cluster in clusters.values())


def test_a_faulty_cluster_stops_the_release_and_the_promoted_ones_are_rolled_back(cli, clusters):
    clusters["us-1"].sim.set_ready_delay(3600)  # us-1's new pods never become ready: its canary cannot pass
    args = [item for context in CONTEXTS for item in ("--context", context)]
    result = cli("deploy", "app:v2", "-d", "web", *args, *QUICK, "--rollback-on-fail")
    assert result.exit_code == 1, result.stderr[-2000:]
    assert "stopped in us-1" in result.stderr and "rolled back in eu-1" in result.stderr
    assert clusters["eu-1"].image() == "app:v1" and clusters["eu-1"].state().phase.value == "aborted"
    assert clusters["us-1"].image() == "app:v1" and clusters["us-1"].state().phase.value == "aborted"
    assert clusters["ap-1"].state() is None and clusters["ap-1"].image() == "app:v1"  # never touched
    assert "eu-1/web: ROLLED BACK" in result.stderr


def test_rollback_on_fail_needs_waves(cli):
    result = cli("deploy", "app:v2", "-d", "web", "--rollback-on-fail", "--yes")
    assert result.exit_code == 2 and "applies to a release in waves" in result.stderr


def test_a_cluster_named_twice_is_refused(cli):
    result = cli("deploy", "app:v2", "-d", "web", "--context", "eu-1", "--context", "eu-1", "--yes")
    assert result.exit_code == 2 and "named twice" in result.stderr


def test_a_deployment_missing_in_a_later_cluster_stops_the_release_before_any_change(cli, clusters):
    clusters["ap-1"].sim.delete("apps/v1", "Deployment", clusters["ap-1"].namespace, "web")
    args = [item for context in CONTEXTS for item in ("--context", context)]
    result = cli("deploy", "app:v2", "-d", "web", *args, *QUICK)
    assert result.exit_code == 2 and "not found" in result.stderr
    assert clusters["eu-1"].state() is None and clusters["eu-1"].image() == "app:v1"
