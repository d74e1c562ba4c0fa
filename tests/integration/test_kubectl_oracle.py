"""kubectl as the oracle: against the simulator its commands give the outcomes they give on a real cluster
(exit codes, messages), and the resulting objects read back through the Python client are the expected ones."""

from __future__ import annotations

import pytest
from fixtures.kube import wait_until


@pytest.fixture
def apps(kubeconfig):
    from kubernetes import client, config

    return client.AppsV1Api(config.new_client_from_config(config_file=str(kubeconfig)))


def _image(apps, ns: str) -> str:
    return apps.read_namespaced_deployment("web", ns).spec.template.spec.containers[0].image


def _rolled_out(kubectl) -> None:
    result = kubectl("rollout", "status", "deploy/web", "--timeout=15s")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == 'deployment "web" successfully rolled out'


def _history(kubectl) -> list[tuple[str, str]]:
    lines = kubectl("rollout", "history", "deploy/web", check=True).stdout.splitlines()
    return [tuple(line.split(None, 1)) for line in lines[2:] if line.strip()]


def test_create_get_and_rollout_status(kubectl, apps, kube_namespace):
    created = kubectl("create", "deployment", "web", "--image=registry.local/app:v1", "--replicas=3")
    assert (created.returncode, created.stdout.strip()) == (0, "deployment.apps/web created")
    _rolled_out(kubectl)
    read = apps.read_namespaced_deployment("web", kube_namespace)
    assert read.spec.replicas == 3 and read.metadata.labels == {"app": "web"}
    assert read.spec.template.spec.containers[0].name == "app"
    header, row = kubectl("get", "deploy", check=True).stdout.splitlines()
    assert header.split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert row.split()[:4] == ["web", "3/3", "3", "3"]
    pods = kubectl("get", "pods", "--no-headers", check=True).stdout.splitlines()
    assert len(pods) == 3 and all(line.split()[1:3] == ["1/1", "Running"] for line in pods)
    again = kubectl("create", "deployment", "web", "--image=app:v1")
    assert again.returncode == 1
    assert again.stderr.strip() == 'error: failed to create deployment: deployments.apps "web" already exists'
    missing = kubectl("get", "deploy", "nope")
    assert missing.returncode == 1
    assert 'Error from server (NotFound): deployments.apps "nope" not found' in missing.stderr


def test_set_image_history_and_undo(kubectl, apps, kube_namespace):
    kubectl("create", "deployment", "web", "--image=app:v1", "--replicas=2", check=True)
    kubectl("annotate", "deploy/web", "kubernetes.io/change-cause=initial release", check=True)
    _rolled_out(kubectl)
    updated = kubectl("set", "image", "deploy/web", "app=app:v2")
    assert updated.stdout.strip() == "deployment.apps/web image updated"
    kubectl("annotate", "deploy/web", "--overwrite", "kubernetes.io/change-cause=v2", check=True)
    _rolled_out(kubectl)
    assert _history(kubectl) == [("1", "initial release"), ("2", "v2")]
    undone = kubectl("rollout", "undo", "deploy/web")
    assert (undone.returncode, undone.stdout.strip()) == (0, "deployment.apps/web rolled back")
    _rolled_out(kubectl)
    assert _image(apps, kube_namespace) == "app:v1"
    assert _history(kubectl) == [("2", "v2"), ("3", "initial release")]
    kubectl("rollout", "undo", "deploy/web", "--to-revision=2", check=True)
    _rolled_out(kubectl)
    assert _image(apps, kube_namespace) == "app:v2"
    same = kubectl("rollout", "undo", "deploy/web", "--to-revision=4")
    assert "skipped rollback (current template already matches revision 4)" in same.stdout
    unknown = kubectl("rollout", "undo", "deploy/web", "--to-revision=9")
    assert unknown.returncode == 1 and "unable to find specified revision 9 in history" in unknown.stderr


