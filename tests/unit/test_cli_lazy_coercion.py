"""The light parameter coercion (cli/param_coercion.py) gives what Typer's own gives, for every parameter of magent.

Fuzzed command-line values (any text, integers, choices in any case, repeated options) go through both; the
results must be equal and of the same type, or both must be the same usage error.
"""

from __future__ import annotations

import functools

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param

from magent.cli import param_coercion
from magent.cli.app import app
from magent.cli.lazy import COMMANDS, HELP_OPTION_NAMES, load_command


def _walk(command, path):
    for param in [*command.params, getattr(command, "_help_option", None)]:
        if isinstance(getattr(param, "_runtime_param", None), param_coercion.CommandLineCoercion):
            yield f"{path} {param.name}", command, param
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, f"{path} {name}")


@functools.cache
def every_parameter():
    root = typer.main.get_command(app)
    param_coercion.install(root, HELP_OPTION_NAMES)
    found = list(_walk(root, "magent"))
    for name in COMMANDS:
        found.extend(_walk(load_command(name), f"magent {name}"))
    return found


@functools.cache
def typers_own(param):
    return build_runtime_param(param.type_descriptor)


def outcome(coercion, value, param, command):
    try:
        result = coercion.coerce(value, param=param, ctx=typer.Context(command))
    except BadParameter as exc:
        return "error", exc.format_message()
    return "value", type(result), result


def command_line_values(param):
    choices = param.type_descriptor.choices
    one = st.one_of(st.text(max_size=12), st.from_regex(r"-?[0-9]{1,25}", fullmatch=True),
                    st.sampled_from(["0", "1", "-1", "1_000", " 2", "2.0", "true", "no", "", "1e3"]))
    if choices:
        names = [str(getattr(choice, "value", choice)) for choice in choices]
        one = st.one_of(one, st.sampled_from(names), st.sampled_from(names).map(str.upper))
    if param.multiple or param.nargs == -1:
        return st.lists(one, max_size=3).map(tuple)
    return st.one_of(one, st.just(param.default))


def test_every_parameter_has_the_light_coercion():
    assert len(every_parameter()) > 100


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_light_coercion_matches_typers_own(data):
    where, command, param = data.draw(st.sampled_from(every_parameter()), label="parameter")
    value = data.draw(command_line_values(param), label="value")
    light = outcome(param._runtime_param, value, param, command)
    assert light == outcome(typers_own(param), value, param, command), where


@pytest.mark.parametrize("value, expected", [("json", "json"), ("JSON", None), ("csv", None)])
def test_root_output_choice(value, expected):
    """-o takes the enum's values exactly; anything else is Typer's own usage error."""
    [(_, command, param)] = [entry for entry in every_parameter() if entry[0] == "magent output"]
    kind, *rest = outcome(param._runtime_param, value, param, command)
    assert (rest[1].value if kind == "value" else None) == expected
    if expected is None:
        assert "is not one of 'table', 'json', 'yaml'" in rest[0]
