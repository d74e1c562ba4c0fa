"""`magent completion bash|zsh|fish`: print the shell completion script (as `kubectl completion` does)."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from magent.cli.lazy import COMPLETE_VAR, PROG_NAME


class Shell(str, enum.Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion_script(shell: Shell) -> str:
    # Typer generates the script; it calls back into `magent` with _MAGENT_COMPLETE set.
    from typer._completion_shared import get_completion_script

    script = get_completion_script(prog_name=PROG_NAME, complete_var=COMPLETE_VAR, shell=shell.value)
    if shell is Shell.zsh:
        # Installed in $fpath (as the help says), the file is the body of `_magent`, autoloaded on the first
        # TAB: Typer's last line only registers the function then, so that TAB completed nothing. As kubectl's
        # script does: complete at once when autoloaded, register when sourced.
        registration = f"compdef _{PROG_NAME}_completion {PROG_NAME}"
        script = script.rstrip("\n").removesuffix(registration) + (
            f'if [ "$funcstack[1]" = "_{PROG_NAME}" ]; then\n  _{PROG_NAME}_completion "$@"\n'
            f"else\n  {registration}\nfi\n")
    return script


def completion(shell: Annotated[Shell, typer.Argument(help="Shell to generate the script for.")]) -> None:
    """Print the completion script for SHELL.

    \b
    bash: magent completion bash > ~/.local/share/bash-completion/completions/magent
    zsh:  magent completion zsh > "${fpath[1]}/_magent"
    fish: magent completion fish > ~/.config/fish/completions/magent.fish
    """
    print(completion_script(shell), end="")


def register(app: typer.Typer) -> None:
    app.command("completion")(completion)
