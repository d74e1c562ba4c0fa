"""`/v1/conversations…`: start, append, restart (plain or streamed), list, get, history, messages, delete."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from magent.core.timeutil import isoformat
from magent.sandbox.mistral import entries as E
from magent.sandbox.mistral import errors
from magent.sandbox.mistral.app import SimContext, query_int, query_json_object, read_json, require
from magent.sandbox.mistral.config import KeySpec
from magent.sandbox.mistral.history import answer
from magent.sandbox.mistral.routes_chat import sse

STREAM_PIECE_CHARS = 24


def _input_entries(sim: SimContext, inputs: object) -> list[dict]:
    """`inputs` (a string, or a list of entries) as stored entries with ids and timestamps."""
    now = sim.now()
    if isinstance(inputs, str):
        return [E.message_input(sim.rng, now, inputs)]
    if not isinstance(inputs, list) or not inputs:
        raise errors.validation_error(["body", "inputs"], "Input should be a string or a list of entries", "type_error")
    stored = []
    for position, item in enumerate(inputs):
        kind = item.get("type") or "message.input" if isinstance(item, dict) else None
        if kind == "message.input" and item.get("role", "user") in ("user", "assistant") and "content" in item:
            stored.append(E.message_input(sim.rng, now, item["content"], item.get("role", "user")))
        elif kind == "function.result" and "tool_call_id" in item and "result" in item:
            stored.append(E.function_result(sim.rng, now, item["tool_call_id"], str(item["result"])))
        else:
            raise errors.validation_error(["body", "inputs", position], "Unsupported input entry", "value_error", item)
    return stored


def _respond(sim: SimContext, request: Request, key: KeySpec, conversation: dict, context: list[dict],
             new_inputs: list[dict], *, stream: bool, store: bool, base: list[dict] | None = None) -> Response:
    """Answer `new_inputs` after `context`, charge the tokens, store, and reply as JSON or as events."""
    agent = sim.data.agent(conversation["agent_id"], _version(conversation)) if conversation.get("agent_id") else None
    model = agent["model"] if agent else conversation["model"]
    now = sim.now()
    output = E.message_output(sim.rng, now, now, answer(sim.rng), model=model, agent_id=agent and agent["id"])
    prompt = sum(E.estimate_tokens(E.entry_text(e)) for e in (*context, *new_inputs))
    completion = E.estimate_tokens(E.entry_text(output))
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
             "connector_tokens": None, "connectors": None}
    sim.gate.admit(request, key, paid=True, model=model, tokens=usage["total_tokens"])
    if store:
        updated = {**conversation, "updated_at": isoformat(now)}
        sim.data.save_conversation(updated, [*new_inputs, output], base=base)
    if stream:
        events = _events(conversation["id"], output, usage)
        return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    return JSONResponse({"object": "conversation.response", "conversation_id": conversation["id"],
                         "outputs": [output], "usage": usage, "guardrails": None})


def _version(conversation: dict) -> int | None:
    version = conversation.get("agent_version")
    return version if isinstance(version, int) else None


def _events(conversation_id: str, output: dict, usage: dict) -> Iterator[bytes]:
    started = output["created_at"]
    yield sse({"type": "conversation.response.started", "created_at": started, "conversation_id": conversation_id},
              "conversation.response.started")
    text = output["content"] if isinstance(output["content"], str) else E.content_text(output["content"])
    for index in range(0, len(text), STREAM_PIECE_CHARS):
        delta = {"type": "message.output.delta", "created_at": started, "output_index": 0, "id": output["id"],
                 "content_index": 0, "model": output["model"], "agent_id": output["agent_id"], "role": "assistant",
                 "content": text[index : index + STREAM_PIECE_CHARS]}
        yield sse(delta, "message.output.delta")
    yield sse({"type": "conversation.response.done", "created_at": output["completed_at"], "usage": usage},
              "conversation.response.done")


def _new_conversation(sim: SimContext, body: dict) -> dict:
    agent_id, model = body.get("agent_id"), body.get("model")
    if bool(agent_id) == bool(model):
        raise errors.bad_request("Exactly one of agent_id and model must be given", "agent_id")
    stamp = isoformat(sim.now())
    common = {"name": body.get("name"), "description": body.get("description"), "metadata": body.get("metadata"),
              "object": "conversation", "id": E.new_id("conversation", sim.rng), "created_at": stamp,
              "updated_at": stamp}
    if agent_id:
        agent = sim.data.agent(agent_id, body.get("agent_version") if isinstance(body.get("agent_version"), int)
                               else None)
        return {**common, "agent_id": agent_id, "agent_version": agent["version"]}
    return {"instructions": body.get("instructions"), "tools": body.get("tools") or [],
            "completion_args": body.get("completion_args") or {}, "guardrails": body.get("guardrails"),
            **common, "model": model}


async def start(request: Request) -> Response:
    sim = SimContext.of(request)
    key = sim.gate.authenticate(request)
    body = await read_json(request)
    inputs = _input_entries(sim, body.get("inputs"))
    conversation = _new_conversation(sim, body)
    return _respond(sim, request, key, conversation, [], inputs, stream=bool(body.get("stream")),
                    store=body.get("store") is not False, base=[])


async def append(request: Request) -> Response:
    sim = SimContext.of(request)
    key = sim.gate.authenticate(request)
    body = await read_json(request)
    conversation = sim.data.conversation(request.path_params["conversation_id"])
    inputs = _input_entries(sim, body.get("inputs"))
    return _respond(sim, request, key, conversation, sim.data.history(conversation["id"]), inputs,
                    stream=bool(body.get("stream")), store=body.get("store") is not False)


async def restart(request: Request) -> Response:
    """A new conversation holding the history up to `from_entry_id` (included), then the new inputs."""
    sim = SimContext.of(request)
    key = sim.gate.authenticate(request)
    body = await read_json(request)
    source = sim.data.conversation(request.path_params["conversation_id"])
    entry_id = require(body, "from_entry_id")
    history = sim.data.history(source["id"])
    cut = next((i for i, e in enumerate(history) if e.get("id") == entry_id), None)
    if cut is None:
        raise errors.not_found(f"Entry {entry_id} not found in conversation {source['id']}")
    inputs = _input_entries(sim, body.get("inputs"))
    stamp = isoformat(sim.now())
    conversation = {**source, "id": E.new_id("conversation", sim.rng), "created_at": stamp, "updated_at": stamp}
    if body.get("metadata") is not None:
        conversation["metadata"] = body["metadata"]
    if isinstance(body.get("agent_version"), int) and conversation.get("agent_id"):
        conversation["agent_version"] = body["agent_version"]
    base = history[: cut + 1]
    return _respond(sim, request, key, conversation, base, inputs, stream=bool(body.get("stream")),
                    store=body.get("store") is not False, base=base)


async def list_conversations(request: Request) -> JSONResponse:
    """A bare array, most recently updated first; no total: clients page until a short page."""
    sim = SimContext.of(request)
    sim.gate.guard(request)
    page = query_int(request, "page", 0)
    page_size = query_int(request, "page_size", 100, minimum=1, maximum=10000)
    metadata = query_json_object(request, "metadata")
    return JSONResponse(sim.data.conversation_page(page, page_size, metadata))


async def get_conversation(request: Request) -> JSONResponse:
    sim = SimContext.of(request)
    sim.gate.guard(request)
    return JSONResponse(sim.data.conversation(request.path_params["conversation_id"]))


async def delete_conversation(request: Request) -> Response:
    sim = SimContext.of(request)
    sim.gate.guard(request)
    sim.data.delete_conversation(request.path_params["conversation_id"])
    return Response(status_code=204)


async def history(request: Request) -> JSONResponse:
    sim = SimContext.of(request)
    sim.gate.guard(request)
    cid = request.path_params["conversation_id"]
    return JSONResponse({"object": "conversation.history", "conversation_id": cid, "entries": sim.data.history(cid)})


async def messages(request: Request) -> JSONResponse:
    sim = SimContext.of(request)
    sim.gate.guard(request)
    cid = request.path_params["conversation_id"]
    return JSONResponse({"object": "conversation.messages", "conversation_id": cid,
                         "messages": sim.data.messages(cid)})


CONVERSATION_ROUTES = [
    Route("/v1/conversations", start, methods=["POST"]),
    Route("/v1/conversations", list_conversations, methods=["GET"]),
    Route("/v1/conversations/{conversation_id}", get_conversation, methods=["GET"]),
    Route("/v1/conversations/{conversation_id}", append, methods=["POST"]),
    Route("/v1/conversations/{conversation_id}", delete_conversation, methods=["DELETE"]),
    Route("/v1/conversations/{conversation_id}/history", history, methods=["GET"]),
    Route("/v1/conversations/{conversation_id}/messages", messages, methods=["GET"]),
    Route("/v1/conversations/{conversation_id}/restart", restart, methods=["POST"]),
]
