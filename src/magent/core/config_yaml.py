"""magent.yaml bytes → (document, node graph), or one ConfigError naming file and line. No other exception escapes.

PyYAML's SafeLoader turns some well-formed YAML into Python exceptions that are not YAML errors: an invalid date
(`2026-02-30`) or an integer past Python's 4,300-digit limit is a ValueError, `!!bool maybe` a KeyError, and
nesting a few hundred levels deep (or a recursive alias, `&a [*a]`) a RecursionError. This loader keeps dates as
the text written (no setting takes a date; `namespace: 2026-01-01` is a name), refuses `!!binary`, and bounds depth
and alias expansion before anything recursive runs.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError

from magent.core.errors import ConfigError

# Deeper than any setting (deploy.analysis.prometheus.queries.0.max is 6); far below the recursion limit.
MAX_DEPTH = 64
# Values reachable through aliases: a few recursive or nested `*refs` must not expand into millions.
MAX_VALUES = 100_000


class _Loader(yaml.SafeLoader):
    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            raise ConstructorError(None, None, _unreadable(node, exc), node.start_mark) from None


def _text_as_written(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return loader.construct_scalar(node)


def _no_binary(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    raise ConstructorError(None, None, "binary values (!!binary) are not accepted: write text", node.start_mark)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _text_as_written)
_Loader.add_constructor("tag:yaml.org,2002:binary", _no_binary)


def _unreadable(node: yaml.Node, exc: Exception) -> str:
    kind = node.tag.rsplit(":", 1)[-1]
    if not isinstance(node, yaml.ScalarNode):
        return f"cannot read this {kind}"
    digits = sum(char.isdigit() for char in node.value)
    if kind == "int" and digits > 4000:
        return f"integer too large ({digits} digits)"
    shown = node.value if len(node.value) <= 40 else node.value[:40] + "…"
    return f"not a valid {kind}: {shown!r}"


def parse_config_yaml(data: bytes, where: str) -> tuple[Any, yaml.Node | None]:
    """The document and its node graph (for line numbers); `where` is the file name used in errors."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{where}:{line}: the file is not UTF-8 text (byte 0x{data[exc.start]:02x})",
                          hint="save magent.yaml as UTF-8") from None
    try:
        _check_nesting(text, where)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return {}, None
            _check_expansion(node, where)
            return loader.construct_document(node), node
        finally:
            loader.dispose()
    except ConstructorError as exc:  # well-formed YAML holding a value no setting can take
        raise ConfigError(f"{where}:{_line(exc, text)}: {_problem(exc)}", hint="see README, 'Configuration'") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}:{_line(exc, text)}: the file is not valid YAML: {_problem(exc)}") from None


def _check_nesting(text: str, where: str) -> None:
    """Count depth on the event stream, which PyYAML produces without recursion (its composer recurses)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigError(f"{where}:{event.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep",
                                  hint="magent.yaml settings are a few levels deep; check the brackets")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _check_expansion(root: yaml.Node, where: str) -> None:
    """Walk the node graph as the constructed document would be walked: aliases expanded, depth and size bounded."""
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if depth > MAX_DEPTH or seen > MAX_VALUES:
            raise ConfigError(f"{where}:{node.start_mark.line + 1}: aliases expand too deep or too large "
                              f"(recursive alias?)", hint="use anchors and aliases (&name, *name) without recursion")
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend(((key, depth + 1), (value, depth + 1)))


def _line(exc: yaml.YAMLError, text: str) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return mark.line + 1
    position = getattr(exc, "position", None)  # ReaderError: a character YAML does not allow
    return text[: position or 0].count("\n") + 1


def _problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.reader.ReaderError):
        code = ord(exc.character) if isinstance(exc.character, str) else int(exc.character)
        return f"character U+{code:04X} is not allowed in YAML (control characters must be escaped in quotes)"
    return str(getattr(exc, "problem", None) or exc)
