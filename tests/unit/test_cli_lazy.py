"""The root group lists commands without importing them; each listed line matches the command's own help."""

import os
import subprocess
import sys

import pytest

from magent.cli.lazy import COMMANDS, load_command


@pytest.mark.parametrize("name", list(COMMANDS))
def test_listed_help_is_the_commands_own_first_line(name):
    command = load_command(name)
    assert command.name == name
    assert command.get_short_help_str(limit=500) == COMMANDS[name][1]


COMMAND_MODULES = sorted({module for module, _ in COMMANDS.values()})


def imported_after(argv: list[str], env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The modules a fresh `magent ARGV…` (or a completion request, through env) has imported, and its stdout."""
    probe = ("import sys; from magent.cli.app import run\n"
             "try:\n    run(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
             "print('MODULES', *sorted(sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, timeout=30,
                          env={**os.environ, **(env or {})})
    shown, _, modules = done.stdout.rpartition("MODULES ")
    return set(modules.split()), shown


def completing(words: str) -> dict[str, str]:
    return {"COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
            "_MAGENT_COMPLETE": "complete_bash"}


def test_root_help_imports_no_command_module():
    modules, _ = imported_after(["--help"])
    assert modules.isdisjoint(COMMAND_MODULES)


def test_completing_a_command_name_imports_no_command_module():
    modules, shown = imported_after([], completing("magent de"))
    assert shown.split() == ["deploy", "demo"]
    assert modules.isdisjoint(COMMAND_MODULES)


@pytest.mark.parametrize("argv, env", [
    (["deploy", "--help"], None),
    (["key", "verify", "--help"], None),
    (["rollback", "--help"], None),
    ([], completing("magent de")),
    ([], completing("magent usage report --by ")),
    ([], completing("magent rollback --to-revision 1 -")),
], ids=["deploy --help", "key verify --help", "rollback --help", "de<TAB>", "--by <TAB>", "rollback -<TAB>"])
def test_help_and_completion_load_neither_pydantic_nor_an_sdk(argv, env):
    """Typer coerces a group's options through pydantic before a subcommand's --help: that was 2/3 of the time."""
    modules, _ = imported_after(argv, env)
    heavy = {name.split(".")[0] for name in modules} & {"pydantic", "mistralai", "kubernetes", "boto3", "psycopg"}
    assert not heavy


def test_unknown_command_suggests_a_lazy_one(cli):
    result = cli("rollbak")
    assert result.exit_code == 2
    assert "Did you mean 'rollback'?" in result.stderr
