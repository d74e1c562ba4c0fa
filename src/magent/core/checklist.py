"""Checklists are data: sections of items, each proved by a registered check type (or attested by a person).

    # checklists/production.yaml
    name: production
    description: Release readiness of a Mistral application in production
    sections:
      - id: secrets
        title: Secrets and configuration
        items:
          - id: mistral.key-valid               # stable: CI scripts, baselines and attestations name it
            title: The production key is valid and paid
            severity: critical                  # critical | warning | info
            check: mistral.key-valid            # a registered check type, or `manual`
            params: {}                          # the check type's parameters (validated by the check)
            remediation: Put a valid key in the vault and run `magent key verify`.
            runbook: key-rotation               # runbooks/key-rotation.md

A team file may start from a shipped checklist and change it without copying it (`extends`):

    extends: production
    exclude: [k8s.pdb]                          # drop items
    severity: {code.resilience: critical}       # re-weight items
    sections: [...]                             # add sections or items (an existing section id adds items to it)

Modelled on Polaris' checks-as-data (id, severity, category, a schema per check). Loading validates the
file with pydantic and reports the first problem as `FILE:LINE: item ID: what is wrong` (exit 2).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from magent.core.errors import ConfigError
from magent.core.paths import expand_user, is_file

Severity = Literal["critical", "warning", "info"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}
MANUAL = "manual"
_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
_HINT = "see README, 'Checklists', for the format; `magent preflight checks` lists the check types"


class _Strict(BaseModel):
    # allow_inf_nan=False: `.nan` / `.inf` in YAML are floats to pydantic, and pass every gt/ge/lt bound.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ChecklistItem(_Strict):
    id: str = Field(pattern=_ID_PATTERN)
    title: str = Field(min_length=1)
    severity: Severity
    check: str = Field(min_length=1, description="a registered check type, or `manual`")
    params: dict[str, Any] = Field(default_factory=dict)
    remediation: str = Field(min_length=1)
    runbook: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    timeout: float | None = Field(default=None, gt=0, description="seconds; overrides --timeout for this item")

    @property
    def manual(self) -> bool:
        return self.check == MANUAL

    def definition_hash(self) -> str:
        """What an attestation is bound to: the item's definition (not its section or position)."""
        return _hash(self.model_dump(mode="json"))


class ChecklistSection(_Strict):
    id: str = Field(pattern=_ID_PATTERN)
    title: str = Field(min_length=1)
    items: list[ChecklistItem] = Field(default_factory=list)


class ChecklistFile(_Strict):
    name: str | None = None
    description: str = ""
    extends: str | None = None
    exclude: list[str] = Field(default_factory=list)
    severity: dict[str, Severity] = Field(default_factory=dict)
    sections: list[ChecklistSection] = Field(default_factory=list)


@dataclass(frozen=True)
class PlacedItem:
    """An item with the section it sits in."""

    item: ChecklistItem
    section: ChecklistSection


