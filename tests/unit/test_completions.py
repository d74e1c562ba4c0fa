"""The checked-in completion scripts are what the CLI generates, and they really complete."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.completion import bash_complete

from magent.cli.completion import Shell, completion_script
from magent.cli.flags import USAGE_DIMENSIONS
from magent.core.cost import DIMENSIONS

COMPLETIONS = Path(__file__).resolve().parents[2] / "completions"
REGENERATE = 'for s in bash zsh fish; do magent completion $s > completions/magent.$s; done'


@pytest.mark.parametrize("shell", list(Shell))
def test_checked_in_script_is_up_to_date(shell):
    path = COMPLETIONS / f"magent.{shell.value}"
    assert path.read_text() == completion_script(shell), f"{path} is out of date; run: {REGENERATE}"


@pytest.mark.parametrize("shell", list(Shell))
def test_completion_command_prints_script(cli, shell):
    result = cli("completion", shell.value)
    assert result.exit_code == 0
    assert result.stdout == completion_script(shell)


def test_bash_completion_lists_commands():
    env = dict(os.environ, COMP_WORDS="magent comp", COMP_CWORD="1", _MAGENT_COMPLETE="complete_bash")
    done = subprocess.run([sys.executable, "-m", "magent"], env=env, capture_output=True, text=True, timeout=30)
    assert done.stdout.split() == ["completion"]


# --- completion of values, through bash's own completion machinery (tests/fixtures/completion.py) ---------------

def test_by_completes_the_usage_dimensions():
    assert bash_complete(["magent", "usage", "report", "--by", ""]).words == list(DIMENSIONS)
    assert bash_complete(["magent", "usage", "report", "--by", "model,d"]).words == ["model,day"]
    assert bash_complete(["magent", "usage", "report", "--by", "day,model,"]).words == ["day,model,agent",
                                                                                         "day,model,conversation"]


def test_usage_dimensions_of_the_completion_are_the_reports():
    assert USAGE_DIMENSIONS == DIMENSIONS


def test_profile_completes_the_profiles_of_the_config_in_effect(tmp_path):
    (tmp_path / "magent.yaml").write_text("default_profile: staging\nprofiles:\n  staging: {}\n  prod: {}\n"
                                          "  preprod: {namespace: x}\n")
    other = tmp_path / "other.yaml"
    other.write_text("profiles:\n  lab: {}\n")
    assert bash_complete(["magent", "--profile", ""], cwd=tmp_path).words == ["preprod", "prod", "staging"]
    assert bash_complete(["magent", "deploy", "--profile", "pr"], cwd=tmp_path).words == ["preprod", "prod"]
    assert bash_complete(["magent", "--config", str(other), "--profile", ""], cwd=tmp_path).words == ["lab"]
    assert bash_complete(["magent", "--profile", ""], cwd=tmp_path,
                         env={"MAGENT_CONFIG": str(other)}).words == ["lab"]


@pytest.mark.parametrize("content", ["profiles: [", "profiles: [a, b]\n", b"\xff\xfe", "a: !!binary AAAA\n"])
def test_profile_completion_is_silent_on_a_broken_config(tmp_path, content):
    path = tmp_path / "magent.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = bash_complete(["magent", "--profile", ""], cwd=tmp_path)
    assert (result.words, result.stderr) == ([], "")


def test_profile_completion_is_silent_without_the_config_named(tmp_path):
    result = bash_complete(["magent", "--config", str(tmp_path / "missing.yaml"), "--profile", ""], cwd=tmp_path)
    assert (result.words, result.stderr) == ([], "")


def test_every_deployment_option_completes_deployment_names():
    """-d/--deployment of every command (deploy, rollback, status, history, key rotate, preflight) asks the cluster."""
    from magent.cli.lazy import COMMANDS, load_command

    def options(command):
        yield from (param for param in command.params if "--deployment" in param.opts)
        for sub in getattr(command, "commands", {}).values():
            yield from options(sub)

    found = [param for name in COMMANDS for param in options(load_command(name))]
    assert len(found) >= 6
    assert all(param._custom_shell_complete is not None for param in found)


def test_zsh_script_completes_on_the_first_tab_when_autoloaded(tmp_path):
    """README: `magent completion zsh > "${fpath[1]}/_magent"`. zsh autoloads that file as the function `_magent`
    on the first TAB; Typer's script only registered itself then, so the first TAB completed nothing. Sourced,
    it still registers. A stand-in `magent` answers the completion request."""
    from conftest import require_tool

    zsh = require_tool("zsh", "apt-get install -y --no-install-recommends zsh")
    (tmp_path / "_magent").write_text(completion_script(Shell.zsh))
    fake = tmp_path / "bin" / "magent"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho print completed\n")
    fake.chmod(0o755)
    stub = 'compdef() { print "registered $*" }'
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin", "HOME": str(tmp_path)}

    def run(script: str) -> str:
        return subprocess.run([zsh, "-f", "-c", script], env=env, capture_output=True, text=True, timeout=30).stdout

    words = "words=(magent dep); CURRENT=2"  # what zsh sets on a TAB
    assert run(f"fpath=({tmp_path} $fpath); {stub}; {words}; autoload -Uz _magent; _magent").split() == ["completed"]
    assert run(f"{stub}; source {tmp_path}/_magent").split() == ["registered", "_magent_completion", "magent"]
