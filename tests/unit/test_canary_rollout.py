"""kubectl's rollout logic as ported (status, revision choice, undo patch) and the canary manifest."""

from __future__ import annotations

import copy

import pytest

from magent.core.canary_manifest import canary_manifest, image_repository, pick_container, set_image_patch
from magent.core.errors import InconsistentState, UsageError
from magent.core.rollout import (
    REVISION_ANNOTATION,
    RolloutFailed,
    equal_ignore_hash,
    owned_replica_sets,
    pick_revision,
    rollout_status,
    undo_patch,
)


def _deployment(replicas=3, generation=2, observed=2, updated=3, total=3, available=3, conditions=()):
    return {
        "metadata": {"name": "web", "namespace": "shop", "uid": "u-1", "generation": generation,
                     "labels": {"app": "web"},
                     "annotations": {REVISION_ANNOTATION: "2", "team": "a", "magent.dev/canary-state": "{}"}},
        "spec": {"replicas": replicas, "paused": False, "selector": {"matchLabels": {"app": "web"}},
                 "template": _template("app:v2")},
        "status": {"observedGeneration": observed, "updatedReplicas": updated, "replicas": total,
                   "availableReplicas": available, "conditions": list(conditions)},
    }


def _template(image, hash_label=None):
    labels = {"app": "web"} | ({"pod-template-hash": hash_label} if hash_label else {})
    return {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}}


def _rs(name, revision, image, owner="u-1", extra=None):
    annotations = {REVISION_ANNOTATION: str(revision), "kubernetes.io/change-cause": f"to {image}"} | (extra or {})
    return {"metadata": {"name": name, "annotations": annotations,
                         "ownerReferences": [{"uid": owner, "controller": True, "kind": "Deployment"}]},
            "spec": {"template": _template(image, hash_label=name[-5:])}}


@pytest.mark.parametrize(("fields", "done", "message"), [
    ({"observed": 1}, False, "Waiting for deployment spec update to be observed..."),
    ({"updated": 1}, False, 'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...'),
    ({"total": 5}, False, 'Waiting for deployment "web" rollout to finish: 2 old replicas are pending termination...'),
    ({"available": 2}, False, 'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...'),
    ({}, True, 'deployment "web" successfully rolled out'),
])
def test_rollout_status_matches_kubectl(fields, done, message):
    status = rollout_status(_deployment(**fields))
    assert (status.done, status.message) == (done, message)


def test_rollout_status_fails_past_the_progress_deadline():
    timed_out = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
    with pytest.raises(RolloutFailed, match='deployment "web" exceeded its progress deadline') as caught:
        rollout_status(_deployment(updated=1, conditions=[timed_out]))
    assert caught.value.exit_code == 4


def test_only_replica_sets_controlled_by_the_deployment_count():
    mine, other = _rs("web-aaaaa", 1, "app:v1"), _rs("web-canary-bbbbb", 1, "app:v9", owner="u-2")
    assert owned_replica_sets(_deployment(), [mine, other]) == [mine]


def test_pick_revision_takes_the_second_newest_or_the_one_asked():
    sets = [_rs("web-aaaaa", 1, "app:v1"), _rs("web-ccccc", 3, "app:v3"), _rs("web-bbbbb", 2, "app:v2")]
    assert pick_revision(_deployment(), sets)["metadata"]["name"] == "web-bbbbb"
    assert pick_revision(_deployment(), sets, 1)["metadata"]["name"] == "web-aaaaa"


def test_pick_revision_errors_read_like_kubectl():
    with pytest.raises(UsageError, match="unable to find specified revision 7 in history"):
        pick_revision(_deployment(), [_rs("web-aaaaa", 1, "app:v1")], 7)
    with pytest.raises(InconsistentState, match='no rollout history found for deployment "web"'):
        pick_revision(_deployment(), [_rs("web-aaaaa", 1, "app:v1")])


def test_equal_ignore_hash_ignores_only_the_hash_label():
    assert equal_ignore_hash(_template("app:v1", "abc"), _template("app:v1"))
    assert not equal_ignore_hash(_template("app:v1", "abc"), _template("app:v2", "abc"))


def test_undo_patch_is_kubectls_json_patch():
    deployment = _deployment()
    target = _rs("web-aaaaa", 1, "app:v1", extra={"deployment.kubernetes.io/desired-replicas": "3"})
    patch = undo_patch(deployment, target, overrides={"magent.dev/canary-state": None})
    assert [op["path"] for op in patch] == ["/spec/template", "/metadata/annotations"]
    assert patch[0]["value"] == _template("app:v1")  # pod-template-hash removed
    # skip-listed annotations are kept from the Deployment, the others come from the ReplicaSet
    assert patch[1]["value"] == {REVISION_ANNOTATION: "2", "kubernetes.io/change-cause": "to app:v1"}
    assert "pod-template-hash" in target["spec"]["template"]["metadata"]["labels"]  # the input is not modified


def test_canary_manifest_copies_the_stable_with_the_new_image_and_track():
    stable = _deployment()
    stable["spec"]["paused"] = True
    before = copy.deepcopy(stable)
    canary = canary_manifest(stable, image="app:v3", container="app", replicas=2, deploy_id="d1")
    assert stable == before
    assert canary["metadata"]["name"] == "web-canary"
    assert canary["metadata"]["annotations"]["magent.dev/canary-of"] == "web"
    assert canary["spec"]["replicas"] == 2 and "paused" not in canary["spec"]
    assert canary["spec"]["selector"]["matchLabels"] == {"app": "web", "track": "canary"}
    assert canary["spec"]["template"]["metadata"]["labels"] == {"app": "web", "track": "canary"}
    assert canary["spec"]["template"]["spec"]["containers"] == [{"name": "app", "image": "app:v3"}]
    assert "magent.dev/canary-state" not in canary["metadata"]["annotations"]


@pytest.mark.parametrize(("image", "repository"), [
    ("app:v2", "app"), ("registry:5000/team/app:v2", "registry:5000/team/app"),
    ("registry:5000/team/app", "registry:5000/team/app"), ("app@sha256:abc", "app"), ("app:v2@sha256:abc", "app"),
])
def test_image_repository(image, repository):
    assert image_repository(image) == repository


def test_pick_container():
    containers = [{"name": "app", "image": "reg/app:v1"}, {"name": "proxy", "image": "envoy:1.30"}]
    assert pick_container("web", containers[:1], "other:v2", None) == "app"
    assert pick_container("web", containers, "reg/app:v2", None) == "app"
    assert pick_container("web", containers, "x:1", "proxy") == "proxy"
    with pytest.raises(UsageError, match="which one runs x:1"):
        pick_container("web", containers, "x:1", None)
    with pytest.raises(UsageError, match="no container 'nope'"):
        pick_container("web", containers, "x:1", "nope")


def test_set_image_patch_is_kubectl_set_image():
    patch = set_image_patch([{"name": "app"}, {"name": "proxy"}], "app", "app:v2", "why")
    assert patch["spec"]["template"]["spec"] == {
        "$setElementOrder/containers": [{"name": "app"}, {"name": "proxy"}],
        "containers": [{"image": "app:v2", "name": "app"}],
    }
    assert patch["metadata"]["annotations"]["kubernetes.io/change-cause"] == "why"
