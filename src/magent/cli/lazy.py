"""The root command group, lazy: a command's module is imported and built only when that command is used.

Building all of Typer's commands to answer `magent --help` cost more than importing Typer itself, so the root
lists commands from `COMMANDS` (name → module, one-line help) and loads a module on first use. A test checks
that each line here is the first line of the command's own help, so the two never drift.
"""

from __future__ import annotations

import copy
import importlib
from difflib import get_close_matches
from typing import Any

import typer
from typer.core import TyperGroup

from magent.cli import param_coercion

PROG_NAME = "magent"
COMPLETE_VAR = "_MAGENT_COMPLETE"  # set by the completion scripts when the shell asks `magent` for completions
HELP_OPTION_NAMES = ["-h", "--help"]

# In the order of `magent --help`: release work first. Each module exposes `register(app)`.
COMMANDS: dict[str, tuple[str, str]] = {
    "preflight": ("magent.cli.preflight", "Is this release ready? Run the production checklist: every item proved "
                                          "by a check."),
    "deploy": ("magent.cli.deploy", "Roll IMAGE out as a canary next to the stable Deployment, analyse it, "
                                    "then promote or abort."),
    "rollback": ("magent.cli.rollout", "Put the last good version back: abort a canary in progress, or undo "
                                       "the Deployment."),
    "status": ("magent.cli.rollout", "Show a Deployment, its canary if any, the current (or last) deploy's "
                                     "step and analysis, and the lock."),
    "history": ("magent.cli.rollout", "List a Deployment's deploys and rollbacks from the store, or its revisions "
                                      "(as `kubectl rollout history`)."),
    "runbook": ("magent.cli.runbook", "On-call runbooks: list them, or show one (Markdown in a terminal, plain text "
                                      "when piped)."),
    "alerts": ("magent.cli.alerts", "The alert table as Prometheus rules or CloudWatch alarms: render them, apply "
                                    "them."),
    "key": ("magent.cli.key", "Mistral API keys: verify them where they are stored (env, file, AWS, Kubernetes), "
                              "and rotate them."),
    "conversations": ("magent.cli.conversations", "Export Mistral agents and conversations."),
    "usage": ("magent.cli.usage", "Token and cost reports over the conversations exported to the store."),
    "db": ("magent.cli.db", "The Postgres store: MAGENT_DATABASE_URL, or an embedded Postgres in the data "
                            "directory."),
    "demo": ("magent.cli.demo", "Rehearse a release offline: start the simulators and run magent's main "
                                "commands against them."),
    "sandbox": ("magent.cli.sandbox", "Run the offline sandbox in the background (up, status, down), or one "
                                      "simulator in the foreground."),
    "config": ("magent.cli.config", "Inspect the resolved configuration."),
    "completion": ("magent.cli.completion", "Print the completion script for SHELL."),
}

# Commands whose -d/--deployment completes Deployment names, with -n/--namespace and --context beside it: `-d <TAB>`
# is answered from this table without loading the command (cli.quick_completion; a test checks it against
# the commands themselves).
DEPLOYMENT_COMPLETING: tuple[tuple[str, ...], ...] = (("deploy",), ("rollback",), ("status",), ("history",),
                                                      ("key", "rotate"))


def load_command(name: str, subcommand: str | None = None) -> Any:
    """Import the module of command `name`, register it on a Typer app of its own and build its click command;
    of a group, only `subcommand` when it names one (`magent key verify …` never needs `key rotate`'s)."""
    module, _ = COMMANDS[name]
    holder = typer.Typer(rich_markup_mode=None)
    importlib.import_module(module).register(holder)
    _only(holder, name)
    if subcommand is not None:
        _only_subcommand(holder, subcommand)
    command = typer.main.get_group(holder).commands[name]
    _accept_global_options(command)
    param_coercion.install(command, HELP_OPTION_NAMES)
    return command


def _only(holder: typer.Typer, name: str) -> None:
    """Keep only command `name` of those a module registered (rollout.py: rollback, status, history): Typer would
    build every one of them, each costing as much as the one asked for."""
    commands = [info for info in holder.registered_commands if info.name in (name, None)]
    groups = [info for info in holder.registered_groups if info.name in (name, None)]
    if commands or groups:
        holder.registered_commands, holder.registered_groups = commands, groups


def _only_subcommand(holder: typer.Typer, subcommand: str) -> None:
    """The group with `subcommand` alone, on copies: the module's own Typer app keeps all of its commands."""
    for index, info in enumerate(holder.registered_groups):
        group = info.typer_instance
        chosen = [command for command in getattr(group, "registered_commands", []) if command.name == subcommand]
        if chosen:
            narrowed = copy.copy(group)
            narrowed.registered_commands, narrowed.registered_groups = chosen, []
            holder.registered_groups[index] = copy.copy(info)
            holder.registered_groups[index].typer_instance = narrowed


def _accept_global_options(command: Any) -> None:
    """Let `magent deploy … --debug` work as `magent --debug deploy …` does (see state.GLOBAL_OPTIONS_ANYWHERE)."""
    from magent.cli.state import global_options_after_command

    taken = {name for param in command.params for name in [*param.opts, *param.secondary_opts]}
    command.params.extend(option for option in global_options_after_command() if not set(option.opts) & taken)
    for sub in getattr(command, "commands", {}).values():
        _accept_global_options(sub)


class CtrlC(Exception):
    """A KeyboardInterrupt carried past typer, which would otherwise turn it into a silent exit 130."""


class LazyGroup(TyperGroup):
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise CtrlC() from exc

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(name for name in COMMANDS if name not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        subcommand = getattr(self, "_next_word", None)
        if cmd_name not in self.commands and cmd_name in COMMANDS and subcommand is not None:
            # a group narrowed to the subcommand on this command line serves this run only: kept, `key verify`'s
            # group would hide `key rotate` from the next lookup (the reference, the docs test, `magent demo`)
            return load_command(cmd_name, subcommand)
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = load_command(cmd_name)
        return super().get_command(ctx, cmd_name)

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        """`magent de<TAB>`: command names and their one-line help from COMMANDS, importing no command module."""
        from typer._click.shell_completion import CompletionItem

        names = [CompletionItem(name, help=short_help) for name, (_, short_help) in COMMANDS.items()
                 if name.startswith(incomplete)]
        return names + super(TyperGroup, self).shell_complete(ctx, incomplete)  # the root's own options

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short_help) for name, (_, short_help) in COMMANDS.items()])

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        self._next_word = args[1] if len(args) > 1 else None  # the subcommand, if the command is a group
        try:
            return self._click_resolve_command(ctx, args)
        except typer.TyperException as exc:  # "No such command": suggest from every name, loaded or not
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if matches and hasattr(exc, "message"):
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {', '.join(map(repr, matches))}?"
            raise
        finally:
            self._next_word = None  # a later lookup (the reference, completion) gets the whole group
