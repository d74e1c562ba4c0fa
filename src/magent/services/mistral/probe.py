"""Probe one API key against the Mistral API: list models, look up models, a 1-token chat, rate limits.

The probe records what happened as plain data and never raises for an API answer: judging the key is
`magent.core.keycheck`'s job. No retries: a verification must see 429s and 5xx as they are.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from magent.core.redact import fingerprint
from magent.services.mistral.client import (
    FORBIDDEN,
    INVALID_MODEL,
    NOT_FOUND,
    ApiFailure,
    describe_failure,
    make_client,
)

RATE_LIMIT_HEADERS = {
    "x-ratelimit-limit-req-minute": "limit_req_minute",
    "x-ratelimit-remaining-req-minute": "remaining_req_minute",
    "x-ratelimit-limit-tokens-minute": "limit_tokens_minute",
    "x-ratelimit-remaining-tokens-minute": "remaining_tokens_minute",
    "x-ratelimit-tokens-query-cost": "tokens_query_cost",
}
# Cheap chat models first, to spend as little as possible on the payment check.
_CHEAP_MODEL_PREFIXES = ("ministral-3b", "ministral-8b", "mistral-small", "open-mistral-nemo", "mistral-tiny")
PROBE_PROMPT = "ping"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelInfo:
    id: str
    aliases: tuple[str, ...] = ()
    chat: bool = True
    deprecation: str | None = None  # ISO date the model retires, when announced
    replacement: str | None = None


@dataclass(frozen=True)
class ModelsListing:
    latency_ms: float
    models: tuple[ModelInfo, ...] = ()
    failure: ApiFailure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def find(self, name: str) -> ModelInfo | None:
        """The card whose id or alias is `name`."""
        return next((m for m in self.models if m.id == name), None) or next(
            (m for m in self.models if name in m.aliases), None
        )


@dataclass(frozen=True)
class ModelLookup:
    """A model the user asked about: found in the listing or by `GET /v1/models/{id}`, or why not."""

    model: str
    info: ModelInfo | None = None
    failure: ApiFailure | None = None

    @property
    def found(self) -> bool:
        return self.info is not None


@dataclass(frozen=True)
class CompletionProbe:
    model: str
    latency_ms: float
    failure: ApiFailure | None = None
    total_tokens: int | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass(frozen=True)
class RateLimits:
    limit_req_minute: int | None = None
    remaining_req_minute: int | None = None
    limit_tokens_minute: int | None = None
    remaining_tokens_minute: int | None = None
    tokens_query_cost: int | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimits | None:
        lowered = {k.lower(): v for k, v in headers.items()}
        values = {attr: _int(lowered.get(name)) for name, attr in RATE_LIMIT_HEADERS.items()}
        return cls(**values) if any(v is not None for v in values.values()) else None


@dataclass(frozen=True)
class KeyProbe:
    """Everything one key's verification observed."""

    base_url: str
    listing: ModelsListing
    lookups: tuple[ModelLookup, ...] = ()
    completions: tuple[CompletionProbe, ...] = ()
    rate_limits: RateLimits | None = None
    spend: bool = True


@dataclass
class _HeaderRecorder:
    """Keeps the rate-limit headers of the latest response that had any (the SDK returns bodies only)."""

    latest: RateLimits | None = None

    def __call__(self, response: Any) -> None:
        limits = RateLimits.from_headers(response.headers)
        if limits is not None:
            self.latest = limits


def probe_key(
    base_url: str,
    api_key: str,
    *,
    models: Sequence[str] = (),
    spend: bool = True,
    timeout_s: float = 30.0,
) -> KeyProbe:
    """List models; look up each of `models`; unless `spend` is False, a 1-token chat on each found model
    (or on one cheap model when none is named) to prove payment is activated."""
    recorder = _HeaderRecorder()
    who = fingerprint(api_key)
    with make_client(base_url, api_key, timeout_s=timeout_s, on_response=recorder) as client:
        listing = list_models(client)
        log.debug("key %s: %d models listed in %.0f ms, failure: %s", who, len(listing.models), listing.latency_ms,
                  listing.failure)
        if not listing.ok:
            return KeyProbe(base_url, listing, rate_limits=recorder.latest, spend=spend)
        lookups = tuple(lookup_model(client, listing, name) for name in dict.fromkeys(models))
        completions: tuple[CompletionProbe, ...] = ()
        if spend:
            completions = _complete_each(client, _completion_targets(listing, lookups))
        for completion in completions:
            log.debug("key %s: 1-token chat on %s in %.0f ms, failure: %s", who, completion.model,
                      completion.latency_ms, completion.failure)
    return KeyProbe(base_url, listing, lookups, completions, recorder.latest, spend)


