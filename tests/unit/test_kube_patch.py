"""The three patch types of the Kubernetes API simulator, on plain dicts."""

from __future__ import annotations

import pytest

from magent.sandbox.kube.patch import (
    JSON_PATCH,
    MERGE,
    STRATEGIC,
    PatchError,
    apply_patch,
    merge_patch,
    strategic_merge,
)

POD_SPEC = {
    "containers": [
        {"name": "app", "image": "app:v1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
         "ports": [{"containerPort": 8080, "protocol": "TCP"}]},
        {"name": "sidecar", "image": "proxy:v1"},
    ],
    "restartPolicy": "Always",
}


def test_kubectl_set_image_patch_changes_only_the_named_container():
    patch = {"$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
             "containers": [{"image": "app:v2", "name": "app"}]}
    result = strategic_merge(POD_SPEC, patch)
    assert [c["image"] for c in result["containers"]] == ["app:v2", "proxy:v1"]
    assert result["containers"][0]["env"] == POD_SPEC["containers"][0]["env"]
    assert POD_SPEC["containers"][0]["image"] == "app:v1"  # the original is untouched


def test_set_element_order_reorders_merged_containers():
    patch = {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
             "containers": [{"name": "sidecar", "image": "proxy:v2"}]}
    result = strategic_merge(POD_SPEC, patch)
    assert [(c["name"], c["image"]) for c in result["containers"]] == [("sidecar", "proxy:v2"), ("app", "app:v1")]


def test_unknown_container_name_is_appended():
    result = strategic_merge(POD_SPEC, {"containers": [{"name": "debug", "image": "busybox"}]})
    assert [c["name"] for c in result["containers"]] == ["app", "sidecar", "debug"]


def test_patch_delete_directive_removes_a_list_item_and_a_map():
    patch = {"containers": [{"name": "sidecar", "$patch": "delete"}], "securityContext": {"$patch": "delete"}}
    result = strategic_merge({**POD_SPEC, "securityContext": {"runAsUser": 1}}, patch)
    assert [c["name"] for c in result["containers"]] == ["app"]
    assert "securityContext" not in result


def test_patch_replace_directive_replaces_list_and_map():
    result = strategic_merge(POD_SPEC, {"containers": [{"name": "only", "image": "x"}, {"$patch": "replace"}]})
    assert result["containers"] == [{"name": "only", "image": "x"}]
    replaced = strategic_merge({"m": {"a": 1, "b": 2}}, {"m": {"$patch": "replace", "c": 3}})
    assert replaced == {"m": {"c": 3}}


def test_env_merges_by_name_and_null_deletes_keys():
    patch = {"containers": [{"name": "app", "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}]}],
             "restartPolicy": None}
    result = strategic_merge(POD_SPEC, patch)
    assert result["containers"][0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "20"},
                                              {"name": "C", "value": "3"}]
    assert "restartPolicy" not in result


def test_lists_without_merge_key_are_replaced():
    result = strategic_merge({"args": ["a", "b"], "tolerations": [{"key": "x"}]}, {"args": ["c"], "tolerations": []})
    assert result == {"args": ["c"], "tolerations": []}


def test_container_ports_merge_by_container_port():
    patch = {"containers": [{"name": "app", "ports": [{"containerPort": 9090}]}]}
    ports = strategic_merge(POD_SPEC, patch)["containers"][0]["ports"]
    assert [p["containerPort"] for p in ports] == [8080, 9090]


def test_delete_from_primitive_list_and_finalizers_union():
    original = {"finalizers": ["a", "b"], "args": ["x", "y", "z"]}
    result = strategic_merge(original, {"finalizers": ["c"], "$deleteFromPrimitiveList/args": ["y"]})
    assert result == {"finalizers": ["a", "b", "c"], "args": ["x", "z"]}


def test_retain_keys_drops_unlisted_keys():
    original = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
    result = strategic_merge(original, {"$retainKeys": ["type"], "type": "Recreate"})
    assert result == {"type": "Recreate"}


def test_missing_merge_key_is_an_error():
    with pytest.raises(PatchError, match="merge key"):
        strategic_merge(POD_SPEC, {"containers": [{"image": "no-name"}]})


@pytest.mark.parametrize(
    ("original", "patch", "expected"),
    [  # RFC 7386, appendix A
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_json_merge_patch_follows_rfc_7386(original, patch, expected):
    assert merge_patch(original, patch) == expected


def test_json_merge_patch_replaces_container_lists():
    result = apply_patch(MERGE, {"spec": POD_SPEC}, {"spec": {"containers": [{"name": "app", "image": "v3"}]}})
    assert result["spec"]["containers"] == [{"name": "app", "image": "v3"}]


def test_json_patch_applies_operations_in_order():
    original = {"metadata": {"annotations": {"a": "1"}}, "spec": POD_SPEC}
    ops = [{"op": "replace", "path": "/spec/containers/0/image", "value": "app:v9"},
           {"op": "add", "path": "/metadata/annotations/b", "value": "2"},
           {"op": "remove", "path": "/spec/restartPolicy"}]
    result = apply_patch(JSON_PATCH, original, ops)
    assert result["spec"]["containers"][0]["image"] == "app:v9"
    assert result["metadata"]["annotations"] == {"a": "1", "b": "2"}
    assert "restartPolicy" not in result["spec"]


def test_json_patch_errors_say_what_is_wrong():
    with pytest.raises(PatchError, match="cannot unmarshal object") as not_a_list:
        apply_patch(JSON_PATCH, {}, {"spec": {}})
    assert not_a_list.value.code == 400
    with pytest.raises(PatchError) as failed_test:
        apply_patch(JSON_PATCH, {"a": 1}, [{"op": "test", "path": "/a", "value": 2}])
    assert failed_test.value.code == 422


def test_unknown_patch_media_type_is_415():
    with pytest.raises(PatchError) as raised:
        apply_patch("application/xml", {}, {})
    assert raised.value.code == 415


def test_strategic_content_type_with_charset_is_accepted():
    result = apply_patch(f"{STRATEGIC}; charset=utf-8", {"spec": {"paused": False}}, {"spec": {"paused": True}})
    assert result == {"spec": {"paused": True}}
