"""Request-body checks the real API makes before answering: 422 in the spec's HTTPValidationError shape.

The bounds and field names are those of `ChatCompletionRequest` in the public OpenAPI document
(additionalProperties: false); messages are a union discriminated by `role`.
"""

from __future__ import annotations

from typing import Any

from magent.sandbox.mistral import errors

CHAT_FIELDS = frozenset({
    "model", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed", "metadata", "messages",
    "response_format", "tools", "tool_choice", "presence_penalty", "frequency_penalty", "n", "prediction",
    "parallel_tool_calls", "reasoning_effort", "prompt_mode", "guardrails", "prompt_cache_key", "service_tier",
    "safe_prompt",
})
ROLES = ("assistant", "system", "tool", "user")
# The spec sets no upper bound on `n`; the simulator's own, so that one request cannot hold it for minutes.
MAX_CHOICES = 64
# field: (lowest, lowest is allowed, highest); None where the spec sets no bound
NUMBER_BOUNDS: dict[str, tuple[float, bool, float | None]] = {
    "temperature": (0, True, 1.5),
    "top_p": (0, False, 1),
    "n": (1, True, MAX_CHOICES),
}
RESPONSE_FORMATS = ("text", "json_object", "json_schema")
JSON_SCHEMA_FIELDS: dict[str, type | tuple[type, ...]] = {
    "name": str, "description": (str, type(None)), "schema": dict, "strict": bool,
}


def check_chat_request(body: dict[str, Any]) -> None:
    """Raise the API's 422 for the first unknown field, out-of-range number or unknown message role."""
    for name in body:
        if name not in CHAT_FIELDS:
            raise errors.validation_error(["body", name], "Extra inputs are not permitted", "extra_forbidden",
                                          body[name])
    for name, bounds in NUMBER_BOUNDS.items():
        _check_number(name, body.get(name), *bounds)
    if body.get("response_format") is not None:
        _check_response_format(body["response_format"])
    for index, message in enumerate(body.get("messages") or []):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ROLES:
            expected = ", ".join(f"'{r}'" for r in ROLES)
            raise errors.validation_error(
                ["body", "messages", index],
                f"Input tag '{role}' found using 'role' does not match any of the expected tags: {expected}",
                "union_tag_invalid", message)


def _check_number(name: str, value: Any, low: float, low_allowed: bool, high: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (name == "n" and not isinstance(value, int)):
        kind = "int_type" if name == "n" else "float_type"
        raise errors.validation_error(["body", name], f"Input should be a valid {kind[:-5]}", kind, value)
    if low_allowed and value < low:
        raise errors.validation_error(["body", name], f"Input should be greater than or equal to {low}",
                                      "greater_than_equal", value)
    if not low_allowed and value <= low:
        raise errors.validation_error(["body", name], f"Input should be greater than {low}", "greater_than", value)
    if high is not None and value > high:
        raise errors.validation_error(["body", name], f"Input should be less than or equal to {high}",
                                      "less_than_equal", value)


def _check_response_format(value: Any) -> None:
    """`ResponseFormat` and `JsonSchema` of the spec: both closed, `json_schema` needs `name` and `schema`."""
    where: list[str | int] = ["body", "response_format"]
    if not isinstance(value, dict):
        raise errors.validation_error(where, "Input should be a valid dictionary", "model_attributes_type", value)
    _closed(where, value, {"type", "json_schema"})
    kind = value.get("type", "text")
    if kind not in RESPONSE_FORMATS:
        expected = ", ".join(f"'{k}'" for k in RESPONSE_FORMATS)
        raise errors.validation_error([*where, "type"], f"Input should be {expected}", "enum", kind)
    schema = value.get("json_schema")
    if kind != "json_schema" and schema is None:
        return
    where = [*where, "json_schema"]
    if schema is None:
        raise errors.validation_error(where, "Field required", "missing")
    if not isinstance(schema, dict):
        raise errors.validation_error(where, "Input should be a valid dictionary", "model_attributes_type", schema)
    _closed(where, schema, set(JSON_SCHEMA_FIELDS))
    for name, kind_of in JSON_SCHEMA_FIELDS.items():
        if name in ("name", "schema") and name not in schema:
            raise errors.validation_error([*where, name], "Field required", "missing")
        if name in schema and not isinstance(schema[name], kind_of):
            raise errors.validation_error([*where, name], f"Input has the wrong type for {name}", "type_error",
                                          schema[name])


def _closed(where: list[str | int], value: dict, allowed: set[str]) -> None:
    for name in value:
        if name not in allowed:
            raise errors.validation_error([*where, name], "Extra inputs are not permitted", "extra_forbidden",
                                          value[name])