def probe_keys(base_url: str, api_keys: Sequence[str], **options: Any) -> list[KeyProbe]:
    """`probe_key` for several keys side by side, one daemon thread each (Ctrl-C never waits for a slow
    server); results in the order given."""
    results: list[KeyProbe | BaseException | None] = [None] * len(api_keys)

    def run(index: int, key: str) -> None:
        try:
            results[index] = probe_key(base_url, key, **options)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, key), name=f"key-probe-{i}", daemon=True)
               for i, key in enumerate(api_keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return cast("list[KeyProbe]", results)


def list_models(client: Any) -> ModelsListing:
    started = time.perf_counter()
    try:
        response = client.models.list()
    except Exception as exc:  # noqa: BLE001 - every SDK/transport error is an observation here
        return ModelsListing(_ms_since(started), failure=describe_failure(exc))
    cards = tuple(_model_info(card) for card in (response.data or []))
    return ModelsListing(_ms_since(started), cards)


def lookup_model(client: Any, listing: ModelsListing, name: str) -> ModelLookup:
    """Found in the listing, else asked for directly (a 403 tells a forbidden model from a missing one)."""
    info = listing.find(name)
    if info is not None:
        return ModelLookup(name, info)
    try:
        card = client.models.retrieve(model_id=name)
    except Exception as exc:  # noqa: BLE001
        return ModelLookup(name, failure=describe_failure(exc))
    return ModelLookup(name, _model_info(card))


def complete_once(client: Any, model: str) -> CompletionProbe:
    """One chat completion capped at one token."""
    started = time.perf_counter()
    try:
        response = client.chat.complete(
            model=model, messages=[{"role": "user", "content": PROBE_PROMPT}], max_tokens=1, temperature=0
        )
    except Exception as exc:  # noqa: BLE001
        return CompletionProbe(model, _ms_since(started), failure=describe_failure(exc))
    usage = getattr(response, "usage", None)
    return CompletionProbe(model, _ms_since(started), total_tokens=getattr(usage, "total_tokens", None))


def _complete_each(client: Any, targets: Sequence[str]) -> tuple[CompletionProbe, ...]:
    """Stop at the first answer that is about the key or the service (not about one model)."""
    results = []
    for model in targets:
        result = complete_once(client, model)
        results.append(result)
        if result.failure is not None and result.failure.kind not in (FORBIDDEN, NOT_FOUND, INVALID_MODEL):
            break
    return tuple(results)


def _completion_targets(listing: ModelsListing, lookups: Sequence[ModelLookup]) -> list[str]:
    """The named chat models that exist, else one cheap chat model (embedding models cannot chat)."""
    named = [lookup.model for lookup in lookups if lookup.info is not None and lookup.info.chat]
    if named:
        return named
    cheap = pick_cheap_model(listing)
    return [cheap] if cheap else []


def pick_cheap_model(listing: ModelsListing) -> str | None:
    chat = [m.id for m in listing.models if m.chat]
    for prefix in _CHEAP_MODEL_PREFIXES:
        match = next((name for name in chat if name.startswith(prefix)), None)
        if match:
            return match
    return chat[0] if chat else None


def _model_info(card: Any) -> ModelInfo:
    capabilities = getattr(card, "capabilities", None)
    deprecation = getattr(card, "deprecation", None)
    return ModelInfo(
        id=card.id,
        aliases=tuple(getattr(card, "aliases", None) or ()),
        chat=bool(getattr(capabilities, "completion_chat", True)),
        deprecation=deprecation.date().isoformat() if hasattr(deprecation, "date") else (deprecation or None),
        replacement=getattr(card, "deprecation_replacement_model", None) or None,
    )


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None
