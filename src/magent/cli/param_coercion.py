"""Typer's parameter coercion, without pydantic for what a command line holds.

Typer 0.29 coerces every parameter through a pydantic TypeAdapter built on first use, and a group's options are
coerced before a subcommand's `--help` or a completion runs, so `magent deploy --help` paid for importing pydantic
and building adapters (about 2/3 of its start-up over `import typer, rich`). `install(command)` gives each
parameter of a command tree a coercion that takes the values a command line and the defaults hold (strings,
flags, choices, values already of their type, lists of those) as Typer does, with Typer's own choice helper, and
hands anything else (numbers and paths typed as text, dates, custom parsers, bad choices with their message) to
Typer's adapter, built then. A fuzz test holds both to the same results for every parameter of every command.

If Typer's internals move, `install` leaves the parameters alone: slower start-up, same behaviour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

try:
    from typer._coercion import RuntimeParam, build_runtime_param, resolve_type_descriptor
    from typer._param_types import coerce_cli_choice
    from typer._typing import get_args, get_origin, is_number_type
except ImportError:  # another Typer: keep its own coercion
    RuntimeParam = None  # type: ignore[assignment,misc]


_PLAIN_INTEGER = re.compile(r"-?[0-9]{1,18}")


class _Delegate(Exception):
    """This value needs Typer's own (pydantic) coercion."""


def install(command: Any, help_option_names: list[str]) -> None:
    """Give every parameter of `command` and its subcommands, their help option included, the light coercion."""
    if RuntimeParam is None:
        return
    from typer import Context

    # click makes the help option on first use, inside the parse: make it now, with the names the root gives
    command.get_help_option(Context(command, help_option_names=help_option_names))
    for param in [*command.params, getattr(command, "_help_option", None)]:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is not None and not descriptor.is_file and getattr(param, "_runtime_param", "absent") is None:
            param._runtime_param = CommandLineCoercion(descriptor.parameter_info, descriptor.annotation)
    for sub in getattr(command, "commands", {}).values():
        install(sub, help_option_names)


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class CommandLineCoercion(RuntimeParam):  # type: ignore[misc,valid-type]
        """Coerce the common values directly; build Typer's adapter only for the rest."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                return self._direct(self.annotation, value, ctx)
            except _Delegate:
                return self._typer_coercion._coerce_value(value, param=param, ctx=ctx)

        @cached_property
        def _typer_coercion(self) -> Any:
            return build_runtime_param(resolve_type_descriptor(self.annotation, self.parameter_info))

        def _direct(self, annotation: Any, value: Any, ctx: Any) -> Any:
            info = self.parameter_info
            if info.parser is not None:
                raise _Delegate
            if get_origin(annotation) is list and isinstance(value, (list, tuple)):
                (item_type,) = get_args(annotation)
                return [self._direct(item_type, item, ctx) for item in value]
            if annotation is str and isinstance(value, str):
                return value
            if annotation is bool and isinstance(value, bool):
                return value
            choices = resolve_type_descriptor(annotation, info).choices
            if choices is not None:
                try:
                    return coerce_cli_choice(value, choices=choices, case_sensitive=info.case_sensitive, ctx=ctx)
                except ValueError:
                    raise _Delegate from None  # Typer words the error
            if annotation is int and isinstance(value, str) and _PLAIN_INTEGER.fullmatch(value):
                value = int(value)  # `--to-revision 2`; anything fancier ("1_000", " 2", "2.0") goes to Typer
            if is_number_type(annotation) and type(value) is annotation and _within(value, info.min, info.max):
                return value  # as given: Typer's bounds (and clamp) leave an in-range number unchanged
            raise _Delegate


def _within(value: Any, low: Any, high: Any) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)
