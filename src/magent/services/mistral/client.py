"""The Mistral SDK client, built one way for every command, and the translation of its errors.

`make_client()` builds `mistralai.client.Mistral` for a base URL (api.mistral.ai or the simulator) with an
optional SDK `RetryConfig`. `describe_failure()` classifies anything the SDK raises (HTTP errors as
`SDKError`, transport errors as `httpx2` exceptions) into an `ApiFailure`; `translate_error()` turns that
into the MagentError tree, keeping the status and the server's message with every secret masked.

The SDK is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from magent.core.errors import CredentialsRefused, MagentError, Unreachable, UsageError
from magent.core.redact import SECRETS, mask_url, one_line

if TYPE_CHECKING:
    from mistralai.client import Mistral
    from mistralai.client.utils import RetryConfig

# Failure kinds, from the most specific HTTP answer to no answer at all.
AUTH = "auth"  # 401
FORBIDDEN = "forbidden"  # 403
NOT_FOUND = "not_found"  # 404
INVALID_MODEL = "invalid_model"  # 400 with type invalid_model: no such (chat) model
BAD_REQUEST = "bad_request"  # other 4xx (400, 422, …)
RATE_LIMITED = "rate_limited"  # 429
CAPACITY_EXCEEDED = "service_tier_capacity_exceeded"  # a 429 about the model's shared capacity, not the key
SERVER = "server"  # 5xx: Mistral degraded
DNS = "dns"  # the host name does not resolve
REFUSED = "refused"  # connection refused / reset / no response
TIMEOUT = "timeout"  # connect, read or write timeout
UNEXPECTED = "unexpected"  # a response the SDK could not parse, or any other error

TRANSPORT_KINDS = frozenset({DNS, REFUSED, TIMEOUT})

_DNS_PATTERNS = re.compile(
    r"name or service not known|nodename nor servname|getaddrinfo failed|temporary failure in name resolution"
    r"|no address associated|name resolution",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ApiFailure:
    """What went wrong with one Mistral API call, in plain data (no secret in any field)."""

    kind: str
    message: str  # one line: the server's message (masked) or the transport error
    status: int | None = None
    retry_after_s: float | None = None
    url: str | None = None  # masked
    headers: Mapping[str, str] = field(default_factory=dict)
    error_type: str | None = None  # the error body's `type`, e.g. service_tier_capacity_exceeded

    @property
    def transport(self) -> bool:
        return self.kind in TRANSPORT_KINDS


def default_retry_config(max_elapsed_s: float = 60.0) -> RetryConfig:
    """Exponential backoff (0.5 s → 8 s) that also retries connection errors; the SDK honours Retry-After."""
    from mistralai.client.utils import BackoffStrategy, RetryConfig

    backoff = BackoffStrategy(
        initial_interval=500, max_interval=8_000, exponent=2.0, max_elapsed_time=int(max_elapsed_s * 1000)
    )
    return RetryConfig("backoff", backoff, retry_connection_errors=True)


def normalize_base_url(url: str) -> str:
    """The API base URL as the SDK wants it (`server_url`, without `/v1`); UsageError when not http(s)."""
    cleaned = url.strip().rstrip("/").removesuffix("/v1")
    if not cleaned.startswith(("http://", "https://")):
        raise UsageError(f"base URL {mask_url(url)!r} is not an http(s) URL",
                         hint="pass --base-url https://api.mistral.ai (or set MAGENT_MISTRAL_URL)")
    return cleaned


def make_client(
    base_url: str,
    api_key: str,
    *,
    timeout_s: float = 30,
    retries: bool | RetryConfig = False,
    on_response: Callable[[Any], None] | None = None,
    on_request: Callable[[Any], None] | None = None,
) -> Mistral:
    """A `Mistral` client for `base_url` (no `/v1` suffix). `retries=True` uses `default_retry_config()`.

    `on_response(httpx2.Response)` is called for every HTTP response (to read `x-ratelimit-*` headers,
    which the SDK's return values do not carry); `on_request(httpx2.Request)` before every request is sent,
    the SDK's retries included (to pace them). Use the client as a context manager to close it.
    """
    from mistralai.client import Mistral

    SECRETS.add(api_key)
    if retries is True:
        retry_config: Any = default_retry_config()
    elif retries is False:
        retry_config = None
    else:
        retry_config = retries
    kwargs: dict[str, Any] = {"api_key": api_key, "server_url": base_url.rstrip("/"), "timeout_ms": int(timeout_s * 1000)}
    if retry_config is not None:
        kwargs["retry_config"] = retry_config
    client = Mistral(**kwargs, **_http_clients())
    # ours, not the caller's: the SDK closes them on __exit__ as it closes those it builds itself
    client.sdk_configuration.client_supplied = False
    client.sdk_configuration.async_client_supplied = False
    http = client.sdk_configuration.client
    for event, hook in (("request", on_request), ("response", on_response)):
        if hook is not None:
            http.event_hooks = {**http.event_hooks, event: [*http.event_hooks.get(event, []), hook]}
    return client


def _http_clients() -> dict[str, Any]:
    """The SDK's own defaults (redirects followed), sharing one TLS context: the SDK would otherwise build two per
    client, reading the CA bundle each time (~50 ms of CPU each, which holds up every other thread)."""
    import httpx2

    context = _ssl_context()
    return {"client": httpx2.Client(follow_redirects=True, verify=context),
            "async_client": httpx2.AsyncClient(follow_redirects=True, verify=context)}


@functools.lru_cache(maxsize=1)
def _ssl_context() -> Any:
    import httpx2

    return httpx2.create_ssl_context()


def describe_failure(exc: BaseException) -> ApiFailure:
    """Classify an exception raised by an SDK call (or by httpx2 underneath it)."""
    import httpx2
    from mistralai.client import errors

    if isinstance(exc, errors.MistralError):
        return _http_failure(exc.status_code, exc.body, exc.headers, _request_url(exc.raw_response))
    if isinstance(exc, errors.NoResponseError):
        return ApiFailure(REFUSED, "no response from the server")
    if isinstance(exc, httpx2.TimeoutException):
        return ApiFailure(TIMEOUT, f"timed out ({type(exc).__name__})", url=_request_url(exc))
    if isinstance(exc, httpx2.ConnectError):
        text = one_line(str(exc))
        if _DNS_PATTERNS.search(text):
            return ApiFailure(DNS, f"DNS lookup failed: {text}", url=_request_url(exc))
        return ApiFailure(REFUSED, f"cannot connect: {text}", url=_request_url(exc))
    if isinstance(exc, httpx2.TransportError):
        return ApiFailure(REFUSED, f"connection failed: {one_line(str(exc)) or type(exc).__name__}", url=_request_url(exc))
    return ApiFailure(UNEXPECTED, f"{type(exc).__name__}: {one_line(str(exc))}")


def translate_error(exc: BaseException) -> MagentError:
    """The MagentError for an SDK/httpx2 exception; raise it `from exc` at the service boundary."""
    failure = describe_failure(exc)
    return failure_to_error(failure)


def failure_to_error(failure: ApiFailure) -> MagentError:
    """401/403 → CredentialsRefused (3); 429, 5xx and transport → Unreachable (3); 404/4xx → UsageError (2)."""
    status = f" ({failure.status})" if failure.status else ""
    where = f" at {failure.url}" if failure.url else ""
    text = f"Mistral API{status}{where}: {failure.message}"
    if failure.kind in (AUTH, FORBIDDEN):
        return CredentialsRefused(f"Mistral API refused the key{status}: {failure.message}", hint=_HINTS[failure.kind])
    if failure.kind == RATE_LIMITED:
        wait = f"; retry after {failure.retry_after_s:g} s" if failure.retry_after_s is not None else ""
        if failure.error_type == CAPACITY_EXCEEDED:  # the model's shared capacity, not this key's limit
            return Unreachable(f"Mistral API at capacity for this model{status}: {failure.message}{wait}",
                               hint="Mistral's shared capacity for this model is full: retry later, use another "
                                    "model, or a higher service tier")
        return Unreachable(f"Mistral API rate limited{status}: {failure.message}{wait}", hint=_HINTS[RATE_LIMITED])
    if failure.kind in (SERVER, DNS, REFUSED, TIMEOUT):
        return Unreachable(text, hint=_HINTS[failure.kind])
    if failure.kind in (NOT_FOUND, INVALID_MODEL, BAD_REQUEST):
        return UsageError(text, hint=_HINTS[failure.kind])
    return MagentError(f"unexpected answer from the Mistral API{status}: {failure.message}", hint=_HINTS[UNEXPECTED])


_HINTS = {
    AUTH: "check the key with `magent key verify --key-from …`",
    FORBIDDEN: "the key has no access to this model or resource; check the workspace's model access",
    RATE_LIMITED: "wait, lower the request rate, or ask Mistral for higher limits",
    SERVER: "Mistral is degraded; see https://status.mistral.ai and retry later",
    DNS: "check the base URL (--base-url / MAGENT_MISTRAL_URL) and DNS",
    REFUSED: "check the base URL (--base-url / MAGENT_MISTRAL_URL), proxies and the network",
    TIMEOUT: "the server did not answer in time; retry, or raise --timeout",
    NOT_FOUND: "check the id, and that the base URL has no /v1 suffix",
    INVALID_MODEL: "check the model name (`magent key verify -o json` lists the models of a key)",
    BAD_REQUEST: "the API rejected the request; run with --debug for details",
    UNEXPECTED: "run with --debug for details",
}


def _http_failure(status: int, body: str | None, headers: Mapping[str, str], url: str | None) -> ApiFailure:
    if status == 401:
        kind = AUTH
    elif status == 403:
        kind = FORBIDDEN
    elif status == 404:
        kind = NOT_FOUND
    elif status == 429:
        kind = RATE_LIMITED
    elif status >= 500:
        kind = SERVER
    elif status == 400 and _error_type(body) == "invalid_model":
        kind = INVALID_MODEL
    elif 400 <= status < 500:
        kind = BAD_REQUEST
    else:
        kind = UNEXPECTED
    kept = {k.lower(): v for k, v in headers.items() if k.lower().startswith(("x-ratelimit", "retry-after"))}
    return ApiFailure(kind, server_message(body), status, parse_retry_after(headers), url, kept, _error_type(body))


def _error_type(body: str | None) -> str | None:
    """The documented error body's `type` (e.g. "invalid_model"), if the body is one."""
    try:
        document = json.loads(body or "")
    except ValueError:
        return None
    return document.get("type") if isinstance(document, dict) and isinstance(document.get("type"), str) else None


def server_message(body: str | None) -> str:
    """The `message` (or `detail`) of an error body, else the body itself: one line, short, masked."""
    text = (body or "").strip()
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict):
        for key in ("message", "detail", "error"):
            value = document.get(key)
            if value:
                text = value if isinstance(value, str) else json.dumps(value)
                break
    return one_line(text) or "(empty body)"


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or HTTP date) or `retry-after-ms`; None when absent."""
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
            return max(0.0, (when - datetime.now(when.tzinfo or UTC)).total_seconds())
        except (TypeError, ValueError):
            pass
    value_ms = lowered.get("retry-after-ms")
    if value_ms:
        try:
            return max(0.0, float(value_ms) / 1000)
        except ValueError:
            pass
    return None


def _request_url(source: Any) -> str | None:
    """The masked URL (without its query: SDK placeholders, maybe tokens) of the request behind a response or an
    httpx2 exception, when it is known."""
    try:
        return mask_url(str(source.request.url).split("?", 1)[0])
    except (AttributeError, RuntimeError):
        return None
