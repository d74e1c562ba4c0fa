"""`magent demo`: the whole flow, offline, on embedded defaults: key check, export, usage report, a canary
promoted, a bad canary aborted, history and rollback; each step is the real command a user would type."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer

from magent.core.errors import CheckFailed


@dataclass(frozen=True)
class DemoStep:
    title: str
    argv: tuple[str, ...]
    expected_exit: int = 0


def demo_steps(repository: str, deployment: str) -> list[DemoStep]:
    return [
        DemoStep("Preflight: is the release ready? (the sample repository has a planted key)", ("preflight",),
                 expected_exit=1),
        DemoStep("Verify the Mistral API key", ("key", "verify")),
        DemoStep("Export agents and conversations into the embedded Postgres", ("conversations", "export")),
        DemoStep("Tokens and cost by model", ("usage", "report", "--by", "model")),
        DemoStep("Deploy v2 as a canary: analysed at each step, then promoted",
                 ("deploy", f"{repository}:v2", "-d", deployment, "--yes")),
        DemoStep("Deploy v3, which crash-loops: aborted, the stable Deployment untouched",
                 ("deploy", f"{repository}:v3-crashloop", "-d", deployment, "--yes"), expected_exit=1),
        DemoStep("Revisions of the Deployment", ("history", "-d", deployment)),
        DemoStep("On-call: roll back to the previous revision",
                 ("rollback", "-d", deployment, "--yes", "--reason", "demo: back to v1")),
        DemoStep("Where things stand", ("status", "-d", deployment)),
    ]


@contextmanager
def _environment(values: dict[str, str]):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def demo(
    directory: Annotated[
        Optional[Path], typer.Option("--dir", help="Keep the demo's files (kubeconfig, config, Postgres) here.")
    ] = None,
    serve: Annotated[bool, typer.Option("--serve", help="Keep the simulators running afterwards, until Ctrl-C.")] = False,
) -> None:
    """Rehearse a release offline: start the simulators and run magent's main commands against them.

    Starts the Mistral API simulator, the Kubernetes API simulator with a Deployment `shop/agent` (4 pods of
    registry.local/agent:v1) and a sample agent app, then runs: preflight (on a sample repository with one
    planted flaw), key verify, conversations export (into an
    embedded Postgres), usage report, a healthy canary deploy (promoted), a crash-looping canary (aborted),
    history, rollback and status. Nothing outside this machine is touched. Takes about a minute.

    Exit codes: 0 every step behaved as expected; 1 a step did not.
    """
    from magent.cli.state import get_state
    from magent.sandbox.stack import DEPLOYMENT, IMAGE_REPOSITORY, SandboxStack

    state = get_state()
    with tempfile.TemporaryDirectory(prefix="magent-demo-") as scratch:
        root = directory or Path(scratch)
        with SandboxStack(root) as stack, _environment(stack.env):
            _print_stack(state, stack)
            steps = demo_steps(IMAGE_REPOSITORY, DEPLOYMENT)
            results = [_run_step(state, index, step) for index, step in enumerate(steps, 1)]
            _print_summary(state, results)
            if serve:
                _serve_until_interrupted(state, stack)
    failed = [step for step, code in results if code != step.expected_exit]
    if failed:
        raise CheckFailed(f"{len(failed)} demo step(s) did not behave as expected: {failed[0].title}",
                          hint="rerun with --debug to see details")


def _run_step(state, index: int, step: DemoStep) -> tuple[DemoStep, int]:
    from magent.cli.app import run

    state.err.rule(f"[bold]{index}. {step.title}", align="left")
    state.err.print(f"$ magent {' '.join(step.argv)}", style="cyan", highlight=False)
    code = run(list(step.argv))
    state.err.print()
    return step, code


def _print_stack(state, stack) -> None:
    from magent.cli.render import simple_table

    state.err.print(simple_table("magent demo: the sandbox", ["component", "where"], stack.describe()))


def _print_summary(state, results: list[tuple[DemoStep, int]]) -> None:
    from magent.cli.render import simple_table

    rows = [
        (str(index), step.title, f"{code} (expected {step.expected_exit})",
         "ok" if code == step.expected_exit else "UNEXPECTED")
        for index, (step, code) in enumerate(results, 1)
    ]
    state.out.print(simple_table("magent demo: summary", ["#", "step", "exit", "result"], rows))


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # `kill PID` stops the sandbox as cleanly as Ctrl-C (embedded Postgres included)


def _serve_until_interrupted(state, stack) -> None:
    import signal
    import time

    signal.signal(signal.SIGTERM, _stop_on_sigterm)

    exports = " ".join(f"{name}={value}" for name, value in stack.env.items() if name != "MISTRAL_API_KEY")
    state.err.print(f"The sandbox keeps running. In another shell:\n  export {exports}\n"
                    "  (the simulator's throwaway key: run `magent sandbox mistral` for one of your own)\n"
                    "Press Ctrl-C (or send SIGTERM) to stop.", soft_wrap=True, highlight=False, markup=False)  # copy-pastable
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        state.err.print("stopped")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