@dataclass(frozen=True)
class Checklist:
    name: str
    description: str
    source: str  # the file it was read from, or `builtin:production`
    sections: tuple[ChecklistSection, ...]
    sha256: str  # of the resolved checklist: what a report and an attestation record

    @property
    def items(self) -> list[PlacedItem]:
        return [PlacedItem(item, section) for section in self.sections for item in section.items]

    def find(self, item_id: str) -> PlacedItem | None:
        return next((placed for placed in self.items if placed.item.id == item_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "sha256": self.sha256,
                "description": self.description, "items": len(self.items)}


BUILTIN_DIR = Path(__file__).resolve().parent.parent / "data" / "checklists"


def builtin_names() -> list[str]:
    return sorted(path.stem for path in BUILTIN_DIR.glob("*.yaml"))


def resolve_checklist_path(spec: str, relative_to: Path | None = None) -> Path:
    """`production` / `staging` name a shipped checklist; anything else is a file path (relative to the
    extending file's folder for `extends:`)."""
    if spec in builtin_names():
        return BUILTIN_DIR / f"{spec}.yaml"
    path = expand_user(spec)
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    if not is_file(path):
        raise ConfigError(f"checklist {spec[:80]} not found",
                          hint=f"pass a YAML file or one of the shipped checklists: {', '.join(builtin_names())}")
    return path


def load_checklist(
    spec: str,
    *,
    validate_check: Callable[[ChecklistItem], str | None] | None = None,
    _seen: tuple[Path, ...] = (),
) -> Checklist:
    """Read, validate and resolve a checklist. `validate_check(item)` returns a problem with the item's check
    type or parameters (unknown type, bad params), or None; problems are ConfigErrors naming file:line."""
    path = resolve_checklist_path(spec, _seen[-1].parent if _seen else None)
    if path.resolve() in _seen:
        raise ConfigError(f"{path}: 'extends' loops back to itself", hint=_HINT)
    document, node = _read(path)
    try:
        parsed = ChecklistFile.model_validate(document)
    except ValidationError as exc:
        raise _validation_error(exc, path, node, document) from None
    base = load_checklist(parsed.extends, validate_check=validate_check, _seen=(*_seen, path.resolve())) \
        if parsed.extends else None
    sections = _merge(base, parsed, path, node)
    _check_items(sections, path, node, validate_check)
    name = parsed.name or (base.name if base else path.stem)
    resolved = [section.model_dump(mode="json") for section in sections]
    source = f"builtin:{path.stem}" if path.parent == BUILTIN_DIR else str(path)
    return Checklist(name, parsed.description or (base.description if base else ""), source, tuple(sections),
                     _hash(resolved))


def _read(path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{where}: not valid YAML: {problem}", hint=_HINT) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read checklist {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: a checklist is a mapping with 'sections'", hint=_HINT)
    return document, node


def _merge(base: Checklist | None, parsed: ChecklistFile, path: Path, node: yaml.Node | None) -> list[ChecklistSection]:
    sections = [section.model_copy(deep=True) for section in (base.sections if base else ())]
    for added in parsed.sections:
        existing = next((section for section in sections if section.id == added.id), None)
        if existing is None:
            sections.append(added)
        else:
            existing.items.extend(added.items)
    known = {item.id for section in sections for item in section.items}
    for index, item_id in enumerate(parsed.exclude):
        if item_id not in known:
            raise ConfigError(f"{path}:{_line(node, ['exclude', index]) or 1}: exclude: no item {item_id!r}",
                              hint=_HINT)
    for item_id in parsed.severity:
        if item_id not in known:
            raise ConfigError(f"{path}:{_line(node, ['severity', item_id]) or 1}: severity: no item {item_id!r}",
                              hint=_HINT)
    for section in sections:
        section.items = [item.model_copy(update={"severity": parsed.severity.get(item.id, item.severity)})
                         for item in section.items if item.id not in parsed.exclude]
    sections = [section for section in sections if section.items]
    if not sections:
        raise ConfigError(f"{path}: the checklist has no items", hint=_HINT)
    return sections


def _check_items(sections: list[ChecklistSection], path: Path, node: yaml.Node | None,
                 validate_check: Callable[[ChecklistItem], str | None] | None) -> None:
    seen: dict[str, int] = {}
    for section in sections:
        for item in section.items:
            where = f"{path}:{_item_line(node, item.id, seen.get(item.id, 0)) or 1}"
            if item.id in seen:
                raise ConfigError(f"{where}: item {item.id}: duplicate id (ids must be unique)", hint=_HINT)
            seen[item.id] = seen.get(item.id, 0) + 1
            problem = validate_check(item) if validate_check and not item.manual else None
            if problem:
                raise ConfigError(f"{where}: item {item.id}: {problem}", hint=_HINT)


def _validation_error(exc: ValidationError, path: Path, node: yaml.Node | None, document: Any) -> ConfigError:
    first = exc.errors()[0]
    loc = [str(part) for part in first["loc"]]
    line = _line(node, loc)
    item = _item_at(document, loc)
    label = f"item {item}: " if item else ""
    field = loc[-1] if loc else ""
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        message = f"missing field '{field}'"
    elif first["type"] == "extra_forbidden":
        message = f"unknown field '{field}'"
    elif first["type"] == "literal_error" and "severity" in loc:
        message = f"severity must be critical, warning or info (got {first.get('input')!r})"
    else:
        message = f"{field}: {message}" if field else message
    return ConfigError(f"{path}:{line or 1}: {label}{message}", hint=_HINT)


def _item_at(document: Any, loc: list[str]) -> str | None:
    """The id (or position) of the item a validation error sits in."""
    if len(loc) >= 4 and loc[0] == "sections" and loc[2] == "items":
        try:
            item = document["sections"][int(loc[1])]["items"][int(loc[3])]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
        return str(item.get("id")) if isinstance(item, dict) and item.get("id") else f"#{int(loc[3]) + 1}"
    return None


def _item_line(node: yaml.Node | None, item_id: str, occurrence: int = 0) -> int | None:
    """Line of the `occurrence`-th `id: ITEM` in the file (0: the first), or None."""
    lines = sorted(_id_lines(node, item_id)) if node is not None else []
    if not lines:
        return None
    return lines[min(occurrence, len(lines) - 1)]


def _id_lines(node: yaml.Node, item_id: str) -> list[int]:
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                if getattr(key, "value", None) == "id" and getattr(value, "value", None) == item_id:
                    found.append(key.start_mark.line + 1)
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return found


def _line(node: yaml.Node | None, loc: list[Any]) -> int | None:
    found = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if pair is None:
                return found
            found, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and str(part).isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            found = node.start_mark.line + 1
        else:
            return found
    return found


def _hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
