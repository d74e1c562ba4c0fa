"""The three patch types of the Kubernetes API, applied to plain dicts.

- Strategic merge patch (`application/strategic-merge-patch+json`, kubectl's default): maps merge
  recursively, `null` deletes a key, lists of objects with a merge key (containers and env by `name`,
  ports by `containerPort`, …) merge item by item, other lists are replaced. Directives: `$patch: replace`,
  `$patch: delete` (in a map or a list item), `$setElementOrder/<field>`, `$deleteFromPrimitiveList/<field>`
  and `$retainKeys`.
- JSON merge patch (`application/merge-patch+json`, RFC 7386): maps merge, `null` deletes, lists replace.
- JSON patch (`application/json-patch+json`, RFC 6902), through the `jsonpatch` library.
"""

from __future__ import annotations

import copy
from typing import Any

STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"

# Lists of objects that merge by a key field (from the `patchMergeKey` tags of the Kubernetes types).
_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
}
# Lists of scalars that merge as sets (patchStrategy "merge" on a primitive list).
_MERGED_PRIMITIVE_LISTS = frozenset({"finalizers"})

_DIRECTIVE = "$patch"
_ORDER_PREFIX = "$setElementOrder/"
_DELETE_PRIMITIVE_PREFIX = "$deleteFromPrimitiveList/"
_RETAIN_KEYS = "$retainKeys"


class PatchError(ValueError):
    """The patch is malformed (400) or cannot be applied (422)."""

    def __init__(self, message: str, *, code: int = 400) -> None:
        super().__init__(message)
        self.code = code


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field == "ports":  # container ports merge by containerPort, service ports by port
        sample = next((i for i in items if isinstance(i, dict) and _DIRECTIVE not in i), {})
        return "containerPort" if "containerPort" in sample or not sample else "port"
    return _MERGE_KEYS.get(field)


def strategic_merge(original: Any, patch: Any) -> Any:
    """Apply a strategic merge patch to `original` (neither is modified); returns the result."""
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object")
    return _merge_map(copy.deepcopy(original) if isinstance(original, dict) else {}, patch)


def _merge_map(original: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    directive = patch.get(_DIRECTIVE)
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != _DIRECTIVE}
    if directive not in (None, "merge", "delete"):
        raise PatchError(f"unknown patch directive {directive!r}")
    if _RETAIN_KEYS in patch:
        keep = set(patch[_RETAIN_KEYS] or [])
        original = {k: v for k, v in original.items() if k in keep}
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in (_DIRECTIVE, _RETAIN_KEYS):
            continue
        if key.startswith(_ORDER_PREFIX):
            orders[key[len(_ORDER_PREFIX):]] = value or []
        elif key.startswith(_DELETE_PRIMITIVE_PREFIX):
            field = key[len(_DELETE_PRIMITIVE_PREFIX):]
            original[field] = [v for v in original.get(field) or [] if v not in (value or [])]
        else:
            _merge_field(original, key, value)
    for field, order in orders.items():
        if isinstance(original.get(field), list):
            original[field] = _apply_order(field, original[field], order)
    return original


def _merge_field(original: dict[str, Any], key: str, value: Any) -> None:
    current = original.get(key)
    if value is None:
        original.pop(key, None)
    elif isinstance(value, dict):
        if value.get(_DIRECTIVE) == "delete":
            original.pop(key, None)
        else:
            original[key] = _merge_map(current if isinstance(current, dict) else {}, value)
    elif isinstance(value, list):
        original[key] = _merge_list(key, current if isinstance(current, list) else [], value)
    else:
        original[key] = copy.deepcopy(value)


def _merge_list(field: str, original: list[Any], patch: list[Any]) -> list[Any]:
    if any(isinstance(item, dict) and item.get(_DIRECTIVE) == "replace" for item in patch):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and _DIRECTIVE in i)]
    if field in _MERGED_PRIMITIVE_LISTS:
        return original + [copy.deepcopy(v) for v in patch if v not in original]
    key = _merge_key(field, patch)
    if key is None or not all(isinstance(i, dict) for i in patch):
        return copy.deepcopy(patch)
    merged = list(original)
    for item in patch:
        if key not in item:
            raise PatchError(f"map: {item} does not contain declared merge key: {key}")
        index = next((i for i, o in enumerate(merged) if isinstance(o, dict) and o.get(key) == item[key]), None)
        if item.get(_DIRECTIVE) == "delete":
            if index is not None:
                merged.pop(index)
        elif index is None:
            merged.append(_merge_map({}, item))
        else:
            merged[index] = _merge_map(merged[index], item)
    return merged


def _apply_order(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    """`$setElementOrder`: items named in `order` come first, in that order; the rest keep theirs."""
    key = _merge_key(field, order)
    if key is None or not all(isinstance(o, dict) for o in order):
        ranks = {repr(v): i for i, v in enumerate(order)}
        return sorted(items, key=lambda v: ranks.get(repr(v), len(ranks)))
    ranks = {o.get(key): i for i, o in enumerate(order)}
    return sorted(items, key=lambda v: ranks.get(v.get(key) if isinstance(v, dict) else None, len(ranks)))


def merge_patch(original: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: maps merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(original: Any, patch: Any) -> Any:
    """RFC 6902 JSON patch (a list of operations)."""
    import jsonpatch
    import jsonpointer

    if not isinstance(patch, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    try:
        return jsonpatch.apply_patch(original, patch, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise PatchError(f"the server rejected our request due to an error in our request: {exc}", code=422) from exc
    except (TypeError, KeyError, IndexError) as exc:
        raise PatchError(f"invalid JSON patch: {exc}") from exc


def apply_patch(content_type: str, original: dict[str, Any], patch: Any) -> dict[str, Any]:
    """Apply a patch of the given Content-Type; PatchError for unsupported types or bad patches."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == STRATEGIC:
        result = strategic_merge(original, patch)
    elif media == MERGE:
        result = merge_patch(original, patch)
    elif media == JSON_PATCH:
        result = json_patch(original, patch)
    elif media == APPLY:
        result = strategic_merge(original, patch)
    else:
        raise PatchError(f"the body of the request was in an unknown format - accepted media types include: "
                         f"{JSON_PATCH}, {MERGE}, {STRATEGIC}, {APPLY}", code=415)
    if not isinstance(result, dict):
        raise PatchError("the patch must leave an object", code=422)
    return result
