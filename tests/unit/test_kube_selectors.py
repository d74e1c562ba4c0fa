"""Label and field selectors of the Kubernetes API simulator."""

from __future__ import annotations

import pytest

from magent.sandbox.kube.errors import ApiError
from magent.sandbox.kube.selectors import (
    object_matcher,
    parse_label_selector,
    selector_matches,
    selector_string,
)

LABELS = {"app": "web", "track": "canary", "tier": "api"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("app=web,track=canary", True),
        ("app=web,track=stable", False),
        ("track in (canary,stable)", True),
        ("track notin (canary)", False),
        ("tier", True),
        ("!tier", False),
        ("!missing", True),
        ("app in (web, api),!missing", True),
    ],
)
def test_label_selector_terms(selector, matches):
    assert parse_label_selector(selector)(LABELS) is matches


def test_malformed_label_selector_is_a_bad_request():
    with pytest.raises(ApiError) as raised:
        parse_label_selector("app=(")
    assert raised.value.code == 400


def test_field_selector_on_nested_paths():
    pod = {"metadata": {"name": "web-1", "namespace": "ns", "labels": LABELS}, "status": {"phase": "Running"}}
    assert object_matcher(None, "metadata.name=web-1,status.phase=Running")(pod)
    assert not object_matcher(None, "status.phase!=Running")(pod)
    assert not object_matcher("app=web", "metadata.name=other")(pod)


def test_label_selector_objects_and_their_string_form():
    selector = {"matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "track", "operator": "In", "values": ["canary", "stable"]},
                                     {"key": "legacy", "operator": "DoesNotExist"}]}
    assert selector_matches(selector, LABELS)
    assert not selector_matches(selector, {**LABELS, "legacy": "1"})
    assert selector_string(selector) == "app=web,track in (canary,stable),!legacy"
