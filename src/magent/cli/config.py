"""`magent config show`: the settings magent would use, after file, profile and environment."""

from __future__ import annotations

from typing import Any

import typer

from magent.cli.state import OutputOption, get_state

config_app = typer.Typer(help="Inspect the resolved configuration.", no_args_is_help=True)


def masked_settings(settings: Any) -> dict[str, Any]:
    """The settings as a dict with database passwords and webhook URLs masked."""
    from magent.core.redact import mask_url, mask_webhook

    data = settings.model_dump(mode="json", by_alias=True)
    if data["store"].get("database_url"):
        data["store"]["database_url"] = mask_url(data["store"]["database_url"])
    if data["notify"].get("webhook_url"):
        data["notify"]["webhook_url"] = mask_webhook(data["notify"]["webhook_url"])
    return data


@config_app.command("show")
def show(output: OutputOption = None) -> None:
    """Show the active profile, the config file it came from and every setting (secrets masked).

    Example: magent --profile production config show -o yaml
    """
    from magent.cli.render import emit

    state = get_state()
    data = {
        "profile": state.profile_name,
        "config_file": str(state._config_file) if state._config_file else None,
        "settings": masked_settings(state.settings),
    }
    emit(state, state.output_format(output), data, table=lambda: _table(data))


def _table(data: dict[str, Any]):
    from magent.cli.render import simple_table

    rows = [("profile", data["profile"]), ("config file", data["config_file"] or "(none: defaults + environment)")]
    for section, values in data["settings"].items():
        for key, value in values.items():
            rows.append((f"{section}.{key}", value))
    return simple_table(None, ["setting", "value"], rows)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
