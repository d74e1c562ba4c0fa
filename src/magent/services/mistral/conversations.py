"""Read agents, conversations and histories from the Mistral API through the official SDK, as plain dicts.

Every object comes back exactly as the API sent it: conversation pages and histories as the JSON parsed
(`JsonReader`), agents as `model_dump(exclude_unset=True)` of the SDK's models. Every HTTP request, the SDK's
retries included, goes through a shared `RequestRateLimiter` (see `ratelimit.py`: a fixed rate, or 90 % of
the one the `x-ratelimit-*` headers advertise), and the SDK's `RetryConfig` retries 429 and 5xx with backoff,
honours Retry-After, and retries reset connections. The client is safe to share between threads.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from magent.core.errors import MagentError
from magent.services.mistral.client import (
    NOT_FOUND,
    default_retry_config,
    describe_failure,
    make_client,
    parse_retry_after,
    translate_error,
)
from magent.services.mistral.ratelimit import PacingStats, RequestRateLimiter

__all__ = ["ConversationSource", "PacingStats", "RequestRateLimiter", "SourceSpec", "open_source", "to_dict"]

if TYPE_CHECKING:
    from mistralai.client import Mistral

AGENTS_PAGE_SIZE = 100
CONVERSATIONS_PAGE_SIZE = 100
def to_dict(model: Any) -> dict[str, Any]:
    """The API object exactly as received (fields absent from the response stay absent)."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


class ConversationSource:
    """Agents, conversation pages and histories, each request paced and retried."""

    def __init__(self, client: Mistral, limiter: RequestRateLimiter | None = None) -> None:
        self._client = client
        self._limiter = limiter or RequestRateLimiter(adaptive=False)
        self._count_lock = threading.Lock()
        self.calls = 0  # API calls made by this process (each may be several requests: the SDK's retries)
        self.spec: SourceSpec | None = None  # set by open_source: how worker processes open the same source
        self._reached = False
        self._history_reader: HistoryReader | None = None

    @property
    def pacing(self) -> PacingStats:
        """Requests, 429s and retries of every process sharing this source's limiter."""
        return self._limiter.stats()

    def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """One API call; the client's request hook paces (and counts) each HTTP request it takes."""
        self._limiter.count_call()
        with self._count_lock:
            self.calls += 1
        try:
            if self._reached:
                return fn(**kwargs)
            result = self._first_call(fn, kwargs)
            self._reached = True
            return result
        except Exception as exc:  # SDK and httpx2 errors: classified by the shared translator
            raise translate_error(exc) from exc
        finally:
            self._limiter.end_probe()

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
        reader = ConversationListReader(self._client)
        page_number = 0
        while True:
            page = self._call(reader.get, page=page_number, page_size=page_size)
            yield page
            if len(page) < page_size:
                return
            page_number += 1

    def history(self, conversation_id: str) -> list[dict[str, Any]] | None:
        """All entries of one conversation, oldest first; None when it was deleted since it was listed."""
        if self._history_reader is None:
            self._history_reader = HistoryReader(self._client)
        try:
            document = self._call(self._history_reader.get, conversation_id=conversation_id)
        except MagentError as exc:
            if exc.__cause__ is not None and describe_failure(exc.__cause__).kind == NOT_FOUND:
                return None
            raise
        return document.get("entries") or []


