"""magent.yaml errors as `file:line: key: what`: the YAML key → line lookup, and pydantic errors reworded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from magent.core.errors import ConfigError


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "a boolean", int: "a number", float: "a number",
            str: "text"}.get(type(value), type(value).__name__)


def _where(path: Path | None, node: yaml.Node | None, loc: list[str]) -> str:
    line = _line_of(node, loc)
    return f"{path}:{line}" if path and line else str(path or "environment")



def _config_error(exc: ValidationError, path: Path | None, node: yaml.Node | None, profile: str, *,
                  prefix: list[str] | None = None, other_than: str | None = None,
                  hint: str = "see README, 'Configuration', for the keys magent knows") -> ConfigError:
    """`file:line: key: what`. For a profile other than the one in use (`other_than`), the key says which."""
    first = exc.errors()[0]
    loc = [*(prefix or []), *(str(part) for part in first["loc"])]
    dotted = ".".join(loc)
    in_profile = _line_of(node, ["profiles", profile, *loc], exact=True)
    line = in_profile or _line_of(node, loc) or _line_of(node, ["profiles", profile, *loc])
    where = f"{path}:{line}" if path and line else str(path or "environment")
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    if other_than is not None:
        dotted = f"profiles.{profile}.{dotted}" if in_profile else f"{dotted} (with profile {profile!r})"
        hint = f"every profile is checked, not only {other_than!r}; {hint}"
    return ConfigError(f"{where}: {dotted}: {message}", hint=hint)


def _line_of(node: yaml.Node | None, loc: list[str], *, exact: bool = False) -> int | None:
    """1-based line of the YAML node at `loc`, or of the deepest parent found (None if `exact` and not all found)."""
    found = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                return None if exact else found
            key_node = next(k for k, v in node.value if v is match)
            found, node = key_node.start_mark.line + 1, match
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            found = node.start_mark.line + 1
        else:
            return None if exact else found
    return found
