"""`magent sandbox up / status / down`: the whole sandbox in the background, for drills and other test suites."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from magent.cli.state import OutputFormat, OutputOption, get_state

if TYPE_CHECKING:
    from magent.cli.state import AppState

DirOption = Annotated[
    Optional[Path],
    typer.Option("--dir", envvar="MAGENT_SANDBOX_DIR", show_envvar=True, file_okay=False, show_default=False,
                 help="The sandbox's directory: state, log, kubeconfig, Postgres "
                      "[default: $XDG_STATE_HOME/magent/sandbox, i.e. ~/.local/state/magent/sandbox]."),
]

UP_HELP = """Start the whole sandbox in the background and print the environment to use it.

One background process runs: the Mistral API simulator (seeded agents and conversations); the Kubernetes API
simulator with Deployment shop/agent at registry.local/agent:v1, its Secret and PodDisruptionBudget, and a
sample agent app (/health, /metrics); moto in server mode with the simulator's key in Secrets Manager
(secret sandbox/mistral, JSON field api_key; needs `pip install 'magent[sandbox]'`); Prometheus scraping the
agent app, when `prometheus` is on PATH; and an embedded Postgres. A component that cannot run here is
reported with how to install it; the rest still starts.

Prints `export` lines (shell-quoted) for KUBECONFIG, MAGENT_MISTRAL_URL, MISTRAL_API_KEY (the simulator's own
throwaway key: it opens nothing but this sandbox, and is meant to be used), AWS_ENDPOINT_URL with moto's dummy
credentials, MAGENT_DATABASE_URL, MAGENT_CONFIG (a magent.yaml for the sandbox), MAGENT_DATA_DIR and
MAGENT_SANDBOX_DIR (so that `status` and `down` find it); or, with -o json, the same as data. Run again, it
prints the environment of the sandbox already running; a state file left by a sandbox that died is replaced.
Stop it with `magent sandbox down`.

Exit codes: 0 running; 2 unusable --dir; 3 the sandbox did not start (see DIR/sandbox.log).

\b
Examples:
  eval "$(magent sandbox up)"
  magent sandbox up --dir /tmp/drill -o json | jq -r .env.KUBECONFIG
"""


def up(
    directory: DirOption = None,
    timeout: Annotated[float, typer.Option("--timeout", min=1, metavar="SECONDS",
                                           help="Give up when the sandbox is not ready by then.")] = 90.0,
    output: OutputOption = None,
) -> None:
    from magent.sandbox import control

    state = get_state()
    root = _root(directory)
    started = _with_progress(state, "starting the sandbox",
                             lambda: control.up(root, timeout=timeout, debug=state.debug))
    data = {"already_running": started.already_running, **started.state}
    fmt = state.output_format(output)
    if fmt is OutputFormat.table:
        _print_exports(data["env"])
        _describe_up(state, started, data, explicit_dir=directory is not None)
    else:
        _print_data(fmt, data)


STATUS_HELP = """Is the sandbox running? Its process, uptime, and a health probe of each component.

Exit codes: 0 running, every component answers; 1 not running, stale (its process died) or degraded.
"""


def status(directory: DirOption = None, output: OutputOption = None) -> None:
    from magent.cli.render import emit
    from magent.sandbox import control

    state = get_state()
    report = control.status(_root(directory))
    emit(state, state.output_format(output), report, table=lambda: _status_table(state, report))
    if report["state"] == "not running":
        state.err.print("Start one with: magent sandbox up", highlight=False)
    elif report["state"] == "stale":
        state.err.print("Its process is gone: `magent sandbox up` replaces it, `magent sandbox down` cleans up.",
                        highlight=False, soft_wrap=True, markup=False)
    raise typer.Exit(0 if report["state"] == "running" else 1)


DOWN_HELP = """Stop the sandbox and everything it started (simulators, moto, Prometheus, Postgres).

SIGTERM first; SIGKILL for the whole process group after --timeout. A sandbox already gone is cleaned up
(its Postgres stopped, its state file removed). Nothing running is not an error.

