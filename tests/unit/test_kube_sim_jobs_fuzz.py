"""Fuzz and units for the simulator's Jobs: any Job manifest is stored or refused with ApiError (400/422),
never a crash; completedIndexes compress as the API server writes them."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from magent.sandbox.kube.discovery import by_kind
from magent.sandbox.kube.errors import ApiError
from magent.sandbox.kube.jobs import compress_indexes
from magent.sandbox.kube.store import ObjectStore

_JOB = by_kind("batch/v1", "Job")
_leaf = st.none() | st.booleans() | st.integers(-3, 5) | st.text(max_size=6) | st.sampled_from(
    ["Indexed", "NonIndexed", "Never", "OnFailure"])
_value = _leaf | st.lists(_leaf, max_size=2) | st.dictionaries(
    st.sampled_from(["labels", "matchLabels", "matchExpressions", "x"]), _leaf | st.dictionaries(
        st.text(max_size=3), _leaf, max_size=2), max_size=2)
_pod_spec = st.fixed_dictionaries({}, optional={
    "restartPolicy": _value, "containers": st.just([{"name": "w", "image": "magent:1"}]) | _value})
_spec = st.fixed_dictionaries({}, optional={
    key: _value for key in ("parallelism", "completions", "completionMode", "backoffLimit", "backoffLimitPerIndex",
                            "suspend", "manualSelector", "selector", "maxFailedIndexes")} | {
    "template": st.fixed_dictionaries({}, optional={"spec": _pod_spec, "metadata": _value})})


@settings(max_examples=300, deadline=None)
@given(spec=_spec | _value)
@example(spec={"selector": {"matchExpressions": [3]}})
@example(spec={"template": {"metadata": "abc"}})
@example(spec={"selector": {"matchLabels": 3}})
@example(spec={"parallelism": None, "template": {"spec": {"containers": True}}})  # found in CI: a TypeError
def test_any_job_manifest_is_stored_or_refused_cleanly(spec):
    store = ObjectStore()
    store.create(by_kind("v1", "Namespace"), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b"}})
    try:
        created = store.create(_JOB, {"apiVersion": "batch/v1", "kind": "Job",
                                      "metadata": {"name": "j", "namespace": "b"}, "spec": spec})
    except ApiError as exc:
        assert exc.code in (400, 422)
    else:
        assert created["spec"]["template"]["spec"]["restartPolicy"] in ("Never", "OnFailure")
        assert created["spec"]["completionMode"] in ("Indexed", "NonIndexed")


@given(st.sets(st.integers(0, 40), max_size=20))
def test_completed_indexes_round_trip(indexes):
    text = compress_indexes(indexes)
    parsed = set()
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        parsed |= set(range(int(low), int(high or low) + 1))
    assert parsed == indexes
    assert compress_indexes({0, 1, 2, 4, 6, 7}) == "0-2,4,6-7"
