"""Read agents, conversations and histories from the Mistral API through the official SDK, as plain dicts.

Every object comes back exactly as the API sent it (`model_dump(exclude_unset=True)` of the SDK's models).
Requests go through a shared `RequestRateLimiter` (requests per minute, fixed or adapted to the
`x-ratelimit-*` headers of the responses) and the SDK's `RetryConfig`, which retries 429 and 5xx with
backoff, honours Retry-After, and retries reset connections. The client is safe to share between threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from magent.core.errors import MagentError
from magent.services.mistral.client import (
    NOT_FOUND,
    default_retry_config,
    describe_failure,
    make_client,
    translate_error,
)

if TYPE_CHECKING:
    from mistralai.client import Mistral

AGENTS_PAGE_SIZE = 100
CONVERSATIONS_PAGE_SIZE = 100
LIMIT_HEADER = "x-ratelimit-limit-req-minute"
REMAINING_HEADER = "x-ratelimit-remaining-req-minute"


class RequestRateLimiter:
    """A token bucket shared by all threads: at most `per_minute` request starts per minute, burst 1.

    With `per_minute=None` and `adaptive=True` it lets requests through until a response carries
    `x-ratelimit-limit-req-minute`, then paces them at that limit (and pauses when the remaining budget
    reported by the server reaches zero, until one request's worth of time has passed).

    Shared (`context=` or `share()`, with a multiprocessing context) its state, the interval and the next
    start, lives in shared memory under a process-shared lock: handed to worker processes when they start,
    it bounds the total request rate of all of them, and what one learns from the headers paces the others.
    """

    def __init__(self, per_minute: float | None = None, *, adaptive: bool = True,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 context: Any = None) -> None:
        interval = 60.0 / per_minute if per_minute else 0.0
        self._adaptive = adaptive and not per_minute
        # [interval between starts, earliest next start]; time.monotonic is one clock for every process
        self._state: Any = [interval, 0.0]
        self._lock: Any = threading.Lock()
        self._shared = False
        self._clock, self._sleep = clock, sleep
        if context is not None:
            self.share(context)

    def share(self, context: Any) -> None:
        """Move the state into shared memory (see the class doc); call before any other thread uses it."""
        with self._lock:
            if self._shared:
                return
            self._state = context.RawArray("d", list(self._state))
            self._lock, self._shared = context.Lock(), True

    @property
    def per_minute(self) -> float | None:
        interval = self._state[0]
        return 60.0 / interval if interval else None

    def acquire(self) -> None:
        """Block until this request may start."""
        with self._lock:
            now = self._clock()
            start = max(now, self._state[1])
            self._state[1] = start + self._state[0]
        if start > now:
            self._sleep(start - now)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Adapt to the server's advertised limit (no-op for a fixed rate)."""
        if not self._adaptive:
            return
        limit = _header_number(headers, LIMIT_HEADER)
        remaining = _header_number(headers, REMAINING_HEADER)
        with self._lock:
            if limit and limit > 0:
                self._state[0] = 60.0 / limit
            if remaining == 0 and self._state[0]:
                self._state[1] = max(self._state[1], self._clock() + self._state[0])


def _header_number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, TypeError, ValueError):
        return None


