"""Model settings in an application's configuration: pure parsing, no I/O.

Given a file's text and kind (`yaml`, `json`, `env`, `py`), find every *model settings block* — a YAML/JSON
mapping with a `model` key, a group of `*_MODEL` / `*_MAX_TOKENS` / `*_TEMPERATURE` variables in a .env
file, a Python call with a `model=` keyword or a dict literal with a "model" key — and report:

- settings a block leaves unset (by default `max_tokens` and `temperature`, which bound cost and make
  answers reproducible); a block may inherit them from an enclosing scope (YAML/JSON ancestors and their
  `defaults:`-like sibling mappings; unprefixed or `MISTRAL_` variables in .env);
- `-latest` model aliases (they change under a release), unless listed as intentional or marked on their
  line (or the comment line above) with `# magent:intentional-alias`.

Embedding, moderation and OCR models take no sampling settings: only their alias is checked.
`analyse` never raises on any text: a file that does not parse is one `parse-error` issue with its line.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from magent.core.pyast import attribute_chain

DEFAULT_REQUIRED = ("max_tokens", "temperature")
MARKER = "magent:intentional-alias"
_NON_GENERATIVE = ("embed", "moderation", "ocr")
# Mistral SDK calls that take `model=` and generate text (a `model=` in other calls needs a literal name).
_GENERATING_METHODS = {"complete", "complete_async", "stream", "stream_async", "create", "create_async",
                       "parse", "parse_async", "start", "start_async", "update", "update_async"}
_NOT_GENERATING = {"embeddings", "classifiers", "ocr", "moderation", "files", "jobs", "fine_tuning", "batch",
                   "audio", "transcriptions", "libraries", "documents"}


@dataclass(frozen=True)
class ModelIssue:
    rule: str  # missing-setting | latest-alias | parse-error
    message: str
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based


@dataclass
class ModelConfigReport:
    blocks: int = 0  # model settings blocks found
    issues: list[ModelIssue] = field(default_factory=list)


def kind_of(filename: str) -> str | None:
    """`yaml`, `json`, `env` or `py` from a file name (`.env`, `prod.env`, `.env.production` are env)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    if name.endswith(".json"):
        return "json"
    if name.endswith(".py"):
        return "py"
    if name == ".env" or name.endswith(".env") or name.startswith(".env."):
        return "env"
    return None


def analyse(text: str, kind: str, *, require: Iterable[str] = DEFAULT_REQUIRED,
            intentional: Iterable[str] = ()) -> ModelConfigReport:
    rules = _Rules(tuple(require), frozenset(intentional), text.splitlines())
    parse = {"yaml": _yaml_blocks, "json": _json_blocks, "env": _env_blocks, "py": _py_blocks}[kind]
    report = ModelConfigReport()
    try:
        blocks = list(parse(text))
    except _ParseError as exc:
        report.issues.append(ModelIssue("parse-error", exc.message, exc.line, exc.column))
        return report
    for block in blocks:
        report.blocks += 1
        report.issues.extend(rules.judge(block))
    report.issues.sort(key=lambda issue: (issue.line or 0, issue.column or 0))
    return report


@dataclass(frozen=True)
class _Block:
    model: str | None  # None when the name is not a literal (a variable)
    line: int | None
    column: int | None
    present: frozenset[str]  # settings set in the block or a scope it inherits from
    unknown: bool = False  # `**kwargs` could carry anything: do not claim a setting is missing
    label: str | None = None  # how to name a block whose model is not a literal (`model=MODEL`)


class _ParseError(Exception):
    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@dataclass(frozen=True)
class _Rules:
    require: tuple[str, ...]
    intentional: frozenset[str]
    lines: list[str]

    def judge(self, block: _Block) -> Iterator[ModelIssue]:
        name = block.model
        generative = name is None or not any(word in name.lower() for word in _NON_GENERATIVE)
        missing = [s for s in self.require if s not in block.present]
        if generative and missing and not block.unknown:
            what = f"model {name!r}" if name else (block.label or "model settings")
            yield ModelIssue("missing-setting", f"{what} without {', '.join(missing)}: set "
                             f"{' and '.join(missing)} where the model is configured", block.line, block.column)
        if name and name.endswith("-latest") and not self._intentional(name, block.line):
            yield ModelIssue("latest-alias", f"{name!r} is a -latest alias that moves under you: pin a dated "
                             f"version, or mark it `# {MARKER}` (or list it in mistral.intentional_aliases)",
                             block.line, block.column)

    def _intentional(self, name: str, line: int | None) -> bool:
        if name in self.intentional:
            return True
        if line is None or not 0 < line <= len(self.lines):
            return False
        here = self.lines[line - 1]
        above = self.lines[line - 2].strip() if line >= 2 else ""
        return _marked(here) or (above.startswith("#") and MARKER in above)


