"""`/v1/models` and `/v1/chat/completions` (plain and `stream: true` server-sent events)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from magent.sandbox.mistral import errors
from magent.sandbox.mistral.app import SimContext, read_json, require
from magent.sandbox.mistral.entries import completion_id, content_text, estimate_tokens
from magent.sandbox.mistral.models import card, model_list, resolve
from magent.sandbox.mistral.replies import Choice, choices, pieces
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
    # the prompt is billed once, whatever `n` is
    prompt = sum(estimate_tokens(content_text(m.get("content"))) + 4 for m in messages if isinstance(m, dict))
    answers = choices(body, sim.rng)
    counts = usage(prompt, sum(answer.tokens for answer in answers))
    sim.gate.admit(request, key, paid=True, model=model, tokens=counts["total_tokens"])
    head = {"id": completion_id(sim.rng), "created": int(sim.now().timestamp()), "model": model}
    if body.get("stream"):
        chunks = _chat_chunks(head, answers, counts)
        return StreamingResponse(chunks, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    listed = [{"index": answer.index, "finish_reason": answer.finish_reason,
               "message": {"role": "assistant", "content": answer.content, "tool_calls": answer.tool_calls,
                           "prefix": False}} for answer in answers]
    return JSONResponse({**head, "object": "chat.completion", "choices": listed, "usage": counts})


def _chat_chunks(head: dict, answers: list[Choice], counts: dict) -> Iterator[bytes]:
    """Per choice: the role first, then the content a few words at a time, then the finish reason; the
    choices take turns, usage rides on the very last chunk, then [DONE]."""
    base = {**head, "object": "chat.completion.chunk"}

    def chunk(index: int, delta: dict, finish_reason: str | None = None, **extra: Any) -> bytes:
        return sse({**base, "choices": [{"index": index, "delta": delta, "finish_reason": finish_reason}], **extra})

    for answer in answers:
        yield chunk(answer.index, {"role": "assistant", "content": ""})
        if answer.tool_calls:
            yield chunk(answer.index, {"content": "", "tool_calls": answer.tool_calls})
    words = [pieces(answer.content) for answer in answers]
    for start in range(0, max(map(len, words)), STREAM_PIECE_WORDS):
        for answer, its_words in zip(answers, words, strict=True):
            if start < len(its_words):
                yield chunk(answer.index, {"content": "".join(its_words[start : start + STREAM_PIECE_WORDS])})
    for answer in answers:
        extra = {"usage": counts} if answer is answers[-1] else {}
        yield chunk(answer.index, {"content": ""}, answer.finish_reason, **extra)
    yield sse("[DONE]")


CHAT_ROUTES = [
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model_id:path}", retrieve_model, methods=["GET"]),
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
]
