"""`magent sandbox …`: the local simulators, for tests, the demo, and offline development."""

from __future__ import annotations

import typer

sandbox_app = typer.Typer(
    help="Run the offline sandbox in the background (up, status, down), or one simulator in the foreground.",
    no_args_is_help=True,
)

# One module per simulator; each exposes `register(sandbox_app)`.
SANDBOX_MODULES: tuple[str, ...] = (
    "magent.cli.sandbox_stack", "magent.cli.sandbox_mistral", "magent.cli.sandbox_kube",
)


def register(app: typer.Typer) -> None:
    import importlib

    for module in SANDBOX_MODULES:
        importlib.import_module(module).register(sandbox_app)
    app.add_typer(sandbox_app, name="sandbox")
