"""The ASGI application: routes, shared context, request helpers, and the error handler."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from magent.sandbox.mistral import errors
from magent.sandbox.mistral.auth import Gatekeeper
from magent.sandbox.mistral.data import Dataset, NotFound
from magent.sandbox.mistral.faults import FaultInjector, RequestCounter, SimulatorMiddleware

# The SDK serialises its "unset" marker into optional query parameters; it means "not given".
SDK_UNSET_SENTINEL = "~?~unset~?~sentinel~?~"


@dataclass
class SimContext:
    """What every handler needs: the data, the gatekeeper, and an RNG for ids and replies."""

    data: Dataset
    gate: Gatekeeper
    rng: random.Random

    @staticmethod
    def of(request: Request) -> SimContext:
        return request.app.state.sim

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)


def query(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is None or SDK_UNSET_SENTINEL in value or value == "":
        return None
    return value


def query_int(request: Request, name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = query(request, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise errors.validation_error(["query", name], "Input should be a valid integer", "int_parsing", raw) from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise errors.validation_error(["query", name], f"Input should be {bound}", "value_error", raw)
    return value


def query_json_object(request: Request, name: str) -> dict | None:
    """A JSON-encoded object parameter such as `metadata`; the SDK's sentinel counts as absent."""
    raw = query(request, name)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise errors.validation_error(["query", name], "Invalid JSON", "json_invalid", raw) from None
    if value is None:
        return None
    if not isinstance(value, dict):
        raise errors.validation_error(["query", name], "Input should be a valid dictionary", "dict_type", raw)
    return value


async def read_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise errors.validation_error(["body", 0], "JSON decode error", "json_invalid") from None
    if not isinstance(body, dict):
        raise errors.validation_error(["body"], "Input should be a valid dictionary", "dict_type", body)
    return body


def require(body: dict, name: str, kind: type | tuple[type, ...] = str) -> Any:
    value = body.get(name)
    if value is None:
        raise errors.validation_error(["body", name], "Field required", "missing")
    if not isinstance(value, kind):
        raise errors.validation_error(["body", name], f"Input has the wrong type for {name}", "type_error", value)
    return value


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.ApiError)
    return exc.response()


async def _not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotFound)
    return errors.not_found(exc.what).response()


async def _no_route(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    if status == 405:
        return JSONResponse(errors.error_body("Method not allowed", "invalid_request_error", "3002"), 405)
    return JSONResponse({"detail": "Not Found"}, status_code=status)


def build_app(context: SimContext, injector: FaultInjector, counter: RequestCounter) -> SimulatorMiddleware:
    """The Starlette app with every route, wrapped in the fault/bookkeeping middleware."""
    from magent.sandbox.mistral.routes_agents import AGENT_ROUTES
    from magent.sandbox.mistral.routes_chat import CHAT_ROUTES
    from magent.sandbox.mistral.routes_conversations import CONVERSATION_ROUTES

    routes: list[Route] = [*CHAT_ROUTES, *AGENT_ROUTES, *CONVERSATION_ROUTES]
    app = Starlette(
        routes=routes,
        exception_handlers={errors.ApiError: _api_error, NotFound: _not_found, 404: _no_route, 405: _no_route},
    )
    app.state.sim = context
    return SimulatorMiddleware(app, injector, counter, context.gate)
