"""`magent sandbox mistral`: run the Mistral API simulator in the foreground."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from magent.core.errors import UsageError

if TYPE_CHECKING:
    from magent.sandbox.mistral import MistralSimulator, SimulatorConfig


def serve_mistral(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1; 0 picks a free one.")] = 0,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    api_key: Annotated[
        Optional[list[str]],
        typer.Option("--api-key", metavar="KEY",
                     help="Accept this key (repeatable). Default: $MISTRAL_API_KEY, else a new random key."),
    ] = None,
    unpaid_key: Annotated[
        Optional[list[str]],
        typer.Option("--unpaid-key", metavar="KEY", help="Accept this key with payment not activated (repeatable)."),
    ] = None,
    agents: Annotated[int, typer.Option(min=0, help="Seeded agents.")] = 3,
    conversations: Annotated[int, typer.Option(min=0, help="Seeded conversations.")] = 10,
    days: Annotated[int, typer.Option(min=1, help="Spread the conversations over this many days before now.")] = 30,
    seed: Annotated[int, typer.Option(help="Seed of the data and of the faults: same seed, same run.")] = 1,
    error_rate: Annotated[float, typer.Option(help="Share of requests answered 500/502/503.")] = 0.0,
    rate_limit_rate: Annotated[float, typer.Option(help="Share of requests answered 429 (Retry-After: 1).")] = 0.0,
    capacity_rate: Annotated[
        float, typer.Option(help="Share of requests answered 429 service_tier_capacity_exceeded (Retry-After: 1).")
    ] = 0.0,
    reset_rate: Annotated[float, typer.Option(help="Share of connections reset without a response.")] = 0.0,
    latency: Annotated[str, typer.Option(help="Latency added to every request, e.g. 20ms.")] = "0ms",
    latency_jitter: Annotated[str, typer.Option(help="Mean of an extra exponential latency tail, e.g. 10ms.")] = "0ms",
    slow_rate: Annotated[float, typer.Option(help="Share of requests made 2 s slower.")] = 0.0,
    rpm: Annotated[int, typer.Option(min=1, help="Requests per minute allowed per key.")] = 600,
    tpm: Annotated[int, typer.Option(min=1, help="Tokens per minute allowed per key.")] = 2_000_000,
) -> None:
    """Serve the Mistral API simulator until Ctrl-C; print its base URL on the first line of stdout.

    Point the official SDK at it with `Mistral(api_key=KEY, server_url=URL)`, or magent with
    `MAGENT_MISTRAL_URL=URL`. Keys given with --api-key are paid; --unpaid-key ones get 401 on chat and
    conversations. With no key at all, $MISTRAL_API_KEY is accepted, or else a throwaway key is generated and
    shown once on stderr (it only opens this local simulator).
    """
    from magent.core.redact import fingerprint
    from magent.sandbox.mistral import KeySpec, SimulatorConfig

    paid, unpaid, shown_key = _keys(api_key or [], unpaid_key or [])
    specs = [KeySpec(k, rpm=rpm, tpm=tpm) for k in paid] + [
        KeySpec(k, payment_activated=False, rpm=rpm, tpm=tpm) for k in unpaid
    ]
    faults = _faults(error_rate=error_rate, rate_limit_rate=rate_limit_rate, reset_rate=reset_rate,
                     capacity_rate=capacity_rate, slow_rate=slow_rate, latency=latency, latency_jitter=latency_jitter)
    config = SimulatorConfig(keys=specs, agents=agents, conversations=conversations, seed=seed, days=days,
                             faults=faults, host=host, port=port)
    described = [(fingerprint(k), "paid") for k in paid if k != shown_key]
    described += [(fingerprint(k), "payment not activated") for k in unpaid]
    _serve(config, described, shown_key)


def _keys(paid: list[str], unpaid: list[str]) -> tuple[list[str], list[str], str | None]:
    """The paid and unpaid keys to accept, and the generated key to show (None when the user gave keys)."""
    from magent.core.redact import SECRETS
    from magent.sandbox.mistral import generate_key

    paid, unpaid, shown_key = list(paid), list(unpaid), None
    if not paid and not unpaid:
        env_key = os.environ.get("MISTRAL_API_KEY", "").strip()
        if env_key:
            paid = [env_key]
        else:
            shown_key = generate_key()
            paid = [shown_key]
    for key in (*paid, *unpaid):
        _check_key(key)
        if key != shown_key:
            SECRETS.add(key)
    return paid, unpaid, shown_key


def _faults(*, latency: str, latency_jitter: str, **rates: float):
    from magent.sandbox.mistral import FaultConfig

    for name, rate in rates.items():
        if not 0.0 <= rate <= 1.0:
            option = "--" + name.replace("_", "-")
            raise UsageError(f"{option} must be between 0 and 1, got {rate}", hint="e.g. --error-rate 0.05")
    try:
        return FaultConfig(**rates, latency_ms=_millis(latency, "--latency"),
                           latency_jitter_ms=_millis(latency_jitter, "--latency-jitter"))
    except ValueError as exc:
        raise UsageError(str(exc).replace("_", "-"),
                         hint="the error, rate-limit, capacity and reset rates together must not exceed 1") from None


def _check_key(key: str) -> None:
    if not key or any(ch.isspace() for ch in key):
        raise UsageError("an API key must be non-empty and contain no spaces",
                         hint="e.g. --api-key $(openssl rand -hex 16)")


def _millis(text: str, option: str) -> float:
    from magent.core.timeutil import parse_duration

    try:
        return parse_duration(text) * 1000
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}", hint="use a duration such as 20ms or 1s") from None


def _serve(config: SimulatorConfig, described_keys: list[tuple[str, str]], shown_key: str | None) -> None:
    """Start, announce (the rest on stderr, then the URL on stdout once all is ready), wait for Ctrl-C or
    SIGTERM, stop."""
    import signal
    import threading

    from magent.sandbox.mistral import MistralSimulator

    stopping = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        try:
            sim = MistralSimulator(config).start()
        except (OSError, RuntimeError, SystemExit) as exc:
            raise UsageError(f"cannot listen on {config.host}:{config.port}: {exc}", hint="try another --port") from None
        _announce(sim, described_keys, shown_key)
        print(sim.url, flush=True)
        try:
            while not stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        finally:
            sim.stop()
            typer.echo("Mistral API simulator stopped.", err=True)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _announce(sim: MistralSimulator, described_keys: list[tuple[str, str]], shown_key: str | None) -> None:
    cfg = sim.config
    lines = [f"Mistral API simulator: {cfg.agents} agents, {cfg.conversations} conversations, seed {cfg.seed}."]
    if shown_key:
        lines.append(f"Sandbox API key (generated for this simulator only, shown once): {shown_key}")
    lines += [f"Accepts key {fp} ({what})" for fp, what in described_keys]
    lines += [
        f"Use it:  export MAGENT_MISTRAL_URL={sim.url}",
        f"         Mistral(api_key=KEY, server_url=\"{sim.url}\")",
        f"         curl -H \"Authorization: Bearer $KEY\" {sim.url}/v1/models",
        "Press Ctrl-C to stop.",
    ]
    typer.echo("\n".join(lines), err=True)


def register(sandbox_app: typer.Typer) -> None:
    sandbox_app.command("mistral")(serve_mistral)