def test_pause_and_resume(kubectl, apps, kube_sim, kube_namespace):
    kubectl("create", "deployment", "web", "--image=app:v1", "--replicas=2", check=True)
    no_history = kubectl("rollout", "undo", "deploy/web").stderr.strip()
    assert no_history == 'error: no rollout history found for deployment "web"'
    kubectl("set", "image", "deploy/web", "app=app:v2", check=True)
    _rolled_out(kubectl)
    assert kubectl("rollout", "pause", "deploy/web").stdout.strip() == "deployment.apps/web paused"
    kubectl("set", "image", "deploy/web", "app=app:v3", check=True)
    refused = kubectl("rollout", "undo", "deploy/web")
    assert refused.returncode == 1 and "you cannot rollback a paused deployment" in refused.stderr
    waiting = kubectl("rollout", "status", "deploy/web", "--timeout=1s")
    assert waiting.returncode == 1 and "0 out of 2 new replicas have been updated" in waiting.stdout
    assert len(kube_sim.list("apps/v1", "ReplicaSet", kube_namespace)) == 2
    assert kubectl("rollout", "resume", "deploy/web").stdout.strip() == "deployment.apps/web resumed"
    _rolled_out(kubectl)
    images = {p["spec"]["containers"][0]["image"] for p in kube_sim.list("v1", "Pod", kube_namespace)
              if not p["metadata"].get("deletionTimestamp")}  # the old ones may still be Terminating
    assert images == {"app:v3"}


def test_scale(kubectl, apps, kube_sim, kube_namespace):
    kubectl("create", "deployment", "web", "--image=app:v1", "--replicas=1", check=True)
    scaled = kubectl("scale", "deploy/web", "--replicas=4")
    assert (scaled.returncode, scaled.stdout.strip()) == (0, "deployment.apps/web scaled")
    _rolled_out(kubectl)
    assert apps.read_namespaced_deployment_scale("web", kube_namespace).spec.replicas == 4
    kubectl("scale", "deploy/web", "--replicas=0", check=True)
    wait_until(lambda: not kube_sim.list("v1", "Pod", kube_namespace), what="scaled to zero")
    wrong = kubectl("scale", "deploy/web", "--replicas=2", "--current-replicas=3")
    assert wrong.returncode == 1 and "Expected replicas to be 3, was 0" in wrong.stderr


def test_rollout_status_reports_the_progress_deadline(kubectl, kube_namespace):
    kubectl("create", "deployment", "web", "--image=app:v1", "--replicas=2", check=True)
    kubectl("patch", "deploy/web", "-p", '{"spec":{"progressDeadlineSeconds":1}}', check=True)
    _rolled_out(kubectl)
    kubectl("set", "image", "deploy/web", "app=app:v2-unready", check=True)
    stuck = kubectl("rollout", "status", "deploy/web", "--timeout=15s")
    assert stuck.returncode == 1
    assert 'error: deployment "web" exceeded its progress deadline' in stuck.stderr
    described = kubectl("get", "deploy", "web", "-o", "jsonpath={.status.conditions[?(@.type=='Progressing')].reason}")
    assert described.stdout == "ProgressDeadlineExceeded"


def test_logs_events_and_crashloop_as_kubectl_shows_them(kubectl, kube_sim, kube_namespace):
    kubectl("create", "deployment", "web", "--image=app:v1-crashloop", check=True)
    def crashing_row():
        # the sandbox's back-off is short and does not grow, so a second `get` may land in the next run:
        # judge the very listing that showed the pod waiting
        row = kubectl("get", "pods", "--no-headers").stdout.split()
        return row if "CrashLoopBackOff" in row else None

    row = wait_until(crashing_row, timeout=5)
    assert row[1:3] == ["0/1", "CrashLoopBackOff"] and int(row[3]) >= 1
    assert "Traceback" in kubectl("logs", "deploy/web", "--previous", check=True).stdout
    events = kubectl("get", "events", "--field-selector", "reason=BackOff", check=True).stdout
    assert "Back-off restarting failed container app" in events
