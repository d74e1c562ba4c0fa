"""`magent config show`: the settings magent would use, after file, profile and environment."""

from __future__ import annotations

from typing import Any

import typer

from magent.cli.state import OutputFormat, OutputOption, get_state

config_app = typer.Typer(help="Inspect the resolved configuration.", no_args_is_help=True)


def masked_settings(settings: Any) -> dict[str, Any]:
    """The settings as a dict with every URL masked (userinfo, token-like query parameters, conninfo password)
    and the webhook URL reduced to its host (its path is the secret)."""
    from magent.core.redact import mask_webhook

    data = _mask_strings(settings.model_dump(mode="json", by_alias=True))
    if data["notify"].get("webhook_url"):
        data["notify"]["webhook_url"] = mask_webhook(settings.notify.webhook_url)
    return data


def durations_as_written(settings: Any, data: dict[str, Any]) -> dict[str, Any]:
    """`data` (settings.model_dump) with every duration as magent.yaml would spell it (`3s`, `90d`, `400ms`),
    not as the float seconds the model holds; parse_duration reads each back to the same value."""
    from pydantic import BaseModel

    from magent.core.timeutil import human_duration

    shown = dict(data)
    durations = _duration_fields(type(settings))
    for name, value in data.items():
        attribute = getattr(settings, name, None)
        if isinstance(attribute, BaseModel) and isinstance(value, dict):
            shown[name] = durations_as_written(attribute, value)
        elif isinstance(attribute, dict) and isinstance(value, dict):  # alerts.rules: {name: model}
            shown[name] = {key: durations_as_written(attribute[key], item)
                           if isinstance(attribute.get(key), BaseModel) and isinstance(item, dict) else item
                           for key, item in value.items()}
        elif name in durations and isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
            shown[name] = human_duration(seconds) if seconds.is_integer() and seconds else f"{seconds:g}s"
    return shown


def _duration_fields(model: Any) -> set[str]:
    """The fields a model reads with parse_duration (its `mode="before"` validators calling it, or a type such as
    alerts' WholeSeconds whose BeforeValidator does), by their names in the dump (`for`, not `for_`): the model
    keeps no other mark of which numbers are durations."""
    fields: set[str] = set()
    for decorator in model.__pydantic_decorators__.field_validators.values():
        if decorator.info.mode == "before" and _calls_parse_duration(decorator.func):
            fields.update(model.model_fields[name].alias or name for name in decorator.info.fields)
    for name, info in model.model_fields.items():
        if any(_calls_parse_duration(getattr(meta, "func", None)) for meta in _metadata(info.annotation, info)):
            fields.add(info.alias or name)
    return fields


def _metadata(annotation: Any, info: Any) -> list[Any]:
    """A field's validators: its own metadata and that of each Annotated member of a union (`WholeSeconds | None`)."""
    import typing

    found = list(info.metadata)
    for member in typing.get_args(annotation):
        found += list(getattr(member, "__metadata__", ()))
    return found


def _calls_parse_duration(function: Any) -> bool:
    function = getattr(function, "__func__", function)
    code = getattr(function, "__code__", None)
    return code is not None and "parse_duration" in code.co_names


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
    """Show the active profile, the config file it came from and every setting (secrets masked), each with
    where it came from: flag, env (the variable), profile (file:line), file (file:line) or default.

    Lists and maps are shown as YAML, durations as written in magent.yaml (`5m`, `90d`; -o json gives them
    in seconds), so the `settings` part of `-o yaml` reads back as a magent.yaml. Flags of other commands
    (-n, --context, --steps…) override these settings for that command only.

    Example: magent --profile production config show -o yaml
    """
    import os

    from magent.cli.render import emit
    from magent.core.config_sources import settings_sources

    state = get_state()
    # --config / --profile read MAGENT_CONFIG / MAGENT_PROFILE too: a value equal to the variable is the variable's
    config_flag = state.config_path if state.config_path != os.environ.get("MAGENT_CONFIG") else None
    profile_flag = state.profile if state.profile != os.environ.get("MAGENT_PROFILE") else None
    sources = settings_sources(state.settings, config_flag=config_flag, profile_flag=profile_flag,
                               path=state._config_file, profile=state.profile_name, env=os.environ)
    data: dict[str, Any] = {
        "profile": state.profile_name,
        "config_file": str(state._config_file) if state._config_file else None,
        "settings": masked_settings(state.settings),
        "sources": {key: source.to_dict() for key, source in sources.items()},
    }
    fmt = state.output_format(output)
    if fmt is not OutputFormat.json:  # JSON is for programs: durations stay numbers of seconds there
        data["settings"] = durations_as_written(state.settings, data["settings"])
    emit(state, fmt, data, table=lambda: _table(data, sources))


def _table(data: dict[str, Any], sources: dict[str, Any]):
    from rich.markup import escape

    from magent.cli.render import simple_table
    from magent.core.config_sources import setting_paths

    profile = data["profile"]
    rows = [("profile", profile, sources["profile"].describe(profile)),
            ("config file", data["config_file"] or "(none: defaults + environment)",
             sources["config_file"].describe(profile))]
    for parts in setting_paths(get_state().settings):
        value: Any = data["settings"]
        for part in parts:
            value = value[part]
        key = ".".join(parts)
        rows.append((key, escape(as_yaml(value)), sources[key].describe(profile)))  # `[5, 25]` is not markup
    return simple_table(None, ["setting", "value", "source"], rows)


def as_yaml(value: Any) -> str:
    """A value as it would be written in magent.yaml: `[5, 25]`, `{url: …}`, `null` never a Python repr."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**9, allow_unicode=True)
    return text.strip().removesuffix("...").strip()


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
