"""Seeded values that satisfy a JSON schema: structured outputs (`json_schema`) and function-call arguments.

A small generator, not a full JSON Schema implementation: it reads `type` (or a list of types), `enum`,
`const`, `properties` / `required`, `items` / `prefixItems`, `minItems` / `maxItems`, string length bounds,
number bounds, `anyOf` / `oneOf` / `allOf` (the first branch, or the merged branches), and `$ref` to
`#/$defs/...` or `#/definitions/...`. Every property is filled, required or not, so the value is the same
whether or not the caller marks fields optional. Schemas it cannot read give a plain string.
"""

from __future__ import annotations

import math
import random
from typing import Any

from magent.sandbox.mistral.text import REPLY_WORDS

MAX_DEPTH = 12  # a self-referencing schema that cannot end (an object that requires itself) stops here
SHALLOW = 3  # below this depth arrays hold their fewest items
# a fixed, valid example of the string formats pydantic models produce
FORMATTED = {"date-time": "2026-01-15T09:30:00Z", "date": "2026-01-15", "time": "09:30:00", "email": "ada@example.com",
             "uuid": "6f1c2a9e-3b7d-4c1e-9a2f-0d8e5b4c3a21", "uri": "https://example.com/a"}
_EMPTY_AT_DEPTH: dict[str, Any] = {"object": {}, "array": [], "string": "", "number": 0, "integer": 0,
                                   "boolean": False, "null": None}


def sample(schema: Any, rng: random.Random) -> Any:
    """A JSON value valid against `schema` (for the parts of JSON Schema listed in the module doc)."""
    return _Sampler(schema, rng).value(schema, 0)


class _Sampler:
    def __init__(self, root: Any, rng: random.Random) -> None:
        self.root, self.rng = root, rng

    def value(self, schema: Any, depth: int) -> Any:
        schema = self._resolved(schema, depth)
        if not isinstance(schema, dict):
            return self.string({})
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.rng.choice(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                return self.value(_first_not_null(schema[key]), depth + 1)
        if isinstance(schema.get("allOf"), list):
            return self.value(_merged(schema), depth + 1)
        kind = _kind(schema)
        if depth >= MAX_DEPTH:
            return _EMPTY_AT_DEPTH.get(kind, "")
        return getattr(self, kind)(schema, depth) if kind in ("object", "array") else getattr(self, kind)(schema)

    def _resolved(self, schema: Any, depth: int) -> Any:
        seen = 0
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < MAX_DEPTH:
            target = _pointer(self.root, schema["$ref"])
            extra = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **extra} if isinstance(target, dict) else target
            seen += 1
        return schema

    def object(self, schema: dict, depth: int) -> dict[str, Any]:
        result = {name: self.value(sub, depth + 1) for name, sub in _mapping(schema.get("properties")).items()}
        for name in _strings(schema.get("required")):
            if name not in result:
                result[name] = self.string({})
        return result

    def array(self, schema: dict, depth: int) -> list[Any]:
        prefix: list[Any] = schema["prefixItems"] if isinstance(schema.get("prefixItems"), list) else []
        most = _int(schema.get("maxItems"), 1000)
        least = min(_int(schema.get("minItems"), 1 if depth < 2 else 0), most)
        extra = min(most, least + 2) if depth < SHALLOW else least  # recursive schemas end in empty arrays
        count = max(len(prefix), self.rng.randint(least, extra))
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        return [self.value(prefix[i] if i < len(prefix) else items, depth + 1) for i in range(count)]

    def string(self, schema: dict) -> str:
        if schema.get("format") in FORMATTED:
            return FORMATTED[schema["format"]]
        text = " ".join(self.rng.choices(REPLY_WORDS, k=self.rng.randint(1, 4)))
        low, high = _int(schema.get("minLength"), 0), _int(schema.get("maxLength"), 10**6)
        return text.ljust(low, "x")[: max(low, high)]

    def number(self, schema: dict) -> float:
        low, high = _bounds(schema, 0.0, 100.0)
        value = self.rng.uniform(low, high)
        rounded = round(value, 2)
        return rounded if low <= rounded <= high else value

    def integer(self, schema: dict) -> int:
        low, high = _bounds(schema, 0, 100)
        whole_low, whole_high = math.ceil(low), math.floor(high)
        return self.rng.randint(whole_low, whole_high) if whole_low <= whole_high else whole_low

    def boolean(self, schema: dict) -> bool:
        return self.rng.random() < 0.5

    def null(self, schema: dict) -> None:
        return None


def _kind(schema: dict) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if isinstance(kind, str) and kind in _EMPTY_AT_DEPTH:
        return kind
    if "properties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _first_not_null(branches: list) -> Any:
    return next((b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")), branches[0])


def _merged(schema: dict) -> dict:
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"] if isinstance(schema["allOf"], list) else []:
        if isinstance(part, dict):
            merged = {**part, **merged, "properties": {**_mapping(part.get("properties")),
                                                       **_mapping(merged.get("properties"))},
                      "required": [*_strings(part.get("required")), *_strings(merged.get("required"))]}
    return merged


def _mapping(value: Any) -> dict:
    """A schema keyword that should be an object, as one (a malformed schema's `null` or list: empty)."""
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _pointer(root: Any, ref: str) -> Any:
    """The schema a local `$ref` ("#/$defs/Name") points to; {} for anything else."""
    if not ref.startswith("#"):
        return {}
    node = root
    for part in ref[1:].split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return {}
        node = node[part]
    return node


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1000 else default


def _bounds(schema: dict, low: float, high: float) -> tuple[float, float]:
    def number(key: str) -> float | None:
        value = schema.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 1e15:
            return float(value)
        return None

    minimum, maximum = number("minimum"), number("maximum")
    above, below = number("exclusiveMinimum"), number("exclusiveMaximum")
    if minimum is None and maximum is None and above is None and below is None:
        return low, high
    lowest = max(x for x in (minimum, above, -1e15) if x is not None)
    highest = min(x for x in (maximum, below, 1e15) if x is not None)
    if maximum is None and below is None:
        highest = lowest + 100
    elif minimum is None and above is None:
        lowest = highest - 100
    margin = min(0.5, (highest - lowest) / 4) if highest > lowest else 0.0
    # strictly inside an exclusive bound
    return lowest + (margin if above is not None and above >= lowest else 0.0), \
        highest - (margin if below is not None and below <= highest else 0.0)
