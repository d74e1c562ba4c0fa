"""The checked-in completion scripts are what the CLI generates, and they really complete."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from magent.cli.completion import Shell, completion_script

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
