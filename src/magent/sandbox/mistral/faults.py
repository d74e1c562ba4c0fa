"""Fault injection and per-request bookkeeping, as an ASGI middleware in front of the routes.

For each request it counts, then (from a seeded RNG) delays it, resets its connection, answers a 5xx or an
injected 429, or lets it through; on the way out it adds the key's `x-ratelimit-*` headers that the
gatekeeper left on the request state.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from magent.sandbox.mistral import errors
from magent.sandbox.mistral.auth import RATE_HEADERS_STATE
from magent.sandbox.mistral.config import FaultConfig


@dataclass(frozen=True)
class Plan:
    delay_s: float = 0.0
    action: str | None = None  # None, "reset", "error" or "rate_limit"
    status: int = 0


class FaultInjector:
    """Draws a plan per request from a seeded RNG; the config can be swapped while the server runs."""

    def __init__(self, config: FaultConfig, seed: int) -> None:
        self._config = config
        self._rng = random.Random(seed * 31 + 5)
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    @property
    def counts(self) -> dict[str, int]:
        """How many faults of each kind ("reset", "error", "rate_limit", "slow") were injected so far."""
        with self._lock:
            return dict(self._counts)

    @property
    def config(self) -> FaultConfig:
        return self._config

    def set(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config

    def plan(self) -> Plan:
        with self._lock:
            plan = self._draw(self._config, self._rng)
            if plan.action:
                self._counts[plan.action] += 1
            return plan

    def _draw(self, cfg: FaultConfig, rng: random.Random) -> Plan:
        delay_ms = cfg.latency_ms
        if cfg.latency_jitter_ms:
            delay_ms += rng.expovariate(1.0 / cfg.latency_jitter_ms)
        if cfg.slow_rate and rng.random() < cfg.slow_rate:
            delay_ms += cfg.slow_ms
            self._counts["slow"] += 1
        draw = rng.random()
        if draw < cfg.reset_rate:
            return Plan(delay_ms / 1000, "reset")
        if draw < cfg.reset_rate + cfg.error_rate:
            return Plan(delay_ms / 1000, "error", rng.choice(cfg.error_statuses))
        if draw < cfg.reset_rate + cfg.error_rate + cfg.rate_limit_rate:
            return Plan(delay_ms / 1000, "rate_limit", 429)
        return Plan(delay_ms / 1000)


class RequestCounter:
    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def increment(self) -> None:
        with self._lock:
            self.value += 1


class SimulatorMiddleware:
    """Pure ASGI middleware (no buffering, so SSE streams pass through untouched)."""

    def __init__(self, app: Any, injector: FaultInjector, counter: RequestCounter) -> None:
        self.app, self.injector, self.counter = app, injector, counter

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.counter.increment()
        plan = self.injector.plan()
        if plan.delay_s:
            await asyncio.sleep(plan.delay_s)
        if plan.action == "reset" and await _reset_connection(send):
            return
        if plan.action in ("error", "reset"):
            await errors.server_error(plan.status or 502).response()(scope, receive, send)
            return
        if plan.action == "rate_limit":
            await errors.rate_limited(self.injector.config.retry_after_s).response()(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        await self.app(scope, receive, _with_rate_headers(send, state))


def _with_rate_headers(send: Any, state: dict) -> Any:
    async def send_with_headers(message: dict) -> None:
        if message["type"] == "http.response.start" and state.get(RATE_HEADERS_STATE):
            extra = [(k.encode(), v.encode()) for k, v in state[RATE_HEADERS_STATE].items()]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return send_with_headers


async def _reset_connection(send: Any) -> bool:
    """Close the TCP connection with a RST and no response, as a crashing proxy would.

    uvicorn's `send` is a method of its per-request cycle, which holds the asyncio transport. With
    SO_LINGER set to 0, closing sends a RST: the client gets a connection reset (httpx ReadError).
    Returns False when the transport is out of reach (another ASGI server), and the caller answers 502.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    await asyncio.sleep(0.01)  # let the server see the connection as lost before the app returns
    return True