def _marked(line: str) -> bool:
    return "#" in line and MARKER in line[line.index("#"):]


# --- YAML and JSON: one tree of mappings with positions ---------------------------------------------------

@dataclass
class _Map:
    entries: dict[str, tuple[Any, int | None, int | None]]  # key -> (value, line, column)


def _yaml_blocks(text: str) -> Iterator[_Block]:
    try:
        roots = [_from_node(node) for node in yaml.compose_all(text, Loader=yaml.SafeLoader) if node is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _ParseError(f"cannot parse YAML: {problem}", mark.line + 1 if mark else None,
                          mark.column + 1 if mark else None) from None
    except RecursionError:
        raise _ParseError("cannot parse YAML: nested too deeply") from None
    for root in roots:
        yield from _tree_blocks(root, [])


def _json_blocks(text: str) -> Iterator[_Block]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _ParseError(f"cannot parse JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except (RecursionError, ValueError) as exc:
        raise _ParseError(f"cannot parse JSON: {exc}") from None
    try:  # JSON is YAML: composing it again gives each key its line
        roots = [_from_node(node) for node in yaml.compose_all(text, Loader=yaml.SafeLoader) if node is not None]
    except (yaml.YAMLError, RecursionError):
        roots = [_from_python(data)]
    for root in roots:
        yield from _tree_blocks(root, [])


_NULL = object()


def _from_node(node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        entries = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                entries[key.value] = (_from_node(value), value.start_mark.line + 1, value.start_mark.column + 1)
        return _Map(entries)
    if isinstance(node, yaml.SequenceNode):
        return [_from_node(child) for child in node.value]
    if node.tag.endswith(":null"):
        return _NULL
    return node.value if node.tag.endswith(":str") else ("scalar", node.value)


def _from_python(data: Any) -> Any:
    if isinstance(data, dict):
        return _Map({str(k): (_from_python(v), None, None) for k, v in data.items()})
    if isinstance(data, list):
        return [_from_python(v) for v in data]
    return _NULL if data is None else data if isinstance(data, str) else ("scalar", data)


def _set_keys(tree: _Map) -> set[str]:
    return {key for key, (value, _, _) in tree.entries.items() if value is not _NULL}


def _nested_keys(tree: _Map) -> set[str]:
    """Keys set in the mapping and in the mappings below it (`completion_args:`, `parameters:`)."""
    keys = _set_keys(tree)
    for value, _, _ in tree.entries.values():
        if isinstance(value, _Map) and "model" not in value.entries:
            keys |= _nested_keys(value)
    return keys


def _scope_keys(ancestor: _Map) -> set[str]:
    """What an enclosing mapping lends its blocks: its keys and those of sibling mappings like `defaults:`."""
    keys = _set_keys(ancestor)
    for value, _, _ in ancestor.entries.values():
        if isinstance(value, _Map) and "model" not in value.entries:
            keys |= _set_keys(value)
    return keys


def _tree_blocks(tree: Any, ancestors: list[_Map]) -> Iterator[_Block]:
    if isinstance(tree, list):
        for child in tree:
            yield from _tree_blocks(child, ancestors)
        return
    if not isinstance(tree, _Map):
        return
    model = tree.entries.get("model")
    if model is not None and isinstance(model[0], str):
        present = _nested_keys(tree)
        for ancestor in ancestors:
            present |= _scope_keys(ancestor)
        yield _Block(model[0], model[1], model[2], frozenset(present))
    for value, _, _ in tree.entries.values():
        yield from _tree_blocks(value, [*ancestors, tree])


# --- .env ---------------------------------------------------------------------------------------------------

_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


def _env_value(raw: str) -> str:
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        end = raw.find(raw[0], 1)
        return raw[1:end] if end > 0 else raw[1:]
    return re.split(r"\s+#", raw, maxsplit=1)[0].strip()


def _env_blocks(text: str) -> Iterator[_Block]:
    variables: dict[str, tuple[str, int, int]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = _ENV_LINE.match(line)
        if match:
            variables[match.group(1).upper()] = (_env_value(match.group(2)), number, match.start(1) + 1)
    models = [name for name in variables if name == "MODEL" or name.endswith("_MODEL")]
    for name in models:
        prefix = name[: -len("MODEL")]
        value, line, column = variables[name]

        def has(setting: str, prefix: str = prefix) -> bool:
            wanted = setting.upper()
            scoped = (f"{prefix}{wanted}", wanted, f"MISTRAL_{wanted}")
            alone = len(models) == 1 and any(v.endswith(f"_{wanted}") and variables[v][0] for v in variables)
            return any(v in variables and variables[v][0] != "" for v in scoped) or alone

        present = frozenset(s for s in (*DEFAULT_REQUIRED, *_all_settings(variables)) if has(s))
        yield _Block(value or None, line, column, present)


def _all_settings(variables: dict[str, Any]) -> set[str]:
    """Every lower-case suffix a variable could provide (so custom `require:` names work in .env too)."""
    names = set()
    for name in variables:
        parts = name.lower().split("_")
        names.update("_".join(parts[i:]) for i in range(len(parts)))
    return names


# --- Python ---------------------------------------------------------------------------------------------------

def _py_blocks(text: str) -> Iterator[_Block]:
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise _ParseError(f"cannot parse Python: {exc.msg}", exc.lineno, exc.offset) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        raise _ParseError(f"cannot parse Python: {type(exc).__name__}") from None
    try:
        nodes = list(ast.walk(tree))
    except RecursionError:
        raise _ParseError("cannot parse Python: nested too deeply") from None
    for node in nodes:
        if isinstance(node, ast.Call):
            block = _call_block(node)
        elif isinstance(node, ast.Dict):
            block = _dict_block(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            block = _constant_block(node)
        else:
            block = None
        if block is not None:
            yield block


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _settings_in(node: ast.AST) -> tuple[set[str], bool]:
    """Settings a `completion_args=` value holds (a dict or `CompletionArgs(...)`); True when unknowable."""
    if isinstance(node, ast.Dict):
        keys = {_literal(key) for key in node.keys if key is not None}
        return {k for k in keys if k}, None in node.keys
    if isinstance(node, ast.Call):
        return {kw.arg for kw in node.keywords if kw.arg}, any(kw.arg is None for kw in node.keywords)
    return set(), True  # a variable: we cannot see what it holds


def _call_block(node: ast.Call) -> _Block | None:
    keywords = {kw.arg: kw.value for kw in node.keywords if kw.arg}
    if "model" not in keywords:
        return None
    chain = attribute_chain(node.func)
    name = _literal(keywords["model"])
    generating = bool(chain) and chain[-1] in _GENERATING_METHODS and not _NOT_GENERATING & set(chain)
    if name is None and not generating:
        return None  # `model=` of something that is not a Mistral call (an ORM, a form)
    present, unknown = set(keywords), any(kw.arg is None for kw in node.keywords)
    for holder in ("completion_args", "parameters"):
        if holder in keywords:
            inner, opaque = _settings_in(keywords[holder])
            present |= inner
            unknown |= opaque
    label = f"`model={'.'.join(attribute_chain(keywords['model']))[:60] or '…'}`"  # not ast.unparse: it recurses
    return _Block(name, keywords["model"].lineno, keywords["model"].col_offset + 1, frozenset(present), unknown,
                  label)


def _dict_block(node: ast.Dict) -> _Block | None:
    entries = {_literal(key): value for key, value in zip(node.keys, node.values, strict=False)
               if key is not None}
    if "model" not in entries or _literal(entries["model"]) is None:
        return None
    present = {key for key in entries if key}
    unknown = None in node.keys
    if "completion_args" in entries:
        inner, opaque = _settings_in(entries["completion_args"])
        present |= inner
        unknown |= opaque
    value = entries["model"]
    return _Block(_literal(value), value.lineno, value.col_offset + 1, frozenset(present), unknown)


def _constant_block(node: ast.Assign | ast.AnnAssign) -> _Block | None:
    """`MODEL = "mistral-large-latest"`: only its alias is judged (settings live elsewhere)."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    name = _literal(node.value)
    if name is None or not name.endswith("-latest"):
        return None
    if not any(isinstance(t, ast.Name) and "model" in t.id.lower() for t in targets):
        return None
    return _Block(name, node.value.lineno, node.value.col_offset + 1, frozenset(DEFAULT_REQUIRED), unknown=True)
