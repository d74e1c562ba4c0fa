"""What a simulator run is made of: its API keys, the size of its seeded data, and the faults it injects."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime

KEY_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 32


def generate_key() -> str:
    """A throwaway key shaped like a real one: 32 mixed-case alphanumeric characters, no prefix."""
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))


@dataclass(frozen=True)
class KeySpec:
    """One API key the simulator accepts, and what the workspace behind it may do.

    `allowed_models=None` allows every model; a list restricts chat and conversations to those models
    (aliases resolve first), others get 403. `payment_activated=False` gets 401 on paid calls.
    `rpm` / `tpm` are the requests and tokens allowed in any 60-second window.
    """

    key: str
    payment_activated: bool = True
    allowed_models: list[str] | None = None
    rpm: int = 600
    tpm: int = 2_000_000


@dataclass(frozen=True)
class FaultConfig:
    """Faults injected before a request reaches its handler; every rate is a probability per request.

    `latency_ms` is added to every request, plus an exponential tail whose mean is `latency_jitter_ms`.
    `slow_rate` of the requests take `slow_ms` more. The other faults strike only requests with a valid key
    (a bad key is always a 401): `reset_rate` closes the connection without a response; `error_rate` answers
    500/502/503; `rate_limit_rate` answers the key's rate-limit 429 (`rate_limited`, code 1300) and
    `capacity_rate` the shared-capacity 429 (`service_tier_capacity_exceeded`, code 3505), both with
    `Retry-After: retry_after_s`. Answers carry the key's `x-ratelimit-*` headers, as real ones do.
    """

    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    reset_rate: float = 0.0
    capacity_rate: float = 0.0
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    slow_rate: float = 0.0
    slow_ms: float = 2000.0
    retry_after_s: int = 1
    error_statuses: tuple[int, ...] = (500, 502, 503)

    def __post_init__(self) -> None:
        for name in ("error_rate", "rate_limit_rate", "reset_rate", "capacity_rate", "slow_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.error_rate + self.rate_limit_rate + self.reset_rate + self.capacity_rate > 1.0:
            raise ValueError("error_rate + rate_limit_rate + reset_rate + capacity_rate must not exceed 1")
        for name in ("latency_ms", "latency_jitter_ms", "slow_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.retry_after_s < 0:
            raise ValueError("retry_after_s must not be negative")


@dataclass
class SimulatorConfig:
    """A simulator run. Same `seed` (and `now`) → the same agents, conversations and histories.

    Conversations are spread over the `days` days before `now`; `now=None` means the start of the current
    UTC hour, so that two simulators started within the same hour agree. `entries_per_conversation` is
    the average history length.
    """

    keys: list[KeySpec] = field(default_factory=list)
    agents: int = 3
    conversations: int = 10
    seed: int = 1
    days: int = 30
    faults: FaultConfig = field(default_factory=FaultConfig)
    host: str = "127.0.0.1"
    port: int = 0
    now: datetime | None = None
    entries_per_conversation: int = 20

    def __post_init__(self) -> None:
        if self.agents < 0 or self.conversations < 0:
            raise ValueError("agents and conversations must not be negative")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.entries_per_conversation < 2:
            raise ValueError("entries_per_conversation must be at least 2")
