"""`magent deploy` end to end against the simulator: promoted, aborted, held then aborted, bad input."""

from __future__ import annotations

import json

import pytest
from fixtures.deploy import cluster, wait_for, web  # noqa: F401 - fixtures

FAST = ("--pause", "0.6s", "--interval", "1s", "--yes")


def _events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def _kinds(events: list[dict]) -> list[str]:
    return [e["event"] for e in events]


def test_dry_run_shows_the_plan_and_changes_nothing(cli, web):  # noqa: F811
    before = web.deployment()
    result = cli("deploy", "app:v2", "-d", "web", "--dry-run", "--steps", "10,25,50", "-o", "json")
    assert result.exit_code == 0, result.stderr
    (plan,) = _events(result.stdout)
    assert plan["event"] == "plan" and plan["image"] == "app:v2" and plan["previous_image"] == "app:v1"
    assert [(s["weight"], s["canary_replicas"], s["share"]) for s in plan["steps"]] == [
        (10, 1, 20.0), (25, 1, 20.0), (50, 2, 33.3)]
    assert web.deployment() == before and web.deployment("web-canary") is None and web.lease() is None


def test_dry_run_table_explains_the_share(cli, web):  # noqa: F811
    result = cli("deploy", "app:v2", "-d", "web", "--dry-run")
    assert result.exit_code == 0
    assert "33.3%" in result.stdout and "canary / (stable + canary)" in result.stderr


def test_healthy_canary_is_promoted(cli, web):  # noqa: F811
    result = cli("deploy", "app:v2", "-d", "web", *FAST, "-o", "json")
    assert result.exit_code == 0, result.stderr
    events = _events(result.stdout)
    kinds = _kinds(events)
    assert kinds[0] == "started" and kinds[-1] == "promoted"
    assert [e["weight"] for e in events if e["event"] == "canary_scaled"] == [10, 50]
    assert kinds.index("promoting") > max(i for i, k in enumerate(kinds) if k == "step_passed")
    assert all(e["verdict"] in ("pass", "inconclusive") for e in events if e["event"] == "analysis")
    assert web.image() == "app:v2" and web.ready()
    assert web.deployment("web-canary") is None and web.lease() is None
    state = web.state()
    assert state.phase.value == "promoted" and state.image == "app:v2" and state.previous_image == "app:v1"
    assert "magent deploy app:v2" in web.deployment()["metadata"]["annotations"]["kubernetes.io/change-cause"]
    assert "Deploying app:v2 to deployment web in context magent-sandbox" in result.stderr


def test_crash_looping_canary_is_aborted_and_the_stable_never_changes(cli, web):  # noqa: F811
    before = web.deployment()
    result = cli("deploy", "app:v2-crashloop", "-d", "web", "--pause", "5s", "--interval", "1s", "-o", "json")
    assert result.exit_code == 1
    kinds = _kinds(_events(result.stdout))
    assert kinds[-3:] == ["analysis", "canary_scaled_to_zero", "aborted"]
    assert "crashloop_oomkilled" in result.stderr and "still runs app:v1" in result.stderr
    after = web.deployment()
    assert after["spec"] == before["spec"] and after["metadata"]["generation"] == before["metadata"]["generation"]
    assert web.deployment("web-canary") is None and web.lease() is None
    assert web.state().phase.value == "aborted"


def test_canary_that_never_gets_ready_is_held_then_aborted(cli, web):  # noqa: F811
    result = cli("deploy", "app:v2-unready", "-d", "web", "--steps", "50", "--pause", "0.4s", "--interval", "1s",
                 "--max-inconclusive", "3", "-o", "json")
    assert result.exit_code == 1
    analyses = [e for e in _events(result.stdout) if e["event"] == "analysis"]
    assert {e["verdict"] for e in analyses} == {"inconclusive"}
    assert [e["action"] for e in analyses][-3:] == ["hold", "hold", "abort"]
    assert "3 inconclusive analyses" in web.state().reason
    assert web.image() == "app:v1" and web.deployment("web-canary") is None


