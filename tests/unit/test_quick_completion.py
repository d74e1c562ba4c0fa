"""`-d <TAB>` is answered without loading the command: the reading of the command line, the table of commands it
trusts, and the same answer as click's in every shell's format."""

from __future__ import annotations

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st

from magent.cli import app as cli_app
from magent.cli.flags import complete_deployments
from magent.cli.lazy import COMMANDS, COMPLETE_VAR, DEPLOYMENT_COMPLETING, load_command
from magent.cli.quick_completion import deployment_request, quick_completion


def _request(**given: str | None) -> dict[str, str | None]:
    return {"incomplete": "", "namespace": None, "context": None, "config": None, "profile": None, **given}


@pytest.mark.parametrize("args, incomplete, expected", [
    (["deploy", "-d"], "", _request()),
    (["deploy", "registry/app:v2", "-n", "shop", "--context=kind-b", "--deployment"], "ag",
     _request(incomplete="ag", namespace="shop", context="kind-b")),
    (["--profile", "prod", "--config=m.yaml", "-o", "json", "--debug", "status", "-d"], "",
     _request(profile="prod", config="m.yaml")),
    (["rollback", "--profile", "prod", "--namespace=a", "-n", "b", "-d"], "", _request(profile="prod", namespace="b")),
    (["deploy", "--context", "first", "--context", "second", "-d"], "", _request(context="first")),  # waves
    (["key", "rotate", "--from", "aws:k", "-d"], "w", _request(incomplete="w")),
    (["history"], "--deployment=web", _request(incomplete="web")),
], ids=["deploy", "flags after the image", "root options", "last -n wins", "deploy's first wave", "key rotate",
        "--deployment="])
def test_a_deployment_completion_is_read_from_the_command_line(args, incomplete, expected):
    assert deployment_request(args, incomplete) == expected


@pytest.mark.parametrize("args, incomplete", [
    (["deploy", "-d"], "-"),  # an option name is being completed
    (["deploy", "--", "-d"], ""),
    (["deploy", "-nshop", "-d"], ""),  # short option and value in one word: click reads it
    (["--unknown", "deploy", "-d"], ""),
    (["key", "verify", "-d"], ""),
    (["preflight", "-d"], ""),
    (["deploy", "-n"], ""),
    ([], ""),
], ids=["option name", "after --", "-nVALUE", "unknown root option", "key verify", "preflight", "-n", "root"])
def test_anything_else_is_left_to_click(args, incomplete):
    assert deployment_request(args, incomplete) is None


def _completes_deployments(param) -> bool:
    """Typer wraps an `autocompletion=` function in closures of its own."""
    def wraps(function, depth=3) -> bool:
        return function is complete_deployments or depth > 0 and callable(function) and any(
            wraps(cell.cell_contents, depth - 1) for cell in getattr(function, "__closure__", None) or ())

    return wraps(param._custom_shell_complete)


def _deployment_completing_commands() -> set[tuple[str, ...]]:
    def walk(command, path):
        subs = getattr(command, "commands", {})
        for name, sub in subs.items():
            yield from walk(sub, (*path, name))
        if not subs:
            yield path, command

    found = set()
    for name in COMMANDS:
        for path, command in walk(load_command(name), (name,)):
            options = {opt: param for param in command.params for opt in param.opts}
            if "-d" in options and _completes_deployments(options["-d"]):
                assert options["-d"] is options["--deployment"], path
                assert options["-n"] is options["--namespace"] and "--context" in options, path
                found.add(path)
    return found


def test_the_table_lists_every_command_whose_deployment_option_completes_names():
    assert set(DEPLOYMENT_COMPLETING) == _deployment_completing_commands()


@given(st.lists(st.sampled_from(["deploy", "key", "rotate", "-d", "--deployment", "-n", "--namespace=x", "--context",
                                 "--profile", "-o", "--", "-nx", "--debug", "img", "--deployment=", "="])
                | st.text(max_size=12), max_size=10), st.text(max_size=12))
def test_any_command_line_gives_a_request_or_none(args, incomplete):
    request = deployment_request(list(args), incomplete)
    assert request is None or set(request) == {"incomplete", "namespace", "context", "config", "profile"}


@pytest.fixture
def no_cluster(monkeypatch):
    """Every completion of names answers from this list (the cluster side is tested against the simulator)."""
    import magent.services.kube_names as kube_names

    def names(incomplete, **_):
        return [name for name in ("agent-api", "agent-worker") if name.startswith(incomplete)]

    monkeypatch.setattr(kube_names, "deployment_names", names)


def _click_answer(env: dict[str, str], capsys) -> str:
    command = typer.main.get_command(cli_app.app)
    with pytest.raises(SystemExit):
        command.main(args=[], prog_name="magent", complete_var=COMPLETE_VAR)
    return capsys.readouterr().out


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@pytest.mark.parametrize("words", ["magent deploy -d ", "magent --profile p key rotate -n x -d agent-w"])
def test_the_quick_answer_is_click_s_answer(shell, words, monkeypatch, capsys, no_cluster):
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {COMPLETE_VAR: f"complete_{shell}", "_TYPER_COMPLETE_FISH_ACTION": "get-args",
           "COMP_WORDS": words, "COMP_CWORD": str(cword), "_TYPER_COMPLETE_ARGS": words}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    quick = quick_completion(env)
    assert quick is not None and "agent-" in quick
    assert quick + "\n" == _click_answer(env, capsys)
