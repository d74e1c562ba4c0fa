"""`magent sandbox kube`: run the Kubernetes API simulator in the foreground."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from magent.core.errors import UsageError


def serve_kube(
    kubeconfig: Annotated[
        Path, typer.Option("--kubeconfig", help="Write a kubeconfig for the simulator here (mode 0600).",
                           dir_okay=False, show_default=False)
    ],
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1; 0 picks a free one.")] = 0,
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="Namespace to create and use in the kubeconfig's context.")
    ] = "default",
    context: Annotated[str, typer.Option(help="Name of the kubeconfig context.")] = "magent-sandbox",
    ready_delay: Annotated[str, typer.Option(help="Time a new pod takes to become ready, e.g. 1s or 500ms.")] = "1s",
    restart_interval: Annotated[
        str, typer.Option(help="Time between restarts of -crashloop / -oom containers.")
    ] = "2s",
    seed_deployment: Annotated[
        Optional[list[str]],
        typer.Option("--seed-deployment", metavar="NAME=IMAGE",
                     help="Create this Deployment at start (repeatable), e.g. --seed-deployment web=app:v1."),
    ] = None,
    replicas: Annotated[int, typer.Option(min=0, help="Replicas of each seeded Deployment.")] = 3,
) -> None:
    """Serve the Kubernetes API simulator until Ctrl-C; print its URL on the first line of stdout.

    kubectl and the official Python client work against it through the kubeconfig it writes (cluster
    `magent-sandbox`, a user with a bearer token). Pods become ready after --ready-delay unless their image
    tag ends in `-unready` (never ready), `-crashloop` (CrashLoopBackOff, restarts) or `-oom` (OOMKilled).

    Example: magent sandbox kube --kubeconfig /tmp/kc --seed-deployment web=registry.local/agent:v1

    then, in another shell: kubectl --kubeconfig /tmp/kc rollout status deploy/web
    """
    from magent.core.redact import SECRETS
    from magent.sandbox.kube.manifests import deployment_manifest

    seeds = [_parse_seed(item) for item in seed_deployment or []]
    delay, interval = _seconds(ready_delay, "--ready-delay"), _seconds(restart_interval, "--restart-interval")
    sim = _start(port, delay, interval)
    SECRETS.add(sim.token)
    try:
        sim.create_namespace(namespace)
        for name, image in seeds:
            sim.create(deployment_manifest(name, image, replicas=replicas, namespace=namespace, container=name))
        sim.write_kubeconfig(kubeconfig, namespace=namespace, context=context)
    except Exception:
        sim.stop()
        raise
    print(sim.url, flush=True)
    typer.echo(f"Kubernetes API simulator at {sim.url}; kubeconfig {kubeconfig} (context {context}, "
               f"namespace {namespace}). Try: kubectl --kubeconfig {kubeconfig} get deploy", err=True)
    _wait(sim)


def _start(port: int, ready_delay: float, restart_interval: float):
    from magent.sandbox.kube import KubeSimulator

    sim = KubeSimulator(ready_delay=ready_delay, restart_interval=restart_interval, port=port)
    try:
        return sim.start()
    except (OSError, RuntimeError, SystemExit) as exc:
        sim.stop()
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc}", hint="try another --port, or 0") from None


def _wait(sim) -> None:
    """Block until Ctrl-C (exit 130) or SIGTERM (exit 0), then stop the server and its controllers."""
    import signal
    import threading

    stopping = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        sim.stop()
        typer.echo("Kubernetes API simulator stopped.", err=True)
        raise typer.Exit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    sim.stop()
    typer.echo("Kubernetes API simulator stopped.", err=True)


def _parse_seed(item: str) -> tuple[str, str]:
    import re

    name, _, image = item.partition("=")
    if not image or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name):
        raise UsageError(f"--seed-deployment {item!r} is not NAME=IMAGE",
                         hint="e.g. --seed-deployment web=registry.local/agent:v1 (NAME: lowercase letters, digits, -)")
    return name, image


def _seconds(text: str, option: str) -> float:
    from magent.core.timeutil import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}", hint="use a duration such as 500ms, 1s or 2m") from None


def register(sandbox_app: typer.Typer) -> None:
    sandbox_app.command("kube")(serve_kube)
