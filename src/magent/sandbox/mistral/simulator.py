"""`MistralSimulator`: the whole simulator on a real port, in a background thread."""

from __future__ import annotations

import random

from magent.sandbox.mistral.config import FaultConfig, SimulatorConfig


class MistralSimulator:
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
        self._server = None

    def start(self) -> MistralSimulator:
        from magent.sandbox.server import ServerThread

        if self._server is None:
            self._server = ServerThread(self.app, host=self.config.host, port=self.config.port).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> MistralSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL without `/v1`, as `Mistral(server_url=…)` wants it."""
        if self._server is None:
            raise RuntimeError("the simulator is not running: call start() or use it as a context manager")
        return self._server.url

    @property
    def faults(self) -> FaultConfig:
        return self._injector.config

    def set_faults(self, faults: FaultConfig) -> None:
        """Change the injected faults while running (thread-safe)."""
        self._injector.set(faults)

    @property
    def fault_counts(self) -> dict[str, int]:
        """Faults injected so far by kind: "reset", "error", "rate_limit", "slow"."""
        return self._injector.counts

    @property
    def request_count(self) -> int:
        """Requests received so far, faulted ones included."""
        return self._counter.value
