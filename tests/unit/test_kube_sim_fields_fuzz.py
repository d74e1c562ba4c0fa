"""Fuzz: the simulator's field validation and kind-aware field selectors answer bad input only with ApiError."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from magent.sandbox.kube.errors import ApiError
from magent.sandbox.kube.fields import SCHEMAS, field_validation
from magent.sandbox.kube.selectors import parse_field_selector

_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=3), max_leaves=12)


@given(kind=st.sampled_from(sorted(SCHEMAS)), body=st.dictionaries(st.sampled_from(
    ["spec", "metadata", "data", "status", "x"]), _json, max_size=4),
       directive=st.sampled_from([None, "Strict", "Warn", "Ignore", "strict", ""]))
def test_field_validation_never_crashes(kind, body, directive):
    try:
        warnings = field_validation(kind, "v1", body, directive)
    except ApiError as exc:
        assert exc.code == 400
    else:
        assert all(w.startswith('unknown field "') for w in warnings)


@given(selector=st.text(max_size=40), kind=st.sampled_from(["Pod", "ConfigMap", "Event", None]))
def test_field_selector_with_a_kind_never_crashes(selector, kind):
    try:
        matcher = parse_field_selector(selector, kind)
    except ApiError as exc:
        assert exc.code == 400
    else:
        assert matcher({"metadata": {"name": "a"}}) in (True, False)