class JsonReader:
    """GETs of one SDK operation through the SDK's client, hooks and retries, answered as plain JSON.

    The SDK's methods validate each answer into pydantic models (which the export then dumps straight back
    to dicts) and build every request from a request model: ~3 ms of CPU per history, more than all the
    rest of an export, and ~0.15 ms per listed conversation. This sends the same request (the SDK builds the
    first one: auth, user agent, base URL, the client's own headers) with the SDK's `do_request` (its hooks,
    its RetryConfig) and parses the JSON as it came.
    """

    RETRIED_STATUSES = ["429", "500", "502", "503", "504"]

    def __init__(self, client: Mistral, operation_id: str, template_request: Any) -> None:
        from mistralai.client import models
        from mistralai.client._hooks import HookContext
        from mistralai.client.utils import get_security_from_env

        self._sdk = client.beta.conversations
        config = self._sdk.sdk_configuration
        self._base_url = self._sdk._get_url(None, None)
        self._timeout_s = (config.timeout_ms or 300_000) / 1000
        template = self._sdk._build_request(
            method="GET", path="/v1/conversations", base_url=self._base_url, url_variables=None,
            request=template_request, request_body_required=False, request_has_path_params=False,
            request_has_query_params=True, user_agent_header="user-agent", accept_header_value="application/json",
            security=config.security, timeout_ms=config.timeout_ms or 300_000)
        self._headers = {k: v for k, v in template.headers.items() if k.lower() not in ("host", "content-length")}
        self._hook_context = HookContext(
            config=config, base_url=self._base_url, operation_id=operation_id, oauth2_scopes=None,
            security_source=get_security_from_env(config.security, models.Security),
            tags=["beta.conversations"], extensions=None)

    def get_json(self, path_and_query: str, well_formed: Callable[[Any], bool], retries: Any = None) -> Any:
        """The parsed answer to `GET {base URL}{path_and_query}`; SDK errors (SDKError, NoResponseError,
        httpx2's) as the SDK's own methods raise them, and SDKError when the JSON is not `well_formed`."""
        from mistralai.client import errors

        config = self._sdk.sdk_configuration
        retry = retries if retries is not None else config.retry_config
        request = config.client.build_request("GET", self._base_url + path_and_query, headers=self._headers,
                                              timeout=self._timeout_s)
        response = self._sdk.do_request(
            hook_ctx=self._hook_context, request=request, is_error_status_code=_is_error_status,
            retry_config=(retry, self.RETRIED_STATUSES) if _is_retry_config(retry) else None)
        if response.status_code >= 400:
            raise errors.SDKError("API error occurred", response, response.text)
        try:
            document = json.loads(response.content)
        except ValueError as exc:
            raise errors.SDKError("Unexpected response received", response, response.text) from exc
        if not well_formed(document):
            raise errors.SDKError("Unexpected response received", response, response.text)
        return document


class HistoryReader(JsonReader):
    """`GET /v1/conversations/{id}/history`: the history document."""

    def __init__(self, client: Mistral) -> None:
        from mistralai.client import models

        super().__init__(client, "agents_api_v1_conversations_history",
                         models.AgentsAPIV1ConversationsHistoryRequest(conversation_id="x"))

    def get(self, *, conversation_id: str, retries: Any = None) -> dict[str, Any]:
        return self.get_json(f"/v1/conversations/{quote(conversation_id, safe='')}/history", _is_history, retries)


class ConversationListReader(JsonReader):
    """`GET /v1/conversations?page=N&page_size=M`: one page of conversations."""

    def __init__(self, client: Mistral) -> None:
        from mistralai.client import models

        super().__init__(client, "agents_api_v1_conversations_list", models.AgentsAPIV1ConversationsListRequest())

    def get(self, *, page: int, page_size: int, retries: Any = None) -> list[dict[str, Any]]:
        return self.get_json(f"/v1/conversations?page={int(page)}&page_size={int(page_size)}", _is_conversation_list,
                             retries)


def _is_history(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("entries", []), list)


def _is_conversation_list(document: Any) -> bool:
    return isinstance(document, list) and all(isinstance(item, dict) and "id" in item for item in document)


def _is_error_status(status: int) -> bool:
    return status >= 400


def _is_retry_config(value: Any) -> bool:
    from mistralai.client.utils.retries import RetryConfig

    return isinstance(value, RetryConfig)


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
                             on_request=lambda request: limiter.acquire(),
                             on_response=lambda response: _observe(limiter, response))
        # The SDK imports these namespaces on first use (~1 s of pydantic model building); doing it here keeps
        # that cost out of the timed run, and a Ctrl-C in mid-import would surface as a pydantic SchemaError.
        _ = client.beta.agents, client.beta.conversations
        source = ConversationSource(client, limiter)
        source.spec = self
        return source, client


def _observe(limiter: RequestRateLimiter, response: Any) -> None:
    retry_after = parse_retry_after(response.headers) if response.status_code == 429 else None
    limiter.observe(response.headers, response.status_code, retry_after)


def open_source(base_url: str, api_key: str, *, rate_per_minute: float | None = None, timeout_s: float = 30,
                max_retry_s: float = 120) -> tuple[ConversationSource, Mistral]:
    """A source with retries for 429/5xx/resets and a limiter at `rate_per_minute` (None: adaptive).

    Worker processes open the same source from `source.spec` after `spec.limiter.share(context)`.
    """
    limiter = RequestRateLimiter(rate_per_minute, adaptive=rate_per_minute is None)
    return SourceSpec(base_url, api_key, timeout_s, max_retry_s, limiter).open()
