"""Error responses in the documented shape: `{"object": "error", "message", "type", "param", "code"}`.

Validation errors (422) use the spec's `HTTPValidationError` shape instead: `{"detail": [...]}`.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


class ApiError(Exception):
    """An error answer: status, body and extra headers (e.g. Retry-After)."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("message") or body)
        self.status, self.body, self.headers = status, body, headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


def error_body(message: str, type_: str, code: str, param: str | None = None) -> dict[str, Any]:
    return {"object": "error", "message": message, "type": type_, "param": param, "code": code}


def unauthorized() -> ApiError:
    return ApiError(401, error_body("Unauthorized", "unauthorized", "1000"))


def payment_not_activated() -> ApiError:
    message = (
        "Payment not activated: this workspace has no active subscription or payment method. "
        "Activate payments in the console (Workspace > Billing) to use this endpoint."
    )
    return ApiError(401, error_body(message, "payment_not_activated", "1001"))


def forbidden_model(model: str) -> ApiError:
    message = f"Forbidden: this API key does not have access to model '{model}'"
    return ApiError(403, error_body(message, "forbidden", "1501", "model"))


def invalid_model(model: str) -> ApiError:
    return ApiError(400, error_body(f"Invalid model: {model}", "invalid_model", "1500", "model"))


def rate_limited(retry_after_s: int, headers: dict[str, str] | None = None) -> ApiError:
    body = error_body("Rate limit exceeded", "rate_limited", "1300")
    return ApiError(429, body, {**(headers or {}), "Retry-After": str(retry_after_s)})


def capacity_exceeded(retry_after_s: int, headers: dict[str, str] | None = None) -> ApiError:
    """The 429 for a model's shared capacity being full, not the key's limits (seen from the real API)."""
    body = error_body("Service tier capacity exceeded for this model.", "service_tier_capacity_exceeded", "3505")
    return ApiError(429, body, {**(headers or {}), "Retry-After": str(retry_after_s)})


def not_found(message: str) -> ApiError:
    return ApiError(404, error_body(message, "not_found", "3000"))


def bad_request(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, error_body(message, "invalid_request_error", "3001", param))


def server_error(status: int, headers: dict[str, str] | None = None) -> ApiError:
    messages = {500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout"}
    type_ = "service_unavailable" if status == 503 else "internal_server_error"
    return ApiError(status, error_body(messages.get(status, "Server error"), type_, str(3000 + status)), headers)


def validation_error(loc: list[str | int], message: str, kind: str = "value_error", value: Any = None) -> ApiError:
    """422 in the spec's HTTPValidationError shape."""
    return ApiError(422, {"detail": [{"type": kind, "loc": loc, "msg": message, "input": value}]})
