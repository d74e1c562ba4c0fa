"""The Mistral API simulator: a real HTTP server on 127.0.0.1 that the official SDK and curl can use.

    from magent.sandbox.mistral import MistralSimulator, SimulatorConfig, KeySpec, FaultConfig

    cfg = SimulatorConfig(keys=[KeySpec(key)], agents=3, conversations=10, seed=1)
    with MistralSimulator(cfg) as sim:
        Mistral(api_key=key, server_url=sim.url).models.list()

Modules: `config` (what a run is made of), `models` (catalogue), `generate`/`history`/`entries` (seeded
data), `data` (the store), `auth`/`limits` (keys, payment, model access, rate limits), `faults` (fault
injection middleware), `replies`/`structured` (chat answers: `n` choices, JSON modes, function calls),
`validate` (the API's 422s), `app` and `routes_*` (HTTP), `simulator` (the server in a thread).
Starlette and uvicorn are imported only when a simulator is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from magent.sandbox.mistral.config import FaultConfig, KeySpec, SimulatorConfig, generate_key

if TYPE_CHECKING:
    from magent.sandbox.mistral.simulator import MistralSimulator

__all__ = ["FaultConfig", "KeySpec", "MistralSimulator", "SimulatorConfig", "generate_key"]


def __getattr__(name: str) -> Any:
    if name == "MistralSimulator":
        from magent.sandbox.mistral.simulator import MistralSimulator

        return MistralSimulator
    raise AttributeError(name)
