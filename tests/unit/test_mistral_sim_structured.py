"""The simulator's schema-driven values (structured outputs, function arguments): fuzzed with hypothesis.

Any JSON a client sends as a schema must give a JSON value and never an exception; a satisfiable schema made of
the parts the generator reads must give a value that validates against it."""

from __future__ import annotations

import json
import random

import jsonschema
from hypothesis import example, given, settings
from hypothesis import strategies as st

from magent.sandbox.mistral.structured import sample

JSON_SCALARS = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False,
                                                                                   width=32) | st.text(max_size=8)
ANY_JSON = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.sampled_from(["type", "properties", "items", "required", "enum", "$ref",
                                                           "anyOf", "allOf", "minItems", "maximum", "$defs", "x"])
                                          | st.text(max_size=5), inner, max_size=5), max_leaves=30)


@st.composite
def bounded_number(draw: st.DrawFn, kind: str) -> dict:
    low = draw(st.integers(-1000, 1000))
    high = low + draw(st.integers(2, 1000))
    schema: dict = {"type": kind}
    schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = high
    return schema


@st.composite
def bounded_string(draw: st.DrawFn) -> dict:
    low = draw(st.integers(0, 30))
    return {"type": "string", "minLength": low, "maxLength": low + draw(st.integers(0, 30))}


LEAVES = st.one_of(
    st.just({"type": "string"}), bounded_string(), st.just({"type": "boolean"}), st.just({"type": "null"}),
    bounded_number("number"), bounded_number("integer"), st.just({"type": "integer"}), st.just({}),
    st.builds(lambda values: {"enum": values}, st.lists(JSON_SCALARS, min_size=1, max_size=4)),
    st.builds(lambda value: {"const": value}, JSON_SCALARS),
    st.sampled_from(["date-time", "date", "email", "uuid"]).map(lambda f: {"type": "string", "format": f}),
)


@st.composite
def object_of(draw: st.DrawFn, inner: st.SearchStrategy) -> dict:
    properties = draw(st.dictionaries(st.text(min_size=1, max_size=6), inner, max_size=4))
    required = draw(st.lists(st.sampled_from(sorted(properties)), unique=True)) if properties else []
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": draw(st.booleans())}


@st.composite
def array_of(draw: st.DrawFn, inner: st.SearchStrategy) -> dict:
    low = draw(st.integers(0, 3))
    return {"type": "array", "items": draw(inner), "minItems": low, "maxItems": low + draw(st.integers(0, 3))}


NULLABLE = LEAVES.filter(lambda s: s.get("type") not in (None, "null")).map(lambda s: {**s, "type": [s["type"], "null"]})
SCHEMAS = st.recursive(LEAVES | NULLABLE, lambda inner: object_of(inner) | array_of(inner)
                       | st.builds(lambda branches: {"anyOf": branches}, st.lists(inner, min_size=1, max_size=3)),
                       max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(schema=SCHEMAS, seed=st.integers(0, 2**32))
def test_a_satisfiable_schema_gives_a_value_that_validates(schema, seed):
    value = sample(schema, random.Random(seed))
    jsonschema.validate(value, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@settings(max_examples=200, deadline=None)
@given(schema=ANY_JSON, seed=st.integers(0, 2**32))
@example(schema={"allOf": [{"properties": None}]}, seed=0)  # found by a CI run: `null` where an object belongs
@example(schema={"allOf": {"required": 3}, "required": "x"}, seed=0)
@example(schema={"properties": None, "required": True}, seed=0)  # found by the next CI run
def test_any_json_as_a_schema_gives_json_and_never_raises(schema, seed):
    json.dumps(sample(schema, random.Random(seed)))


def test_references_to_defs_and_recursive_schemas():
    tree = {"$defs": {"Node": {"type": "object", "required": ["name", "children"], "additionalProperties": False,
                               "properties": {"name": {"type": "string"},
                                              "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}},
            "$ref": "#/$defs/Node"}
    for seed in range(20):
        jsonschema.validate(sample(tree, random.Random(seed)), tree)
    looping = {"$defs": {"A": {"$ref": "#/$defs/A"}}, "$ref": "#/$defs/A"}
    assert isinstance(sample(looping, random.Random(0)), str)
