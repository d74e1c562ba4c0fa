"""`/v1/models` and `/v1/chat/completions` (plain and `stream: true` server-sent events)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from magent.sandbox.mistral import errors
from magent.sandbox.mistral.app import SimContext, read_json, require
from magent.sandbox.mistral.entries import completion_id, content_text, estimate_tokens, tool_call_id
from magent.sandbox.mistral.models import card, model_list, resolve
from magent.sandbox.mistral.text import ANSWER_SENTENCES
from magent.sandbox.mistral.validate import check_chat_request

STREAM_PIECE_WORDS = 4


async def list_models(request: Request) -> JSONResponse:
    SimContext.of(request).gate.guard(request)
    return JSONResponse(model_list())


async def retrieve_model(request: Request) -> JSONResponse:
    SimContext.of(request).gate.guard(request)
    name = request.path_params["model_id"]
    spec = resolve(name)
    if spec is None:
        raise errors.not_found(f"Model {name} not found")
    return JSONResponse(card(spec, name))


def reply_words(rng: random.Random, max_tokens: int | None) -> tuple[list[str], str]:
    """An answer (one word counts as one token) and its finish reason, cut at `max_tokens`."""
    words = " ".join(rng.sample(ANSWER_SENTENCES, k=rng.randint(1, 3))).split()
    if max_tokens is not None and max_tokens < len(words):
        return words[:max_tokens], "length"
    return words, "stop"


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"{head}data: {payload}\n\n".encode()


async def chat_completions(request: Request) -> JSONResponse | StreamingResponse:
    sim = SimContext.of(request)
    key = sim.gate.authenticate(request)
    body = await read_json(request)
    model = require(body, "model")
    messages = require(body, "messages", list)
    check_chat_request(body)
    if not messages:
        raise errors.validation_error(["body", "messages"], "List should have at least 1 item", "too_short", [])
    max_tokens = body.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 0):
        raise errors.validation_error(["body", "max_tokens"], "Input should be >= 0", "greater_than_equal", max_tokens)
    prompt = sum(estimate_tokens(content_text(m.get("content"))) + 4 for m in messages if isinstance(m, dict))
    calls = tool_calls(body, sim.rng)
    words, finish = ([], "tool_calls") if calls else reply_words(sim.rng, max_tokens)
    counts = usage(prompt, len(words) + (8 if calls else 0))
    sim.gate.admit(request, key, paid=True, model=model, tokens=counts["total_tokens"])
    head = {"id": completion_id(sim.rng), "created": int(sim.now().timestamp()), "model": model}
    if body.get("stream"):
        chunks = _chat_chunks(head, words, finish, counts, calls)
        return StreamingResponse(chunks, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    message = {"role": "assistant", "content": " ".join(words), "tool_calls": calls, "prefix": False}
    choice = {"index": 0, "message": message, "finish_reason": finish}
    return JSONResponse({**head, "object": "chat.completion", "choices": [choice], "usage": counts})


def tool_calls(body: dict, rng: random.Random) -> list[dict] | None:
    """A call of the first (or the named) function when the request forces tool use, else None."""
    functions = [t["function"]["name"] for t in body.get("tools") or []
                 if isinstance(t, dict) and t.get("type", "function") == "function" and "function" in t]
    choice = body.get("tool_choice")
    named = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    if not functions or not (named or choice in ("any", "required")):
        return None
    call = {"name": named or functions[0], "arguments": "{}"}
    return [{"id": tool_call_id(rng), "type": "function", "function": call, "index": 0}]


def _chat_chunks(
    head: dict, words: list[str], finish: str, counts: dict, calls: list[dict] | None = None
) -> Iterator[bytes]:
    """The role first, then the text a few words at a time, then the finish reason with usage, then [DONE]."""
    base = {**head, "object": "chat.completion.chunk"}

    def chunk(delta: dict, finish_reason: str | None = None, **extra: Any) -> bytes:
        return sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}], **extra})

    yield chunk({"role": "assistant", "content": ""})
    if calls:
        yield chunk({"content": "", "tool_calls": calls})
    for start in range(0, len(words), STREAM_PIECE_WORDS):
        text = " ".join(words[start : start + STREAM_PIECE_WORDS])
        yield chunk({"content": text if start == 0 else " " + text})
    yield chunk({"content": ""}, finish, usage=counts)
    yield sse("[DONE]")


CHAT_ROUTES = [
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model_id:path}", retrieve_model, methods=["GET"]),
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
]
