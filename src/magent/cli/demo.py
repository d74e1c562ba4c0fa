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
from magent.core.text import counted


@dataclass(frozen=True)
class DemoStep:
    title: str
    argv: tuple[str, ...]
    expected_exit: int = 0
    needs_aws: bool = False


def demo_steps(repository: str, deployment: str, *, aws: bool = True) -> list[DemoStep]:
    """The story of a release, as a user would type it; the AWS steps need moto (magent[sandbox])."""
    from magent.sandbox.extras import SECRET_ID

    steps = [
        DemoStep("Preflight: is the release ready? (the sample repository has a planted key)", ("preflight",),
                 expected_exit=1),
        DemoStep("The alert table, as Markdown (also Prometheus rules or CloudWatch alarms)",
                 ("alerts", "render", "--format", "markdown")),
        DemoStep("Create the alarms in CloudWatch (moto)", ("alerts", "apply", "--yes"), needs_aws=True),
        DemoStep("Verify the Mistral API key", ("key", "verify")),
        DemoStep("Rotate the key in Secrets Manager: verified, promoted, pods restarted, health checked",
                 ("key", "rotate", "--secret-id", f"{SECRET_ID}#api_key", "--new-key-from",
                  "env:MISTRAL_API_KEY_NEXT", "-d", deployment, "--yes"), needs_aws=True),
        DemoStep("Deploy v2 as a canary: analysed at each step, then promoted",
                 ("deploy", f"{repository}:v2", "-d", deployment, "--yes")),
        # right after the promotion: once a later deploy has aborted, `rollback` rightly has nothing to undo
        DemoStep("On-call: v2 misbehaves in production, roll it back to v1",
                 ("rollback", "-d", deployment, "--yes", "--reason", "demo: back to the release before v2")),
        DemoStep("Deploy v3, which crash-loops: the analysis fails, the canary is aborted, the stable untouched",
                 ("deploy", f"{repository}:v3-crashloop", "-d", deployment, "--yes"), expected_exit=1),
        DemoStep("Revisions of the Deployment", ("history", "-d", deployment)),
        DemoStep("Where things stand", ("status", "-d", deployment)),
        DemoStep("Export agents and conversations into the embedded Postgres", ("conversations", "export")),
        DemoStep("Tokens and cost by model", ("usage", "report", "--by", "model")),
    ]
    return [step for step in steps if aws or not step.needs_aws]


def ecs_demo_steps(repository: str) -> list[DemoStep]:
    """The same release on ECS: a traffic-weighted canary (ALB listener weights) judged on the ALB's metrics."""
    ecs = ("--target", "ecs")
    return [
        DemoStep("Preflight of the ECS service: key from Secrets Manager, health check, 2 tasks, circuit breaker "
                 "(moto keeps no circuit-breaker setting: that warning is moto's)",
                 ("preflight", "--only", "ecs"), needs_aws=True),
        DemoStep("Deploy v2 on ECS: 25 % then 50 % of requests by listener weight, judged on the ALB's metrics, "
                 "then promoted", ("deploy", f"{repository}:v2", *ecs, "--yes"), needs_aws=True),
        DemoStep("Deploy v3, which answers 30 % 5xx: aborted, the listener back at 100/0 in one call",
                 ("deploy", f"{repository}:v3-5xx", *ecs, "--yes"), expected_exit=1, needs_aws=True),
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
    target: Annotated[str, typer.Option(
        "--target", help="kubernetes (the whole flow) or ecs (the deploys on an ECS service in moto).",
        autocompletion=lambda: ["kubernetes", "ecs"])] = "kubernetes",
) -> None:
    """Rehearse a release offline: start the simulators and run magent's main commands against them.

    Starts the Mistral API simulator, the Kubernetes API simulator with a Deployment `shop/agent` (4 pods of
    registry.local/agent:v1), a sample agent app and moto (AWS, with magent[sandbox]), then runs: preflight
    (on a sample repository with one planted flaw), alerts render and apply, key verify, key rotate, a healthy
    canary deploy (promoted), a crash-looping canary (aborted), history, rollback, status, conversations
    export (into an embedded Postgres) and usage report. Nothing outside this machine is touched. Takes
    under a minute.

    With `--target ecs` (needs magent[sandbox]) the deploys run on an ECS service behind an ALB in moto instead:
    preflight of the service, a healthy canary promoted by listener weights, a 5xx canary aborted.

    Exit codes: 0 every step behaved as expected; 1 a step did not; 2 --target ecs without moto.
    """
    from magent.cli.state import get_state
    from magent.core.errors import UsageError
    from magent.sandbox.extras import MOTO_INSTALL_HINT
    from magent.sandbox.stack import DEPLOYMENT, IMAGE_REPOSITORY, SandboxStack

    if target not in ("kubernetes", "ecs"):
        raise UsageError(f"--target {target!r} is not a demo target", hint="use kubernetes or ecs")
    state = get_state()
    with tempfile.TemporaryDirectory(prefix="magent-demo-") as scratch:
        root = directory or Path(scratch)
        with SandboxStack(root, aws=True, ecs=target == "ecs") as stack, _environment(stack.env):
            _print_stack(state, stack)
            aws = "AWS_ENDPOINT_URL" in stack.env
            if target == "ecs" and not aws:
                raise UsageError("the ECS demo runs on moto, which is not installed", hint=MOTO_INSTALL_HINT)
            if not aws:
                state.err.print(f"Note: without moto the AWS steps (alerts apply, key rotate) are left out: "
                                f"{MOTO_INSTALL_HINT}", markup=False, highlight=False, soft_wrap=True)
            steps = (ecs_demo_steps(IMAGE_REPOSITORY) if target == "ecs"
                     else demo_steps(IMAGE_REPOSITORY, DEPLOYMENT, aws=aws))
            results = [_run_step(state, index, step) for index, step in enumerate(steps, 1)]
            _print_summary(state, results)
            if serve:
                _serve_until_interrupted(state, stack)
    failed = [step for step, code in results if code != step.expected_exit]
    if failed:
        raise CheckFailed(f"{counted(len(failed), 'demo step')} did not behave as expected: {failed[0].title}",
                          hint="rerun with --debug to see details")


def _run_step(state, index: int, step: DemoStep) -> tuple[DemoStep, int]:
    from magent.cli.app import run

    if state.err.is_terminal:
        state.err.rule(f"[bold]{index}. {step.title}", align="left")
    else:  # a redirected console is unbounded (tables never fold): a rule would be 100,000 characters wide
        state.err.print(f"── {index}. {step.title} " + "─" * 20, markup=False, highlight=False)
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

    # The simulator's key opens nothing but this local sandbox, so it is printed: a person needs it to try things.
    exports = " ".join(f"{name}={value}" for name, value in stack.env.items())
    state.err.print(f"The sandbox keeps running. In another shell:\n  export {exports}\n"
                    "  (MISTRAL_API_KEY is the simulator's throwaway test key; it works only against this sandbox)\n"
                    "Press Ctrl-C (or send SIGTERM) to stop.", soft_wrap=True, highlight=False, markup=False)  # copy-pastable
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        state.err.print("stopped")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
