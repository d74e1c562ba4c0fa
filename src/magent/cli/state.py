"""What the root callback parsed, shared with every command: settings, output format, consoles."""

from __future__ import annotations

import copy
import enum
import functools
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from magent.cli.flags import complete_profiles

if TYPE_CHECKING:
    import logging

    from rich.console import Console

    from magent.core.config import Settings


class OutputFormat(str, enum.Enum):
    table = "table"
    json = "json"
    yaml = "yaml"


OutputOption = Annotated[
    Optional[OutputFormat],
    typer.Option("--output", "-o", help="Output format (overrides the global -o).", show_default=False),
]


@dataclass
class AppState:
    config_path: str | None = None
    profile: str | None = None
    output: OutputFormat = OutputFormat.table
    debug: bool = False
    no_color: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    _profile_name: str | None = None
    _config_file: Path | None = None
    _stdout: Console | None = field(default=None, repr=False)
    _stderr: Console | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """Loaded on first use, so `--help` and completion never read the config file."""
        if self._settings is None:
            from magent.core.config import load_settings

            self._settings, self._profile_name, self._config_file = load_settings(self.config_path, self.profile)
        return self._settings

    @property
    def profile_name(self) -> str:
        _ = self.settings  # the profile name is known once the settings are loaded
        return self._profile_name or "default"

    def output_format(self, override: OutputFormat | None) -> OutputFormat:
        return override or self.output

    @property
    def plain(self) -> bool:
        """No bars, no colour: stderr is not a terminal, or NO_COLOR / --no-color."""
        return self.no_color or bool(os.environ.get("NO_COLOR")) or not sys.stderr.isatty()

    @property
    def out(self) -> Console:
        if self._stdout is None:
            self._stdout = _console(sys.stdout, self.no_color)
        return self._stdout

    @property
    def err(self) -> Console:
        if self._stderr is None:
            self._stderr = _console(sys.stderr, self.no_color)
        return self._stderr


# Width of a console whose stream is not a terminal (a pipe, a file, a CI log): wide enough that Rich never folds
# or truncates a cell, and harmless because tables are not expanded and nothing pads to the full width.
UNBOUNDED_WIDTH = 100_000


def _console(stream, no_color: bool) -> Console:
    from rich.console import Console

    color = not (no_color or os.environ.get("NO_COLOR"))
    # Rich falls back to COLUMNS or 80 columns off a terminal, which cut `usage report | cat` and cron mail.
    if _is_terminal(stream):
        return Console(file=stream, no_color=not color, highlight=False, soft_wrap=False)
    from magent.cli.render import line_end_trimmed  # no padding spaces at line ends in CI logs and files

    return Console(file=line_end_trimmed(stream), no_color=not color, highlight=False, soft_wrap=False,
                   width=UNBOUNDED_WIDTH)


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


STATE = AppState()


def get_state() -> AppState:
    return STATE


def reset_state() -> AppState:
    """Fresh state per invocation (tests run many invocations in one process)."""
    global STATE
    STATE = AppState()
    return STATE


def _utc_formatter() -> logging.Formatter:
    """Log lines stamped in UTC ISO 8601 (2026-11-23T20:22:04.620Z), like every other time magent prints."""
    import logging
    import time

    formatter = logging.Formatter("%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s",
                                  datefmt="%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    return formatter


def configure_logging(debug: bool) -> None:
    import logging

    from magent.core.redact import RedactingFilter, register_environment_secrets

    register_environment_secrets(os.environ)

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_utc_formatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    for noisy in ("httpcore", "httpcore2", "urllib3", "botocore", "hpack"):
        logging.getLogger(noisy).setLevel(logging.INFO if debug else logging.WARNING)


# --- global options after the command -----------------------------------------------------------------------
# `magent deploy … --debug` and `magent key verify --profile prod` work as they do before the command, as kubectl
# and gh accept their global flags anywhere. Each command gets hidden copies of the root's options (those it does
# not define itself); they set the same state, which the root callback has just reset.
GLOBAL_OPTIONS_ANYWHERE = ("--profile", "--config", "--debug", "--no-color")


def global_options_after_command() -> list:
    """Hidden `--profile`, `--config`, `--debug`, `--no-color` parameters, built by typer like every other option.

    Fresh copies for each command, of options built once (building them costs a command's worth of Typer's
    signature inspection, and every subcommand of a group gets them)."""
    return [copy.copy(option) for option in _global_options()]


@functools.cache
def _global_options() -> tuple:
    holder = typer.Typer(add_completion=False)

    @holder.command()
    def carrier(
        profile: Annotated[Optional[str], typer.Option("--profile", hidden=True, callback=_set_profile_or_config,
                                                      autocompletion=complete_profiles)] = None,
        config: Annotated[Optional[str], typer.Option("--config", hidden=True, callback=_set_profile_or_config)] = None,
        debug: Annotated[bool, typer.Option("--debug", hidden=True, callback=_set_debug)] = False,
        no_color: Annotated[bool, typer.Option("--no-color", hidden=True, callback=_set_no_color)] = False,
    ) -> None: ...

    params = typer.main.get_command(holder).params
    for param in params:
        param.expose_value = False  # the command's own function never sees them
    return tuple(params)


def _given(ctx, param) -> bool:
    from typer._click.core import ParameterSource

    return ctx.get_parameter_source(param.name) == ParameterSource.COMMANDLINE


def _set_profile_or_config(ctx, param, value) -> None:
    if not _given(ctx, param):
        return
    state = get_state()
    if state._settings is not None:  # a group read magent.yaml already: too late to choose another one
        from magent.core.errors import UsageError

        raise UsageError(f"--{param.name} must come before the command here",
                         hint=f"e.g. magent --{param.name} {value} {ctx.command_path.removeprefix('magent ')} …")
    setattr(state, "config_path" if param.name == "config" else "profile", value)


def _set_debug(ctx, param, value) -> None:
    if _given(ctx, param) and value:
        get_state().debug = True
        configure_logging(True)


def _set_no_color(ctx, param, value) -> None:
    if _given(ctx, param) and value:
        state = get_state()
        state.no_color, state._stdout, state._stderr = True, None, None
