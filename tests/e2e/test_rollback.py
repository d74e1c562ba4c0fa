"""`magent rollback` ≡ `kubectl rollout undo` on the same starting state; its errors; a declined prompt."""

from __future__ import annotations

import io
import sys

import pytest
from fixtures.deploy import Cluster, cluster, wait_for, web  # noqa: F401 - fixtures


@pytest.fixture
def twins(cluster, kube_sim, kubectl):  # noqa: F811
    """`web` in the test's namespace (for magent) and in a second one (for kubectl), with the same history."""
    import uuid

    web = cluster  # noqa: F811 - the fixture's name, for the twin's own cluster
    web.create(replicas=2)
    other = Cluster(kube_sim, f"t-{uuid.uuid4().hex[:10]}", web.kubeconfig)
    kube_sim.create_namespace(other.namespace)
    other.create(replicas=2)
    for image in ("app:v2", "app:v3"):
        for side in (web, other):
            side.set_image(image)
    yield web, other
    kube_sim.delete("v1", "Namespace", None, other.namespace)


def _template(side: Cluster) -> dict:
    return side.deployment()["spec"]["template"]


def _revisions(side: Cluster) -> list[tuple[str, str]]:
    sets = side.sim.list("apps/v1", "ReplicaSet", side.namespace, label_selector="app=web")
    return sorted((rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
                   rs["spec"]["template"]["spec"]["containers"][0]["image"]) for rs in sets)


@pytest.mark.parametrize("to_revision", [None, "1"])
def test_rollback_is_kubectl_rollout_undo(cli, kubectl, twins, to_revision):
    mine, theirs = twins
    extra = ("--to-revision", to_revision) if to_revision else ()
    result = cli("rollback", "-d", "web", "--yes", *extra)
    assert result.exit_code == 0, result.stderr
    undo = kubectl("rollout", "undo", "deployment/web", "-n", theirs.namespace, *(f"--to-revision={to_revision}",)
                   if to_revision else ())
    assert undo.returncode == 0, undo.stderr
    wait_for(lambda: theirs.ready(), what="kubectl's rollback rolled out")
    assert _template(mine) == _template(theirs)
    assert mine.image() == ("app:v1" if to_revision else "app:v2")
    assert _revisions(mine) == _revisions(theirs)
    annotations = mine.deployment()["metadata"]["annotations"]
    assert annotations["deployment.kubernetes.io/revision"] == theirs.deployment()["metadata"]["annotations"][
        "deployment.kubernetes.io/revision"]


def test_paused_deployment_is_refused_like_kubectl(cli, kubectl, twins):
    mine, theirs = twins
    for side in (mine, theirs):
        assert kubectl("rollout", "pause", "deployment/web", "-n", side.namespace).returncode == 0
    result = cli("rollback", "-d", "web", "--yes")
    undo = kubectl("rollout", "undo", "deployment/web", "-n", theirs.namespace)
    assert result.exit_code == 4 and undo.returncode != 0
    expected = "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume"
    assert expected in result.stderr and expected in undo.stderr
    assert mine.image() == "app:v3"


def test_current_revision_is_skipped_like_kubectl(cli, kubectl, twins):
    mine, theirs = twins
    result = cli("rollback", "-d", "web", "--to-revision", "3", "--yes")
    undo = kubectl("rollout", "undo", "deployment/web", "-n", theirs.namespace, "--to-revision=3")
    assert result.exit_code == 0 and undo.returncode == 0
    message = "skipped rollback (current template already matches revision 3)"
    assert message in result.stdout and message in undo.stdout
    assert mine.deployment()["metadata"]["generation"] == theirs.deployment()["metadata"]["generation"]


@pytest.mark.parametrize(("args", "code", "message"), [
    (("-d", "nope"), 2, "deployment nope not found in namespace"),
    (("-d", "web", "--to-revision", "9"), 2, "unable to find specified revision 9 in history"),
    (("-d", "web"), 4, 'no rollout history found for deployment "web"'),
])
def test_rollback_errors(cli, web, args, code, message):  # noqa: F811
    result = cli("rollback", *args, "--yes")
    assert result.exit_code == code
    assert message in result.stderr and "Traceback" not in result.stderr


def test_dry_run_shows_current_and_target_and_changes_nothing(cli, web):  # noqa: F811
    web.set_image("app:v2")
    before = web.deployment()
    result = cli("rollback", "-d", "web", "--dry-run", "-o", "json")
    assert result.exit_code == 0
    assert '"current_images": [\n    "app:v2"' in result.stdout and '"to_revision": 1' in result.stdout
    assert web.deployment() == before


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_is_asked_first_and_no_changes_nothing(cli, web, monkeypatch):  # noqa: F811
    web.set_image("app:v2")
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    result = cli("rollback", "-d", "web")
    assert result.exit_code == 130
    assert "Roll back web from app:v2 to app:v1 (revision 2 → 1).\nRoll back web to app:v1? [y/N]" in result.stderr
    assert "in context magent-sandbox" in result.stderr
    assert web.image() == "app:v2"
