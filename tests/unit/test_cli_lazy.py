"""The root group lists commands without importing them; each listed line matches the command's own help."""

import subprocess
import sys

import pytest

from magent.cli.lazy import COMMANDS, load_command


@pytest.mark.parametrize("name", list(COMMANDS))
def test_listed_help_is_the_commands_own_first_line(name):
    command = load_command(name)
    assert command.name == name
    assert command.get_short_help_str(limit=500) == COMMANDS[name][1]


def test_root_help_imports_no_command_module():
    probe = (
        "import sys; from magent.cli.app import run; run(['--help']); "
        "print(sorted(m for m in sys.modules if m.startswith('magent.cli.') and m not in "
        "('magent.cli.app', 'magent.cli.interrupts', 'magent.cli.lazy', 'magent.cli.state')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_unknown_command_suggests_a_lazy_one(cli):
    result = cli("rollbak")
    assert result.exit_code == 2
    assert "Did you mean 'rollback'?" in result.stderr