def test_plain_progress_lines_go_to_stderr(cli, web):  # noqa: F811
    result = cli("deploy", "app:v2", "-d", "web", "--steps", "50", *FAST)
    assert result.exit_code == 0, result.stderr
    assert "step 1/1 (50%): 2 canary pods next to 4 stable (33.3% of pods)" in result.stderr
    assert "PROMOTED: web runs app:v2" in result.stderr
    assert "promoted" in result.stdout and "{" not in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("app:v2", "-d", "nope"), "deployment nope not found in namespace"),
    (("app:v2", "-d", "web", "--steps", "50,10"), "--steps '50,10'"),
    (("app:v2", "-d", "web", "--interval", "0s"), "--interval must be at least 1s, not 0ms"),
    (("app:v2", "-d", "web", "--interval", "1ms"), "--interval must be at least 1s, not 1ms"),
    (("app:v2", "-d", "web", "--interval", "nan"), "--interval: invalid duration"),
    (("app:v2", "-d", "web", "--pause", "-1s"), "--pause: invalid duration"),
    (("app:v2", "-d", "web", "--pause", "soon"), "--pause: invalid duration"),
    (("-d", "web"), "give the IMAGE to deploy"),
    (("app:v1", "-d", "web"), "already runs app:v1"),
    (("app:v2", "-d", "web", "--container", "sidecar"), "has no container 'sidecar'"),
    (("app:v2", "-d", "web", "--resume"), "no unfinished deploy of web to resume"),
])
def test_bad_input_is_exit_2_and_changes_nothing(cli, web, args, message):  # noqa: F811
    before = web.deployment()
    result = cli("deploy", *args, "--yes")
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert web.deployment() == before and web.lease() is None


def test_unreachable_cluster_is_exit_3(cli, cluster, tmp_path, monkeypatch):  # noqa: F811
    import socket

    import yaml

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    document = yaml.safe_load(cluster.kubeconfig.read_text())
    document["clusters"][0]["cluster"]["server"] = f"http://127.0.0.1:{port}"
    dead = tmp_path / "dead-kubeconfig"
    dead.write_text(yaml.safe_dump(document))
    result = cli("deploy", "app:v2", "-d", "web", "--yes", env={"KUBECONFIG": str(dead)})
    assert result.exit_code == 3
    assert "cannot reach the Kubernetes API" in result.stderr


def test_canary_is_sized_from_the_current_replicas_and_the_hpa_is_left_alone(cli, cluster):  # noqa: F811
    cluster.create(replicas=10)  # where an HPA has taken the stable
    hpa = cluster.sim.create({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": cluster.namespace},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 4, "maxReplicas": 12,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                                               "target": {"type": "Utilization",
                                                                          "averageUtilization": 70}}}]}})
    result = cli("deploy", "app:v2", "-d", "web", *FAST, "-o", "json")
    assert result.exit_code == 0, result.stderr
    scaled = [(e["canary_replicas"], e["stable_replicas"]) for e in _events(result.stdout)
              if e["event"] == "canary_scaled"]
    assert scaled == [(1, 10), (5, 10)]
    after = cluster.sim.get("autoscaling/v2", "HorizontalPodAutoscaler", cluster.namespace, "web")
    assert after["metadata"]["resourceVersion"] == hpa["metadata"]["resourceVersion"]


def test_a_pdb_on_the_canary_never_blocks_the_abort(cli, web):  # noqa: F811
    web.sim.create({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                    "metadata": {"name": "web-all", "namespace": web.namespace},
                    "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "web"}}}})
    result = cli("deploy", "app:v2-crashloop", "-d", "web", "--steps", "50", "--pause", "5s", "--interval", "1s",
                 "--yes")
    assert result.exit_code == 1
    assert "canary scaled to 0" in result.stderr
    assert web.deployment("web-canary") is None
    wait_for(lambda: not web.pods("app=web,track=canary"), timeout=5, what="the canary pods gone")


def test_a_paused_deployment_is_not_deployed(cli, web):  # noqa: F811
    deployment = web.deployment()
    deployment["spec"]["paused"] = True
    web.sim.update(deployment)
    result = cli("deploy", "app:v2", "-d", "web", "--yes")
    assert result.exit_code == 4 and "kubectl rollout resume deployment/web" in result.stderr
    assert web.deployment("web-canary") is None