Exit codes: 0 stopped, or nothing to stop; 2 unusable --dir.
"""


def down(
    directory: DirOption = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0, metavar="SECONDS",
                                           help="Wait this long after SIGTERM before SIGKILL.")] = 20.0,
    output: OutputOption = None,
) -> None:
    from magent.sandbox import control

    state = get_state()
    root = _root(directory)
    stopped = _with_progress(state, "stopping the sandbox", lambda: control.down(root, timeout=timeout))
    message = {
        "absent": f"No sandbox running in {root}.",
        "stale": f"No sandbox running in {root}; cleaned up the state its process (pid {stopped.pid}) left.",
        "running": f"Sandbox stopped (pid {stopped.pid}{', killed after --timeout' if stopped.killed else ''}).",
    }[stopped.was]
    fmt = state.output_format(output)
    if fmt is not OutputFormat.table:
        _print_data(fmt, {"dir": str(root), "was": stopped.was, "pid": stopped.pid, "killed": stopped.killed})
    state.err.print(message, highlight=False, soft_wrap=True)


def serve(directory: DirOption = None) -> None:
    """Run the sandbox in the foreground until SIGTERM or Ctrl-C (what `magent sandbox up` starts)."""
    import logging

    from magent.core.errors import MagentError, Unreachable, UsageError
    from magent.sandbox import daemon

    root = daemon.prepare_dir(_root(directory))
    running = daemon.read_state(root)
    if running is not None and daemon.pid_alive(running["pid"]):
        raise UsageError(f"a sandbox already runs in {root} (pid {running['pid']})",
                         hint="use it (magent sandbox up prints its environment), or stop it: magent sandbox down")
    try:
        signum = daemon.serve(root, on_ready=_announce)
    except MagentError:
        raise
    except Exception as exc:  # the log's last line is what `up` shows: make it the reason, not a frame
        logging.getLogger("magent.sandbox").debug("sandbox failed to start", exc_info=True)
        raise Unreachable(f"the sandbox could not start: {type(exc).__name__}: {exc}",
                          hint="rerun with --debug for the traceback") from None
    typer.echo("sandbox stopped", err=True)
    raise typer.Exit(130 if signum == 2 else 0)


def _announce(data: dict[str, Any]) -> None:
    lines = [f"sandbox ready (pid {data['pid']})"]
    lines += [f"  {c['name']}: {c['url'] or 'not started'}  ({c['note']})" for c in data["components"]]
    typer.echo("\n".join(lines), err=True)


def _root(directory: Path | None) -> Path:
    from magent.sandbox.daemon import default_dir

    return (directory or default_dir()).expanduser().resolve()


def _with_progress(state: AppState, label: str, work):
    if state.plain:
        return work()
    with state.err.status(label):
        return work()


def _print_exports(env: dict[str, str]) -> None:
    # Plain print, not the masking renderers: the simulator's key is meant to be shown and used.
    for name, value in env.items():
        print(f"export {name}={shlex.quote(str(value))}")


def _print_data(fmt: OutputFormat, data: dict[str, Any]) -> None:
    import json

    if fmt is OutputFormat.yaml:
        import yaml

        print(yaml.safe_dump(data, sort_keys=False), end="")
    else:
        print(json.dumps(data, indent=2))


def _describe_up(state: AppState, started: Any, data: dict[str, Any], *, explicit_dir: bool) -> None:
    verb = "already running" if started.already_running else "started"
    replaced = " (replaced the state of a sandbox that had died)" if started.replaced_stale else ""
    state.err.print(f"Sandbox {verb} in {data['dir']}, pid {data['pid']}{replaced}.", highlight=False, soft_wrap=True)
    width = max(len(c["name"]) for c in data["components"])
    for c in data["components"]:  # lines, not a table: a folded URL could not be copied
        state.err.print(f"  {c['name']:<{width}}  {c['url'] or 'not started'}  ({c['note']})",
                        highlight=False, soft_wrap=True, markup=False)
    where = f" --dir {shlex.quote(data['dir'])}" if explicit_dir else ""
    state.err.print(f"Use it: eval \"$(magent sandbox up{where})\"   Stop it: magent sandbox down{where}",
                    highlight=False, soft_wrap=True, markup=False)


def _status_table(state: AppState, report: dict[str, Any]):
    import sys

    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from magent.core.redact import SECRETS
    from magent.core.timeutil import human_duration

    head = f"Sandbox in {report['dir']}: {report['state']}"
    if report.get("pid") and report["state"] != "stale":
        uptime = report.get("uptime_s")
        head += f" (pid {report['pid']}{', up ' + human_duration(uptime) if uptime is not None else ''})"
    if not report["components"]:
        return Text(head)
    if not sys.stdout.isatty():
        state.out.width = max(state.out.width, 200)  # piped: never fold a URL into pieces
    table = Table(header_style="bold")
    # in a narrow terminal the url and detail fold; the short columns keep their whole words
    table.add_column("component", no_wrap=True, min_width=max(len(c["name"]) for c in report["components"]))
    table.add_column("url", overflow="fold")
    table.add_column("health", no_wrap=True, min_width=len("skipped"))
    table.add_column("detail", overflow="fold")
    for c in report["components"]:
        health = "ok" if c["healthy"] else ("skipped" if not c["url"] else "DOWN")
        detail = c["detail"] if c["url"] else c["note"]
        # Masked like the JSON report (render masks every output): a URL's password never reaches a table either.
        table.add_row(c["name"], SECRETS.mask(c["url"] or "-"), health, SECRETS.mask(detail or ""))
    return Group(Text(head), table)


def register(sandbox_app: typer.Typer) -> None:
    sandbox_app.command("up", help=UP_HELP)(up)
    sandbox_app.command("status", help=STATUS_HELP)(status)
    sandbox_app.command("down", help=DOWN_HELP)(down)
    sandbox_app.command("serve", hidden=True)(serve)
