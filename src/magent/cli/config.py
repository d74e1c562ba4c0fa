"""`magent config show`: the settings magent would use, after file, profile and environment."""

from __future__ import annotations

from typing import Any

import typer

from magent.cli.state import OutputOption, get_state

config_app = typer.Typer(help="Inspect the resolved configuration.", no_args_is_help=True)


def masked_settings(settings: Any) -> dict[str, Any]:
    """The settings as a dict with every URL masked (userinfo, token-like query parameters, conninfo password)
    and the webhook URL reduced to its host (its path is the secret)."""
    from magent.core.redact import mask_webhook

    data = _mask_strings(settings.model_dump(mode="json", by_alias=True))
    if data["notify"].get("webhook_url"):
        data["notify"]["webhook_url"] = mask_webhook(settings.notify.webhook_url)
    return data


def _mask_strings(value: Any) -> Any:
    """`mask_url` applied to every string, however deep (deploy.analysis.*.url): it leaves plain values alone."""
    from magent.core.redact import mask_url

    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, dict):
        return {key: _mask_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_strings(item) for item in value]
    return value


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
