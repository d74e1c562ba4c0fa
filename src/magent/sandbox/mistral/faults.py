"""Fault injection and per-request bookkeeping, as an ASGI middleware in front of the routes.

For each request it counts, then (from a seeded RNG) delays it and, if the request carries a valid key,
may reset its connection or answer a 5xx or an injected 429; otherwise it lets it through (a bad key gets its
401 from the routes, fault or not). On the way out it adds the key's `x-ratelimit-*` headers, which the
gatekeeper left on the request state; injected answers carry them too. The model assumed (the real API's
accounting of failed requests is not documented): the gateway counts a request against the key before the
model fails it (5xx, capacity 429), so a key over its limit gets its own 429 first; an injected rate-limit
429 is a refusal by the gateway itself: not counted, and reported with no requests remaining.
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

from starlette.datastructures import Headers

from magent.sandbox.mistral import errors
from magent.sandbox.mistral.auth import RATE_HEADERS_STATE, Gatekeeper
from magent.sandbox.mistral.config import FaultConfig, KeySpec


@dataclass(frozen=True)
class Plan:
    delay_s: float = 0.0
    action: str | None = None  # None, "reset", "error", "rate_limit" or "capacity"
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
        """How many faults of each kind ("reset", "error", "rate_limit", "capacity", "slow") were injected so far."""
        with self._lock:
            return dict(self._counts)

    @property
    def config(self) -> FaultConfig:
        return self._config

    def set(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config

    def plan(self) -> Plan:
        """The next request's delay and fault; the fault counts once `record` says it was injected."""
        with self._lock:
            return self._draw(self._config, self._rng)

    def record(self, action: str) -> None:
        with self._lock:
            self._counts[action] += 1

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
        if draw < cfg.reset_rate + cfg.error_rate + cfg.rate_limit_rate + cfg.capacity_rate:
            return Plan(delay_ms / 1000, "capacity", 429)
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

    def __init__(self, app: Any, injector: FaultInjector, counter: RequestCounter, gate: Gatekeeper) -> None:
        self.app, self.injector, self.counter, self.gate = app, injector, counter, gate

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.counter.increment()
        plan = self.injector.plan()
        if plan.delay_s:
            await asyncio.sleep(plan.delay_s)
        key = self.gate.identify(Headers(scope=scope).get("authorization", "")) if plan.action else None
        if key is not None and plan.action is not None:
            self.injector.record(plan.action)
            if plan.action == "reset" and await _reset_connection(send):
                return
            await self._fault(plan, key).response()(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        await self.app(scope, receive, _with_rate_headers(send, state))

    def _fault(self, plan: Plan, key: KeySpec) -> errors.ApiError:
        """The injected answer, with the key's rate-limit headers (and the key's own 429 if it is over them)."""
        limiter, retry_after = self.gate.limiter, self.injector.config.retry_after_s
        if plan.action == "rate_limit":
            headers = limiter.peek(key.key, rpm=key.rpm, tpm=key.tpm)
            return errors.rate_limited(retry_after, {**headers, "x-ratelimit-remaining-req-minute": "0"})
        decision = limiter.admit(key.key, rpm=key.rpm, tpm=key.tpm, tokens=0)
        if not decision.allowed:
            return errors.rate_limited(decision.retry_after_s, decision.headers)
        if plan.action == "capacity":
            return errors.capacity_exceeded(retry_after, decision.headers)
        return errors.server_error(plan.status or 502, decision.headers)


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
