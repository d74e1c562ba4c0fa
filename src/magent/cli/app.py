"""The root command: global options, registration of the command groups, and error handling."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any, Optional

import typer

from magent import __version__
from magent.cli import fast_exit, param_coercion
from magent.cli.flags import complete_profiles
from magent.cli.interrupts import sigint_seen, tracking_sigint
from magent.cli.lazy import COMPLETE_VAR, HELP_OPTION_NAMES, PROG_NAME, CtrlC, LazyGroup
from magent.cli.state import OutputFormat, configure_logging, reset_state
from magent.core.errors import EXIT_CODES_HELP, EXIT_INTERRUPTED, MagentError

app = typer.Typer(
    name="magent",
    cls=LazyGroup,
    help="Release, canary, rollback, key and usage tooling for Mistral AI applications.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": HELP_OPTION_NAMES},
)


def _version(value: bool) -> None:
    if value:
        print(f"magent {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    profile: Annotated[
        Optional[str], typer.Option(help="Profile of magent.yaml to use.", envvar="MAGENT_PROFILE", show_envvar=True,
                                    autocompletion=complete_profiles)
    ] = None,
    config: Annotated[
        Optional[str], typer.Option(help="Path to magent.yaml.", envvar="MAGENT_CONFIG", show_envvar=True)
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--output", "-o", help="Output format.")] = OutputFormat.table,
    debug: Annotated[bool, typer.Option("--debug", help="Debug logs and tracebacks (secrets stay masked).")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colours or progress bars (also when NO_COLOR is set).")] = False,
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = None,
) -> None:
    state = reset_state()
    state.config_path, state.profile, state.output = config, profile, output
    state.debug, state.no_color = debug, no_color
    configure_logging(debug)


def main() -> None:
    """Console entry point: run the app and turn every MagentError into one clean line and its exit code."""
    from magent.cli.closed_stdout import tolerate_leaving_reader

    tolerate_leaving_reader()  # `magent deploy … | head -1` must not stop the deploy at its second line
    skip_pydantic_plugins(os.environ)
    code = run(sys.argv[1:])
    if sys._getframe(1).f_globals.get("__name__") == "__main__":  # the program itself, not a caller catching SystemExit
        fast_exit.leave(code)  # a command that asked for it ends here, without the interpreter's teardown
    sys.exit(code)


def skip_pydantic_plugins(environ: Any) -> None:
    """No pydantic plugins (observability hooks on validation) unless PYDANTIC_DISABLE_PLUGINS says otherwise.

    Looking for them reads the metadata of every installed distribution, 30-80 ms at the start of every command
    (before `magent rollback` can send its request), to validate magent's own configuration. Setting the
    variable, even empty, keeps pydantic's own behaviour."""
    environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def run(argv: list[str]) -> int:
    """Run `magent ARGV…` in this process and return its exit code (used by `main` and `magent demo`)."""
    fast_exit.cancel()  # a request of an earlier in-process run is not this one's
    if os.environ.get(COMPLETE_VAR):
        fast_exit.request()  # the shell waits for the process to end, not only for its answer
        return _complete(argv)
    command = typer.main.get_command(app)
    param_coercion.install(command, HELP_OPTION_NAMES)
    undecodable = next((arg for arg in argv if not _is_utf8(arg)), None)
    if undecodable is not None:  # bytes that are not UTF-8 reach Python as lone surrogates; no output could show them
        print(f"Error: the argument {ascii(undecodable)[:80]} is not valid UTF-8", file=sys.stderr)
        print("Hint: magent reads its arguments as UTF-8 text (check the shell's locale and the value's encoding)",
              file=sys.stderr)
        return 2
    with tracking_sigint():
        try:
            code = _run_command(command, argv)
            if code == 0 and (not argv or set(argv) & set(HELP_OPTION_NAMES)):
                fast_exit.request()  # help shown: the interpreter's teardown would take as long as the rest
            return code
        except Exception:
            if not sigint_seen():
                raise
            print("\nmagent: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED


def _is_utf8(arg: str) -> bool:
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _complete(argv: list[str]) -> int:
    """Answer the shell's completion request (on stdout), or answer nothing: never a traceback in the prompt."""
    import contextlib
    import io

    from magent.cli.quick_completion import quick_completion

    with contextlib.redirect_stderr(io.StringIO()):
        try:
            quick = quick_completion(os.environ)
            if quick is not None:
                print(quick)
                return 0
            command = typer.main.get_command(app)
            param_coercion.install(command, HELP_OPTION_NAMES)
            command.main(args=argv, prog_name=PROG_NAME, complete_var=COMPLETE_VAR, standalone_mode=False)
        except SystemExit as exc:  # typer ends a completion with sys.exit
            return exc.code if isinstance(exc.code, int) else 0
        except BaseException:  # noqa: B036 - Ctrl-C at the prompt included
            return 1
    return 0


def _run_command(command: Any, argv: list[str]) -> int:
    from magent.cli.state import get_state

    try:
        result = command.main(args=argv, prog_name=PROG_NAME, standalone_mode=False)
    except MagentError as exc:
        _report(exc, get_state().debug)
        return exc.exit_code
    except (CtrlC, typer.Abort):
        print("\nmagent: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except typer.TyperException as exc:  # click's usage errors, vendored by typer
        if type(exc).__name__ == "NoArgsIsHelpError":  # `magent`, `magent key`: help, as kubectl and gh do
            print(exc.format_message())
            return 0
        _show_usage_error(exc)
        return exc.exit_code
    return result if isinstance(result, int) else 0


def _show_usage_error(exc: typer.TyperException) -> None:
    """Usage errors in magent's own two-line shape: what is wrong, then where to look."""
    ctx = getattr(exc, "ctx", None)
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    # a value checked by a pydantic validator speaks pydantic ("Value error, …", "Input should be …")
    message = message.replace("Value error, ", "").replace(": Input should be ", ": should be ")
    print(f"Error: {message}", file=sys.stderr)
    print(f"Hint: see '{ctx.command_path if ctx else 'magent'} --help'", file=sys.stderr)


def _report(exc: MagentError, debug: bool) -> None:
    import traceback

    from magent.core.redact import SECRETS

    if debug:
        print(SECRETS.mask("".join(traceback.format_exception(exc))), file=sys.stderr, end="")
    print(SECRETS.mask(f"Error: {exc.message}"), file=sys.stderr)
    if exc.hint:
        print(SECRETS.mask(f"Hint: {exc.hint}"), file=sys.stderr)
