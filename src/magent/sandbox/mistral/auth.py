"""Bearer-key authentication, payment activation, model access and rate limits, in the order the API checks them."""

from __future__ import annotations

from starlette.requests import Request

from magent.sandbox.mistral import errors
from magent.sandbox.mistral.config import KeySpec
from magent.sandbox.mistral.limits import RateLimiter
from magent.sandbox.mistral.models import ModelSpec, resolve

# Set on the request state by `Gatekeeper.admit`; the middleware adds them to the response, errors included.
RATE_HEADERS_STATE = "ratelimit_headers"


class Gatekeeper:
    """Decides whether a request may proceed. Every refusal is an `ApiError` with the documented body."""

    def __init__(self, keys: list[KeySpec], limiter: RateLimiter | None = None) -> None:
        self._keys = {spec.key: spec for spec in keys}
        self.limiter = limiter or RateLimiter()

    def authenticate(self, request: Request) -> KeySpec:
        spec = self.identify(request.headers.get("authorization", ""))
        if spec is None:
            raise errors.unauthorized()
        return spec

    def identify(self, authorization: str) -> KeySpec | None:
        """The key an `Authorization` header value carries, or None when it is not a known bearer key."""
        scheme, _, token = authorization.partition(" ")
        return self._keys.get(token.strip()) if scheme.lower() == "bearer" else None

    def admit(
        self, request: Request, key: KeySpec, *, paid: bool = False, model: str | None = None, tokens: int = 0
    ) -> ModelSpec | None:
        """Check payment, model access and the key's rate limits; count the request when admitted."""
        if paid and not key.payment_activated:
            raise errors.payment_not_activated()
        spec = check_model(key, model) if model is not None else None
        decision = self.limiter.admit(key.key, rpm=key.rpm, tpm=key.tpm, tokens=tokens)
        setattr(request.state, RATE_HEADERS_STATE, decision.headers)
        if not decision.allowed:
            raise errors.rate_limited(decision.retry_after_s)
        return spec

    def guard(self, request: Request, **checks) -> KeySpec:
        """authenticate + admit, for calls whose cost is known before the body is read."""
        key = self.authenticate(request)
        self.admit(request, key, **checks)
        return key


def check_model(key: KeySpec, model: str) -> ModelSpec:
    """The model behind `model` if it exists, is a chat model and this key may use it."""
    spec = resolve(model)
    if spec is None or not spec.chat:
        raise errors.invalid_model(model)
    if key.allowed_models is not None:
        allowed = {name for allowed in key.allowed_models for name in _names(allowed)}
        if spec.id not in allowed:
            raise errors.forbidden_model(model)
    return spec


def _names(model: str) -> tuple[str, ...]:
    spec = resolve(model)
    return spec.names if spec else (model,)
