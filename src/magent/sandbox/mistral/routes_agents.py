"""`/v1/agents…`: create, list (`page`/`page_size` and cursor pages), get, update (a new version), delete,
versions."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from magent.core.timeutil import isoformat
from magent.sandbox.mistral import errors
from magent.sandbox.mistral.app import SimContext, query, query_int, query_json_object, read_json, require
from magent.sandbox.mistral.entries import new_id
from magent.sandbox.mistral.generate import AgentRecord

# Fields a client may set on create (CreateAgentRequest) and update (UpdateAgentRequest).
CREATE_FIELDS = ("instructions", "tools", "completion_args", "guardrails", "model", "name", "description",
                 "handoffs", "metadata", "version_message")
UPDATE_FIELDS = (*CREATE_FIELDS, "deployment_chat")


async def create_agent(request: Request) -> JSONResponse:
    sim = SimContext.of(request)
    key = sim.gate.authenticate(request)
    body = await read_json(request)
    _reject_unknown(body, CREATE_FIELDS)
    model, name = require(body, "model"), require(body, "name")
    sim.gate.admit(request, key, model=model)
    stamp = isoformat(sim.now())
    agent = {
        "instructions": None, "tools": [], "completion_args": {}, "guardrails": None, "description": None,
        "handoffs": None, "metadata": None, "version_message": None,
        **{k: body[k] for k in CREATE_FIELDS if k in body and body[k] is not None},
        "model": model, "name": name, "object": "agent", "id": new_id("agent", sim.rng), "version": 0,
        "versions": [0], "created_at": stamp, "updated_at": stamp, "deployment_chat": False, "source": "api",
    }
    sim.data.put_agent(AgentRecord(versions={0: agent}, current=0))
    return JSONResponse(agent)


def _reject_unknown(body: dict, allowed: tuple[str, ...]) -> None:
    for name in body:
        if name not in allowed:
            raise errors.validation_error(["body", name], "Extra inputs are not permitted", "extra_forbidden")


def _filtered(request: Request) -> list[dict]:
    agents = SimContext.of(request).data.agents
    name, search, agent_id = query(request, "name"), query(request, "search"), query(request, "id")
    metadata = query_json_object(request, "metadata")
    if name:
        agents = [a for a in agents if a["name"] == name]
    if search:
        agents = [a for a in agents if search.lower() in a["name"].lower() or search in a["id"]]
    if agent_id:
        agents = [a for a in agents if a["id"] == agent_id]
    if metadata:
        agents = [a for a in agents if all((a.get("metadata") or {}).get(k) == v for k, v in metadata.items())]
    return agents


async def list_agents(request: Request) -> JSONResponse:
    SimContext.of(request).gate.guard(request)
    page = query_int(request, "page", 0)
    page_size = query_int(request, "page_size", 20, minimum=1, maximum=1000)
    return JSONResponse(_filtered(request)[page * page_size : (page + 1) * page_size])


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "offset":
            raise ValueError(text)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise errors.bad_request("Invalid page_token", "page_token") from None


async def list_agent_pages(request: Request) -> JSONResponse:
    """AgentListPage: `data` and an opaque `next_page_token` (null on the last page)."""
    SimContext.of(request).gate.guard(request)
    page_size = query_int(request, "page_size", 20, minimum=1, maximum=1000)
    token = query(request, "page_token")
    offset = _decode_cursor(token) if token else 0
    agents = _filtered(request)
    data = agents[offset : offset + page_size]
    following = _encode_cursor(offset + page_size) if offset + page_size < len(agents) else None
    return JSONResponse({"object": "list", "data": data, "next_page_token": following})


def _version_param(request: Request, name: str) -> int | None:
    raw = query(request, name) if name in request.query_params else request.path_params.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise errors.validation_error(["query", name], "Input should be a valid integer", "int_parsing", raw) from None


async def get_agent(request: Request) -> JSONResponse:
    sim = SimContext.of(request)
    sim.gate.guard(request)
    version = _version_param(request, "agent_version")
    return JSONResponse(sim.data.agent(request.path_params["agent_id"], version))


async def update_agent(request: Request) -> JSONResponse:
    """Every update makes a new version, which becomes the current one."""
    sim = SimContext.of(request)
    key = sim.gate.authenticate(request)
    body = await read_json(request)
    _reject_unknown(body, UPDATE_FIELDS)
    record = sim.data.agent_record(request.path_params["agent_id"])
    sim.gate.admit(request, key, model=body["model"] if body.get("model") else None)
    version = max(record.versions) + 1
    changes = {k: v for k, v in body.items() if v is not None}
    agent = {**record.latest, **changes, "version": version, "versions": [*record.versions, version],
             "updated_at": isoformat(sim.now()), "version_message": body.get("version_message")}
    sim.data.put_agent(AgentRecord(versions={**record.versions, version: agent}, current=version))
    return JSONResponse(agent)


async def delete_agent(request: Request) -> Response:
    sim = SimContext.of(request)
    sim.gate.guard(request)
    sim.data.delete_agent(request.path_params["agent_id"])
    return Response(status_code=204)


async def switch_version(request: Request) -> JSONResponse:
    sim = SimContext.of(request)
    sim.gate.guard(request)
    record = sim.data.agent_record(request.path_params["agent_id"])
    version = _version_param(request, "version")
    if version is None:
        raise errors.validation_error(["query", "version"], "Field required", "missing")
    agent = sim.data.agent(record.id, version)
    sim.data.put_agent(AgentRecord(versions=record.versions, current=version))
    return JSONResponse(agent)


async def list_versions(request: Request) -> JSONResponse:
    sim = SimContext.of(request)
    sim.gate.guard(request)
    record = sim.data.agent_record(request.path_params["agent_id"])
    page = query_int(request, "page", 0)
    page_size = query_int(request, "page_size", 20, minimum=1, maximum=100)
    versions = [record.versions[v] for v in sorted(record.versions, reverse=True)]
    return JSONResponse(versions[page * page_size : (page + 1) * page_size])


async def get_version(request: Request) -> JSONResponse:
    sim = SimContext.of(request)
    sim.gate.guard(request)
    version = _version_param(request, "version")
    return JSONResponse(sim.data.agent(request.path_params["agent_id"], version))


AGENT_ROUTES = [
    Route("/v1/agents", create_agent, methods=["POST"]),
    Route("/v1/agents", list_agents, methods=["GET"]),
    Route("/v1/agents/pages", list_agent_pages, methods=["GET"]),
    Route("/v1/agents/{agent_id}", get_agent, methods=["GET"]),
    Route("/v1/agents/{agent_id}", update_agent, methods=["PATCH"]),
    Route("/v1/agents/{agent_id}", delete_agent, methods=["DELETE"]),
    Route("/v1/agents/{agent_id}/version", switch_version, methods=["PATCH"]),
    Route("/v1/agents/{agent_id}/versions", list_versions, methods=["GET"]),
    Route("/v1/agents/{agent_id}/versions/{version}", get_version, methods=["GET"]),
]
