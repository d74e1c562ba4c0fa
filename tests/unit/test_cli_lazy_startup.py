"""Start-up of help and completion: a command is built alone (not the other commands of its module, not the other
subcommands of its group when the command line names one) with the same help, and the process ends without the
interpreter's teardown once the shell has its answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from magent.cli import app as cli_app
from magent.cli.lazy import load_command


def _verify_help(key_group) -> str:
    root = typer.Context(typer.main.get_command(cli_app.app), info_name="magent")
    verify = key_group.commands["verify"]
    return verify.get_help(typer.Context(verify, info_name="verify",
                                         parent=typer.Context(key_group, info_name="key", parent=root)))


def test_a_module_s_other_commands_are_not_built(monkeypatch):
    built = []
    original = typer.main.get_command_from_info

    def recording(*args, **kwargs):
        built.append((kwargs.get("command_info") or args[0]).name)
        return original(*args, **kwargs)

    monkeypatch.setattr(typer.main, "get_command_from_info", recording)
    assert load_command("rollback").name == "rollback"
    assert "rollback" in built and not {"status", "history"} & set(built)  # rollout.py registers them too


def test_a_group_named_with_its_subcommand_has_that_one_alone_and_the_module_keeps_all():
    narrowed = load_command("key", "verify")
    assert list(narrowed.commands) == ["verify"]
    assert set(load_command("key").commands) == {"verify", "rotate"}
    assert set(load_command("key", "--output").commands) == {"verify", "rotate"}  # not a subcommand: all of them


def test_the_subcommand_s_help_is_the_same_either_way():
    assert _verify_help(load_command("key", "verify")) == _verify_help(load_command("key"))


def test_key_verify_and_key_rotate_through_the_cli(cli):
    for subcommand in ("verify", "rotate"):
        result = cli("key", subcommand, "--help")
        assert (result.exit_code, result.stdout.splitlines()[0]) == (0, f"Usage: magent key {subcommand} [OPTIONS]")


def _tears_down(args: list[str], env: dict[str, str] | None = None) -> tuple[bool, str]:
    """Whether the `magent` program ran the interpreter's teardown (Python -v reports its module cleanup)."""
    script = Path(sys.executable).with_name("magent")
    done = subprocess.run([str(script), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONVERBOSE": "1", **(env or {})})
    return "# cleanup" in done.stderr, done.stdout


@pytest.mark.parametrize("args, env", [
    (["deploy", "--help"], None),
    ([], None),
    ([], {"_MAGENT_COMPLETE": "complete_bash", "COMP_WORDS": "magent de", "COMP_CWORD": "1"}),
], ids=["deploy --help", "magent", "de<TAB>"])
def test_help_and_completions_end_without_the_interpreter_s_teardown(args, env):
    """The shell waits for the process to end: the teardown cost as much as building the deploy command."""
    torn_down, shown = _tears_down(args, env)
    assert shown.strip() and not torn_down


def test_an_error_still_ends_the_ordinary_way():
    torn_down, _ = _tears_down(["deploy", "--no-such-flag"])
    assert torn_down


def test_a_group_narrowed_for_one_command_line_does_not_hide_its_other_subcommands_later():
    """`key verify` loads the key group with verify alone; the same root must still find `key rotate` afterwards
    (the reference walk, the docs test and `magent demo` use one root for many command lines)."""
    import typer

    from magent.cli.app import app

    root = typer.main.get_command(app)
    with root.make_context("magent", ["key", "verify"], resilient_parsing=True) as ctx:
        _, verify_group, _ = root.resolve_command(ctx, ["key", "verify"])
        assert list(verify_group.commands) == ["verify"]  # narrowed for that command line
        assert {"verify", "rotate"} <= set(root.get_command(ctx, "key").commands)