def to_dict(model: Any) -> dict[str, Any]:
    """The API object exactly as received (fields absent from the response stay absent)."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


class ConversationSource:
    """Agents, conversation pages and histories, each request paced and retried."""

    def __init__(self, client: Mistral, limiter: RequestRateLimiter | None = None) -> None:
        self._client = client
        self._limiter = limiter or RequestRateLimiter(adaptive=False)
        self._count_lock = threading.Lock()
        self.requests = 0  # requests started (SDK retries not included)
        self.spec: SourceSpec | None = None  # set by open_source: how worker processes open the same source
        self._reached = False

    def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        self._limiter.acquire()
        with self._count_lock:
            self.requests += 1
        try:
            if self._reached:
                return fn(**kwargs)
            result = self._first_call(fn, kwargs)
            self._reached = True
            return result
        except Exception as exc:  # SDK and httpx2 errors: classified by the shared translator
            raise translate_error(exc) from exc

    @staticmethod
    def _first_call(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        """Fail at once when nothing answers at the base URL (refused, DNS): retrying would only hide a wrong
        URL for minutes. 429/5xx are still retried, and so is a connection reset after connecting."""
        import httpx2

        config = default_retry_config()
        config.retry_connection_errors = False
        try:
            return fn(**kwargs, retries=config)
        except httpx2.ConnectError:
            raise
        except httpx2.TransportError:
            return fn(**kwargs)  # with the client's retries, as every later call

    def agents(self) -> list[dict[str, Any]]:
        """Every agent, following the cursor of `GET /v1/agents/pages` to the end."""
        agents: list[dict[str, Any]] = []
        page = self._call(self._client.beta.agents.list_pages, page_size=AGENTS_PAGE_SIZE)
        while page is not None:
            agents.extend(to_dict(agent) for agent in page.result.data)
            if not page.result.next_page_token:
                break
            page = self._call(page.next)
        return agents

    def conversation_pages(self, page_size: int = CONVERSATIONS_PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
        """Pages of conversations (most recently updated first), until a short page."""
        page_number = 0
        while True:
            page = self._call(self._client.beta.conversations.list, page=page_number, page_size=page_size)
            yield [to_dict(conversation) for conversation in page]
            if len(page) < page_size:
                return
            page_number += 1

    def history(self, conversation_id: str) -> list[dict[str, Any]] | None:
        """All entries of one conversation, oldest first; None when it was deleted since it was listed."""
        try:
            history = self._call(self._client.beta.conversations.get_history, conversation_id=conversation_id)
        except MagentError as exc:
            if exc.__cause__ is not None and describe_failure(exc.__cause__).kind == NOT_FOUND:
                return None
            raise
        return [to_dict(entry) for entry in history.entries]


def cache_sdk_unmarshaller() -> bool:
    """Make the SDK parse responses without building a new pydantic model class for each one.

    `mistralai.client.utils.serializers.unmarshal` calls `pydantic.create_model` on every response, which
    costs more CPU than the rest of the request and halves what an export can fetch per second. The class
    depends only on the response type, so it is cached per type; parsing and validation are unchanged.
    Installed once per process, and only when the function still has the shape this was written against
    (a newer SDK keeps its own code). Returns whether the cache is in place.
    """
    import inspect

    from mistralai.client.utils import serializers

    current = serializers.unmarshal
    if getattr(current, "magent_cached", False):
        return True
    expected = ["val", "typ", "coerce_iterables"]
    if list(inspect.signature(current).parameters) != expected or "create_model" not in serializers.__dict__:
        return False
    serializers.unmarshal = _cached_unmarshal(serializers)
    return True


def _cached_unmarshal(serializers: Any) -> Callable[..., Any]:
    import functools

    from pydantic import ConfigDict, create_model

    @functools.lru_cache(maxsize=512)
    def unmarshaller(typ: Any) -> Any:
        config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)
        return create_model("Unmarshaller", body=(typ, ...), __config__=config)

    def unmarshal(val: Any, typ: Any, coerce_iterables: bool = True) -> Any:
        if coerce_iterables:
            val = serializers._coerce_iterables_for_type(val, typ)
        try:
            model = unmarshaller(typ)
        except TypeError:  # an unhashable type: the SDK's own way
            model = create_model("Unmarshaller", body=(typ, ...),
                                 __config__=ConfigDict(populate_by_name=True, arbitrary_types_allowed=True))
        return model(body=val).body

    unmarshal.magent_cached = True  # type: ignore[attr-defined]
    return unmarshal


@dataclass(frozen=True)
class SourceSpec:
    """How to open a source like this one in another process: same API, key, timeouts and (shared) limiter."""

    base_url: str
    api_key: str = field(repr=False)
    timeout_s: float
    max_retry_s: float
    limiter: RequestRateLimiter

    def open(self) -> tuple[ConversationSource, Mistral]:
        cache_sdk_unmarshaller()
        limiter = self.limiter
        client = make_client(self.base_url, self.api_key, timeout_s=self.timeout_s,
                             retries=default_retry_config(self.max_retry_s),
                             on_response=lambda response: limiter.observe(response.headers))
        # The SDK imports these namespaces on first use (~1 s of pydantic model building); doing it here keeps
        # that cost out of the timed run, and a Ctrl-C in mid-import would surface as a pydantic SchemaError.
        _ = client.beta.agents, client.beta.conversations
        source = ConversationSource(client, limiter)
        source.spec = self
        return source, client


def open_source(base_url: str, api_key: str, *, rate_per_minute: float | None = None, timeout_s: float = 30,
                max_retry_s: float = 120) -> tuple[ConversationSource, Mistral]:
    """A source with retries for 429/5xx/resets and a limiter at `rate_per_minute` (None: adaptive).

    Worker processes open the same source from `source.spec` after `spec.limiter.share(context)`.
    """
    limiter = RequestRateLimiter(rate_per_minute, adaptive=rate_per_minute is None)
    return SourceSpec(base_url, api_key, timeout_s, max_retry_s, limiter).open()
