"""Configuration: magent.yaml profiles + environment + flags, validated with pydantic.

Precedence: flags > environment (MAGENT_*, MISTRAL_API_KEY, KUBECONFIG, AWS_*, MAGENT_DATABASE_URL)
> the chosen profile of magent.yaml > the file's top level > defaults.

    # magent.yaml
    default_profile: staging
    mistral:
      models: [mistral-small-2506]
    profiles:
      staging:
        mistral: {key_from: ["env:MISTRAL_API_KEY"]}
      production:
        mistral: {key_from: ["aws:prod/mistral#api_key"]}
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from magent.core.config_file import find_config_file
from magent.core.config_lines import _config_error, _kind, _line_of, _where
from magent.core.config_models import (
    DEFAULT_MISTRAL_URL,
    DEFAULT_PROFILE,
    MIN_INTERVAL_S,
    AlertsSection,
    AwsSettings,
    DeploySettings,
    EcsDeploySettings,
    ExportJobLimits,
    ExportJobRequests,
    ExportJobSettings,
    ExportSettings,
    KubeSettings,
    MistralSettings,
    NotifySettings,
    PreflightSettings,
    Settings,
    StoreSettings,
    WaveSettings,
    check_interval,
    validate_settings,
)
from magent.core.config_yaml import parse_config_yaml
from magent.core.errors import ConfigError
from magent.core.redact import register_secrets_in

# Re-exported: `from magent.core.config import X` is how the rest of magent reaches the models and the line lookup.
__all__ = [
    "DEFAULT_MISTRAL_URL", "DEFAULT_PROFILE", "ENV_OVERRIDES", "MIN_INTERVAL_S", "AwsSettings", "DeploySettings",
    "EcsDeploySettings", "ExportJobLimits", "ExportJobRequests", "ExportJobSettings", "ExportSettings",
    "KubeSettings", "MistralSettings", "NotifySettings", "PreflightSettings", "Settings", "StoreSettings",
    "WaveSettings", "check_interval", "load_settings", "_kind", "_line_of", "_where",
]

_FILE_ONLY_KEYS = ("profiles", "default_profile")

# environment variable → path inside Settings
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "MAGENT_MISTRAL_URL": ("mistral", "base_url"),
    "MAGENT_DATABASE_URL": ("store", "database_url"),
    "MAGENT_DATA_DIR": ("store", "data_dir"),
    "MAGENT_WEBHOOK_URL": ("notify", "webhook_url"),
    "MAGENT_NAMESPACE": ("kubernetes", "namespace"),
    "KUBECONFIG": ("kubernetes", "kubeconfig"),
    "AWS_ENDPOINT_URL": ("aws", "endpoint_url"),
    "AWS_DEFAULT_REGION": ("aws", "region"),
    "AWS_REGION": ("aws", "region"),
}


def load_settings(
    config_path: str | None = None,
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[Settings, str, Path | None]:
    """Resolve (settings, profile name, file used). Every profile of the file is validated, not only this one."""
    env = os.environ if env is None else env
    path = find_config_file(config_path, env)
    document, node = _read_yaml(path) if path else ({}, None)
    profiles = _profiles(document, path, node)
    name = profile or env.get("MAGENT_PROFILE") or _default_profile(document, path, node) or DEFAULT_PROFILE
    if name != DEFAULT_PROFILE and name not in profiles:
        if not path:
            hint = "profiles live in magent.yaml (or the file of --config / MAGENT_CONFIG) under `profiles:`"
        elif not profiles:
            hint = f"{path} defines no profiles: add a `profiles:` section, or leave --profile out"
        else:
            hint = f"known profiles: {', '.join(sorted(profiles))}"
        raise ConfigError(f"profile {name!r} not found in {path or 'any config file'}", hint=hint)
    base = {k: v for k, v in document.items() if k not in _FILE_ONLY_KEYS}
    settings = _validated_profile(base, profiles, name, env, path, node)
    # An error in `prod` must not wait for the day someone deploys with --profile prod.
    for other in sorted(set(profiles) - {name}):
        _validated_profile(base, profiles, other, env, path, node, selected=name)
    return settings, name, path


def _validated_profile(base: dict[str, Any], profiles: dict[str, Any], name: str, env: Mapping[str, str],
                       path: Path | None, node: yaml.Node | None, *, selected: str | None = None) -> Settings:
    merged = _deep_merge(base, profiles.get(name) or {})
    _apply_env(merged, env)
    # Before validation, so that even an error quoting a bad value cannot show a password or token it holds.
    register_secrets_in(merged)
    alerts = merged.pop("alerts", _NO_ALERTS)
    try:
        settings = validate_settings(merged)
    except ValidationError as exc:
        raise _config_error(exc, path, node, name, other_than=selected) from None
    _check_analysis(settings, path, node, name, other_than=selected)
    if alerts is not _NO_ALERTS:
        settings.alerts = _validated_alerts(alerts, path, node, name, other_than=selected)
    return settings


_NO_ALERTS = object()


def _validated_alerts(alerts: Any, path: Path | None, node: yaml.Node | None, profile: str, *,
                      other_than: str | None = None) -> AlertsSection:
    """The `alerts:` section, validated apart from Settings (whose validator does not descend into it), with the
    same file:line: key errors."""
    from magent.core.alert_config import HINT, AlertsSettings

    try:
        return AlertsSettings.model_validate(alerts)
    except ValidationError as exc:
        raise _config_error(exc, path, node, profile, prefix=["alerts"], other_than=other_than,
                            hint=HINT) from None


def _profiles(document: dict[str, Any], path: Path | None, node: yaml.Node | None) -> dict[str, Any]:
    profiles = document.get("profiles") or {}
    if not isinstance(profiles, dict):
        raise ConfigError(f"{_where(path, node, ['profiles'])}: profiles: must be a mapping of profile name to "
                          f"settings, not {_kind(profiles)}", hint="see README, 'Configuration'")
    for name, block in profiles.items():
        if not isinstance(name, str):
            raise ConfigError(f"{_where(path, node, ['profiles'])}: profiles: profile names must be text, "
                              f"not {_kind(name)} {name!r}", hint="quote the name, e.g. '2026': {...}")
        if block is not None and not isinstance(block, dict):
            raise ConfigError(f"{_where(path, node, ['profiles', name])}: profiles.{name}: must be a mapping of "
                              f"settings, not {_kind(block)}", hint="see README, 'Configuration'")
    return profiles


def _default_profile(document: dict[str, Any], path: Path | None, node: yaml.Node | None) -> str | None:
    value = document.get("default_profile")
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{_where(path, node, ['default_profile'])}: default_profile: must be a profile name, "
                          f"not {_kind(value)}", hint="e.g. default_profile: staging")
    return value


def _check_analysis(settings: Settings, path: Path | None, node: yaml.Node | None, profile: str, *,
                    other_than: str | None = None) -> None:
    """Validate `deploy.analysis` now, naming file and line like any other key (`deploy` parses it again later)."""
    if not settings.deploy.analysis:
        return
    from magent.core.analysis_config import AnalysisSettings

    try:
        AnalysisSettings.model_validate(settings.deploy.analysis)
    except ValidationError as exc:
        raise _config_error(exc, path, node, profile, prefix=["deploy", "analysis"], other_than=other_than,
                            hint="see README, 'Canary analysis (deploy.analysis)', for the keys magent knows") from None


def _read_yaml(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    document, node = parse_config_yaml(data, str(path))
    if document is None:
        return {}, None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: the top level must be a mapping", hint="see README, 'Configuration'")
    return document, node


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _apply_env(merged: dict[str, Any], env: Mapping[str, str]) -> dict[tuple[str, str], str]:
    """Set what the environment overrides; returns (section, key) → the variable that set it (`config show`)."""
    applied: dict[tuple[str, str], str] = {}
    for variable, (section, key) in ENV_OVERRIDES.items():
        value = env.get(variable)
        if value:
            block = merged.setdefault(section, {})
            if isinstance(block, dict) and not (key == "region" and block.get(key) and variable != "AWS_REGION"):
                block[key] = value
                applied[(section, key)] = variable
    return applied
