"""Pure helpers of the simulator's deployment controller: hashes, fenceposts, revisions, conditions."""

from __future__ import annotations

import pytest

from magent.sandbox.kube import rollout as ro
from magent.sandbox.kube.tables import human_duration

TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "app:v1"}]}}


def _deployment(replicas=4, surge="25%", unavailable="25%", kind="RollingUpdate"):
    strategy = {"type": kind}
    if kind == "RollingUpdate":
        strategy["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {"metadata": {"generation": 1}, "spec": {"replicas": replicas, "strategy": strategy}}


def test_template_hash_is_stable_and_ignores_its_own_label():
    first = ro.template_hash(TEMPLATE)
    labelled = {**TEMPLATE, "metadata": {"labels": {"app": "web", ro.HASH_LABEL: first}}}
    assert ro.template_hash(labelled) == first
    assert set(first) <= set("bcdfghjklmnpqrstvwxz2456789") and 6 <= len(first) <= 10
    changed = {**TEMPLATE, "spec": {"containers": [{"name": "app", "image": "app:v2"}]}}
    assert ro.template_hash(changed) != first
    assert ro.template_hash(TEMPLATE, collision_count=1) != first


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable", "expected"),
    [
        (4, "25%", "25%", (1, 1)),
        (3, "25%", "25%", (1, 0)),  # surge rounds up, unavailable down
        (10, "30%", "10%", (3, 1)),
        (5, 2, 0, (2, 0)),
        (5, 0, 0, (0, 1)),  # both zero: one may be unavailable
        (1, "0%", "0%", (0, 1)),
    ],
)
def test_fenceposts(replicas, surge, unavailable, expected):
    assert ro.fenceposts(_deployment(replicas, surge, unavailable)) == expected


def test_recreate_has_no_surge_and_no_unavailability_budget():
    deployment = _deployment(kind="Recreate")
    assert ro.fenceposts(deployment) == (0, 0)
    assert ro.max_unavailable(deployment) == 0


def test_set_revision_only_moves_forward_and_keeps_history():
    rs = {"metadata": {"annotations": {ro.REVISION: "1"}}}
    assert ro.set_revision(rs, 4)
    assert rs["metadata"]["annotations"][ro.REVISION] == "4"
    assert rs["metadata"]["annotations"][ro.REVISION_HISTORY] == "1"
    assert not ro.set_revision(rs, 3)


def test_copy_annotations_skips_controller_owned_ones():
    deployment = {"metadata": {"annotations": {ro.CHANGE_CAUSE: "v2", ro.REVISION: "7", ro.LAST_APPLIED: "{}"}}}
    rs = {"metadata": {}}
    assert ro.copy_annotations(deployment, rs)
    assert rs["metadata"]["annotations"] == {ro.CHANGE_CAUSE: "v2"}


def test_set_condition_keeps_transition_time_when_status_is_unchanged():
    status = {}
    ro.set_condition(status, {**ro.new_condition("Available", "True", "A", "m"), "lastTransitionTime": "T0"})
    ro.set_condition(status, ro.new_condition("Available", "True", "B", "m2"))
    assert status["conditions"][0]["reason"] == "B"
    assert status["conditions"][0]["lastTransitionTime"] == "T0"


def test_complete_and_progressing():
    deployment = _deployment(replicas=2)
    done = {"updatedReplicas": 2, "replicas": 2, "availableReplicas": 2, "observedGeneration": 1}
    assert ro.deployment_complete(deployment, done)
    assert not ro.deployment_complete(deployment, {**done, "observedGeneration": 0})
    assert ro.deployment_progressing({"replicas": 3, "updatedReplicas": 1}, {"replicas": 3, "updatedReplicas": 2})
    assert not ro.deployment_progressing(done, done)


@pytest.mark.parametrize(("seconds", "text"), [(5, "5s"), (119, "119s"), (125, "2m5s"), (600, "10m"),
                                                (3 * 3600 + 60, "3h1m"), (30 * 3600, "30h"), (50 * 3600, "2d2h")])
def test_ages_print_like_kubectl(seconds, text):
    assert human_duration(seconds) == text
