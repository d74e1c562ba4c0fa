"""Which magent.yaml is in effect, without loading the settings (shell completion reads its profile names)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from magent.core.errors import ConfigError
from magent.core.paths import expand_user, is_file

CONFIG_FILENAME = "magent.yaml"


def find_config_file(explicit: str | None, env: Mapping[str, str]) -> Path | None:
    """--config, then MAGENT_CONFIG, then ./magent.yaml, then ~/.config/magent/magent.yaml."""
    chosen = explicit or env.get("MAGENT_CONFIG")
    if chosen:
        path = expand_user(chosen)
        if not is_file(path):
            raise ConfigError(f"config file {str(path)[:200]} not found", hint="check --config / MAGENT_CONFIG")
        return path
    xdg = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    for candidate in (Path.cwd() / CONFIG_FILENAME, xdg / "magent" / CONFIG_FILENAME):
        if candidate.is_file():
            return candidate
    return None
