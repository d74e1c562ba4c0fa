"""Where each setting of `magent config show` came from: flag, env, profile, file or default.

The same precedence as `load_settings` (flags > environment > the chosen profile > the file's top level >
defaults), traced per setting. A map set in both the file and the profile is deep-merged by the loader: its
source is the profile's (the layer that last touched it), and `where` names both lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from magent.core.config import (
    _FILE_ONLY_KEYS,
    DEFAULT_PROFILE,
    Settings,
    _apply_env,
    _deep_merge,
    _line_of,
    _read_yaml,
)

_MISSING = object()


@dataclass(frozen=True)
class Source:
    source: str  # flag | env | profile | file | default
    where: str | None = None  # the flag, the variable, or file:line

    def describe(self, profile: str) -> str:
        if self.source == "profile":
            return f"profile {profile} ({self.where})"
        return self.source if self.where is None else f"{self.source} {self.where}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def setting_paths(model: BaseModel, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The dotted keys `config show` lists: every field, nested settings sections flattened, maps and lists kept
    whole (deploy.analysis, alerts.rules); keys as written in magent.yaml (aliases)."""
    paths: list[tuple[str, ...]] = []
    for name, field in type(model).model_fields.items():
        key = field.alias or name
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            paths.extend(setting_paths(value, (*prefix, key)))
        else:
            paths.append((*prefix, key))
    return paths


def settings_sources(settings: Settings, *, config_flag: str | None, profile_flag: str | None, path: Path | None,
                     profile: str, env: Mapping[str, str]) -> dict[str, Source]:
    """`{"config_file": …, "profile": …, "mistral.base_url": …, …}` for the settings `load_settings` returned."""
    document, node = _read_yaml(path) if path else ({}, None)
    base = {k: v for k, v in document.items() if k not in _FILE_ONLY_KEYS}
    block = (document.get("profiles") or {}).get(profile) if profile != DEFAULT_PROFILE else None
    block = block if isinstance(block, dict) else {}
    from_env = _apply_env(_deep_merge(base, block), env)
    sources = {"config_file": _file_source(config_flag, env, path),
               "profile": _profile_source(profile_flag, env, document, node, path)}
    for parts in setting_paths(settings):
        sources[".".join(parts)] = _setting_source(parts, base, block, from_env, node, path, profile)
    return sources


def _file_source(flag: str | None, env: Mapping[str, str], path: Path | None) -> Source:
    if flag:
        return Source("flag", "--config")
    if env.get("MAGENT_CONFIG"):
        return Source("env", "MAGENT_CONFIG")
    return Source("default", None if path is None else "search path: ./magent.yaml, ~/.config/magent/magent.yaml")


def _profile_source(flag: str | None, env: Mapping[str, str], document: dict[str, Any], node: yaml.Node | None,
                    path: Path | None) -> Source:
    if flag:
        return Source("flag", "--profile")
    if env.get("MAGENT_PROFILE"):
        return Source("env", "MAGENT_PROFILE")
    if document.get("default_profile"):
        return Source("file", _at(path, node, ["default_profile"]))
    return Source("default")


def _setting_source(parts: tuple[str, ...], base: dict[str, Any], block: dict[str, Any],
                    from_env: dict[tuple[str, str], str], node: yaml.Node | None, path: Path | None,
                    profile: str) -> Source:
    if len(parts) == 2 and (parts[0], parts[1]) in from_env:
        return Source("env", from_env[(parts[0], parts[1])])
    in_profile, in_file = _lookup(block, parts), _lookup(base, parts)
    if in_profile is not _MISSING:
        where = _at(path, node, ["profiles", profile, *parts])
        if isinstance(in_profile, dict) and isinstance(in_file, dict):  # deep-merged: both layers count
            where = f"{where}, over {_at(path, node, list(parts))}"
        return Source("profile", where)
    if in_file is not _MISSING:
        return Source("file", _at(path, node, list(parts)))
    return Source("default")


def _lookup(document: Any, parts: tuple[str, ...]) -> Any:
    for part in parts:
        if not isinstance(document, dict) or part not in document:
            return _MISSING
        document = document[part]
    return document


def _at(path: Path | None, node: yaml.Node | None, loc: list[str]) -> str:
    line = _line_of(node, loc)
    return f"{path}:{line}" if line else str(path)

