"""`MistralSimulator`: the whole simulator on a real port, in a background thread."""

from __future__ import annotations

import random
from typing import Any

from magent.sandbox.mistral.config import FaultConfig, SimulatorConfig
from magent.sandbox.server import ServedApp


class MistralSimulator(ServedApp):
    """The Mistral API on 127.0.0.1, for the SDK, curl, tests and the demo.

        with MistralSimulator(SimulatorConfig(keys=[KeySpec(key)])) as sim:
            client = Mistral(api_key=key, server_url=sim.url)
    """

    def __init__(self, config: SimulatorConfig) -> None:
        from magent.sandbox.mistral.app import SimContext, build_app
        from magent.sandbox.mistral.auth import Gatekeeper
        from magent.sandbox.mistral.data import Dataset
        from magent.sandbox.mistral.faults import FaultInjector, RequestCounter

        self.config = config
        self.data = Dataset(
            seed=config.seed, agents=config.agents, conversations=config.conversations, days=config.days,
            now=config.now, entries_per_conversation=config.entries_per_conversation,
        )
        self._injector = FaultInjector(config.faults, config.seed)
        self._counter = RequestCounter()
        self.gate = Gatekeeper(config.keys)
        context = SimContext(data=self.data, gate=self.gate, rng=random.Random(config.seed * 131 + 3))
        self.app = build_app(context, self._injector, self._counter)
        self._host, self._port = config.host, config.port

    def _asgi(self) -> Any:
        return self.app

    @property
    def faults(self) -> FaultConfig:
        return self._injector.config

    def set_faults(self, faults: FaultConfig) -> None:
        """Change the injected faults while running (thread-safe)."""
        self._injector.set(faults)

    @property
    def fault_counts(self) -> dict[str, int]:
        """Faults injected so far by kind: "reset", "error", "rate_limit", "capacity", "slow"."""
        return self._injector.counts

    @property
    def request_count(self) -> int:
        """Requests received so far, faulted ones included."""
        return self._counter.value
