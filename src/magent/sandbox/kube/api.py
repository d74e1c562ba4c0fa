"""The HTTP API: discovery, and get/list/watch/create/update/patch/delete on every served resource.

Paths are those of kube-apiserver: `/api/v1/namespaces/NS/pods/NAME/log`,
`/apis/apps/v1/namespaces/NS/deployments/NAME/scale`, `/api/v1/namespaces/NAME`, … Errors are `Status`
objects. A bearer token, when sent, must be the kubeconfig's (kubectl sends none over http).
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from magent.sandbox.kube import discovery, resources
from magent.sandbox.kube.authz import Authorizer, forbidden, request_verb, review
from magent.sandbox.kube.errors import ApiError, bad_request, no_containers, unauthorized
from magent.sandbox.kube.fields import field_validation
from magent.sandbox.kube.patch import APPLY, PatchError
from magent.sandbox.kube.selectors import object_matcher
from magent.sandbox.kube.store import ObjectStore
from magent.sandbox.kube.streams import WatchRequest, follow_lines, watch_stream
from magent.sandbox.kube.tables import to_table, wants_table

LogProvider = Callable[[dict[str, Any], str | None, bool], list[tuple[float, str]]]
_OPEN_PATHS = frozenset({"/healthz", "/livez", "/readyz"})
_NOT_FOUND = ApiError(404, "NotFound", "the server could not find the requested resource")


@dataclass(frozen=True)
class Target:
    rtype: discovery.ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


def parse_target(group: str, version: str, rest: str) -> Target:
    parts = [p for p in rest.split("/") if p]
    if len(parts) >= 3 and parts[0] == "namespaces" and discovery.by_path(group, version, parts[2]):
        namespace, parts = parts[1], parts[2:]
    else:
        namespace = None
    rtype = discovery.by_path(group, version, parts[0]) if parts else None
    if rtype is None or len(parts) > 3 or (namespace is not None and not rtype.namespaced):
        raise _NOT_FOUND
    name = parts[1] if len(parts) > 1 else None
    subresource = parts[2] if len(parts) > 2 else None
    if subresource is not None and subresource not in rtype.subresources:
        raise _NOT_FOUND
    if rtype.namespaced and name is not None and namespace is None:
        raise _NOT_FOUND
    return Target(rtype, namespace, name, subresource)


def _json(data: Any, status: int = 200, warnings: list[str] | None = None):
    from starlette.responses import Response

    # Go's json.Encoder ends every body with a newline; clients that print raw bodies show it
    response = Response(json.dumps(data, separators=(",", ":")) + "\n", status_code=status,
                        media_type="application/json")
    for warning in warnings or ():
        response.headers.append("Warning", f'299 - {json.dumps(warning)}')
    return response


def _validate_fields(request, target: Target, body: Any) -> list[str]:
    return field_validation(target.rtype.kind, target.rtype.api_version, body,
                            request.query_params.get("fieldValidation"))


class KubeApi:
    """The Starlette application of the simulator over one ObjectStore."""

    def __init__(self, store: ObjectStore, logs: LogProvider, token: str | None, *,
                 require_token: bool = False, authorizer: Authorizer | None = None) -> None:
        self.store = store
        self.authorizer = authorizer or Authorizer()
        self.logs = logs
        self.token = token
        self.require_token = require_token

    def asgi(self):
        from starlette.applications import Starlette
        from starlette.routing import Route

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        routes = [
            Route("/version", lambda r: _json(discovery.SERVER_VERSION)),
            Route("/healthz", self._ok), Route("/livez", self._ok), Route("/readyz", self._ok),
            Route("/api", lambda r: _json(discovery.api_versions())),
            Route("/apis", lambda r: _json(discovery.api_group_list())),
            Route("/api/v1", lambda r: _json(discovery.api_resource_list("", "v1"))),
            Route("/api/v1/{rest:path}", self._resource, methods=methods),
            Route("/apis/{group}", self._group),
            Route("/apis/{group}/{version}", self._group_version),
            Route("/apis/{group}/{version}/{rest:path}", self._resource, methods=methods),
            Route("/openapi/v3", lambda r: _json(discovery.openapi_v3_index())),
            Route("/openapi/v3/{rest:path}", self._openapi_v3),
        ]
        app = Starlette(routes=routes)
        app.add_exception_handler(ApiError, lambda request, exc: _json(exc.status(), exc.code))
        app.add_exception_handler(404, lambda request, exc: _json(_NOT_FOUND.status(), 404))
        app.add_exception_handler(405, lambda request, exc: _json(_method_not_allowed(str(exc.detail)), 405))
        return _Authenticated(app, self.token, self.require_token)

    async def _ok(self, request):
        from starlette.responses import PlainTextResponse

        return PlainTextResponse("ok")

    async def _openapi_v3(self, request):
        document = discovery.openapi_v3_document(request.path_params["rest"])
        if document is None:
            raise _NOT_FOUND
        return _json(document)

    async def _group(self, request):
        found = discovery.api_group(request.path_params["group"])
        if found is None:
            raise _NOT_FOUND
        return _json(found)

    async def _group_version(self, request):
        found = discovery.api_resource_list(request.path_params["group"], request.path_params["version"])
        if found is None:
            raise _NOT_FOUND
        return _json(found)

    async def _resource(self, request):
        params = request.path_params
        group, version = params.get("group", ""), params.get("version", "v1")
        target = parse_target(group, version, params["rest"])
        if target.rtype.virtual:
            return await self._review(request, target)
        self._authorize(request, target)
        if target.subresource in discovery.STREAMING_SUBRESOURCES:
            resources.read(self.store, target.rtype, target.namespace, target.name or "")  # a missing pod: 404
            raise no_containers(target.subresource)
        if target.rtype.computed:
            return self._computed(request, target)
        handler = {"GET": self._get, "POST": self._post, "PUT": self._put,
                   "PATCH": self._patch, "DELETE": self._delete}[request.method]
        return await handler(request, target)

    def _authorize(self, request, target: Target) -> None:
        """403 when the simulator's rules deny this request (they allow everything by default)."""
        verb = request_verb(request.method, target.name is not None, _flag(request.query_params.get("watch")))
        rtype = target.rtype
        if not self.authorizer.allowed(verb, rtype.group, rtype.plural, target.subresource or "", target.namespace):
            raise forbidden(verb, rtype.group, rtype.plural, target.subresource or "", target.namespace, target.name)

    async def _review(self, request, target: Target):
        """SelfSubjectAccessReview: create only, answered from the authorizer, never stored."""
        if request.method != "POST" or target.name is not None:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        return _json(review(self.authorizer, await _body(request)), 201)

    def _computed(self, request, target: Target):
        """metrics.k8s.io: get and list only (no watch), computed from the pods at each request."""
        from magent.sandbox.kube.metrics import read_metrics, refuse_write

        if request.method != "GET" or _flag(request.query_params.get("watch")):
            raise refuse_write()
        query = request.query_params
        return _json(read_metrics(self.store, target.rtype, target.namespace, target.name,
                                  query.get("labelSelector"), query.get("fieldSelector")))

    # --- verbs ---------------------------------------------------------------------------------------
    async def _get(self, request, target: Target):
        query = request.query_params
        if target.name is None:
            if _flag(query.get("watch")):
                return self._watch(request, target)
            listed = self._list(target, query)
            if wants_table(request.headers.get("accept")):
                return _json(to_table(target.rtype.kind, listed["items"], listed["metadata"],
                                      query.get("includeObject")))
            return _json(listed)
        if target.subresource == "log":
            return self._log(request, target)
        obj = resources.read(self.store, target.rtype, target.namespace, target.name)
        if target.subresource == "scale":
            return _json(resources.to_scale(obj))
        if wants_table(request.headers.get("accept")):
            return _json(to_table(target.rtype.kind, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]},
                                  query.get("includeObject")))
        return _json(obj)

    def _list(self, target: Target, query) -> dict[str, Any]:
        matcher = object_matcher(query.get("labelSelector"), query.get("fieldSelector"), target.rtype.kind)
        items, rv = self.store.list(target.rtype, target.namespace, matcher)
        metadata: dict[str, Any] = {"resourceVersion": str(rv)}
        start = _decode_continue(query.get("continue"))
        if start is not None:
            items = [i for i in items if _item_key(i) > start]
        limit = int(query.get("limit") or 0)
        if 0 < limit < len(items):
            metadata["remainingItemCount"] = len(items) - limit
            items = items[:limit]
            metadata["continue"] = base64.urlsafe_b64encode(json.dumps(_item_key(items[-1])).encode()).decode()
        return {"kind": target.rtype.list_kind, "apiVersion": target.rtype.api_version,
                "metadata": metadata, "items": items}

    def _watch(self, request, target: Target):
        from starlette.responses import StreamingResponse

        query = request.query_params
        watch = WatchRequest(
            rtype=target.rtype,
            namespace=target.namespace,
            matcher=object_matcher(query.get("labelSelector"), query.get("fieldSelector"), target.rtype.kind),
            resource_version=query.get("resourceVersion"),
            timeout_s=float(query.get("timeoutSeconds") or 1800),
            bookmarks=_flag(query.get("allowWatchBookmarks")),
            send_initial_events=_flag(query.get("sendInitialEvents")),
        )
        if wants_table(request.headers.get("accept")):
            include = query.get("includeObject")
            watch.transform = lambda obj: to_table(
                target.rtype.kind, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")}, include)
        return StreamingResponse(watch_stream(self.store, watch), media_type="application/json")

    def _log(self, request, target: Target):
        from starlette.responses import PlainTextResponse, StreamingResponse

        from magent.sandbox.kube.podlogs import LogOptions

        query = request.query_params
        options = LogOptions.parse(query)
        pod = resources.read(self.store, target.rtype, target.namespace, target.name)
        container, previous = query.get("container"), _flag(query.get("previous"))
        written = self.logs(pod, container, previous)
        lines = options.select(written)
        if not _flag(query.get("follow")):
            return PlainTextResponse("".join(line + "\n" for line in lines))
        seen = len(written)

        def more() -> list[str] | None:
            nonlocal seen
            current = self.store.get(target.rtype, target.namespace, target.name or "")
            if current is None or current["metadata"]["uid"] != pod["metadata"]["uid"]:
                return None
            every = self.logs(current, container, previous)
            fresh, seen = every[seen:], len(every)
            return options.render(fresh)

        return StreamingResponse(follow_lines(lines, more), media_type="text/plain")

    async def _post(self, request, target: Target):
        if target.name is not None:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        body = await _body(request)
        meta = body.get("metadata") if isinstance(body, dict) else None
        if isinstance(meta, dict) and target.rtype.namespaced:
            if meta.get("namespace") not in (None, "", target.namespace):
                raise bad_request("the namespace of the provided object does not match the namespace sent on "
                                  "the request")
            meta["namespace"] = target.namespace
        warnings = _validate_fields(request, target, body)
        created = self.store.create(target.rtype, body, dry_run=_dry_run(request))
        return _json(created, 201, warnings)

    async def _put(self, request, target: Target):
        if target.name is None:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        body = await _body(request)
        name = (body.get("metadata") or {}).get("name") if isinstance(body, dict) else None
        if name != target.name:
            raise bad_request(f"the name of the object ({name}) does not match the name on the URL ({target.name})")
        if isinstance(body.get("metadata"), dict) and target.rtype.namespaced:
            body["metadata"]["namespace"] = target.namespace
        if target.subresource == "scale":
            return _json(resources.write_scale(self.store, target.rtype, target.namespace, body, _dry_run(request)))
        warnings = _validate_fields(request, target, body)
        updated = self.store.update(target.rtype, body, subresource=target.subresource, dry_run=_dry_run(request))
        return _json(updated, 200, warnings)

    async def _patch(self, request, target: Target):
        if target.name is None:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        content_type = request.headers.get("content-type", "")
        patch = await _body(request, yaml_ok=content_type.startswith(APPLY))
        try:
            result, created = resources.patch(self.store, target.rtype, target.namespace, target.name,
                                              target.subresource, content_type, patch, _dry_run(request))
        except PatchError as exc:
            reason = {415: "UnsupportedMediaType", 422: "Invalid"}.get(exc.code, "BadRequest")
            raise ApiError(exc.code, reason, str(exc)) from exc
        return _json(result, 201 if created else 200)

    async def _delete(self, request, target: Target):
        options = await _body(request, optional=True) or {}
        propagation = request.query_params.get("propagationPolicy") or options.get("propagationPolicy") or "Background"
        # kubectl sends dryRun in the DeleteOptions body, not the query; either one makes the delete a dry run
        dry_run = _dry_run(request, options.get("dryRun") if isinstance(options, dict) else None)
        grace = resources.grace_period(request.query_params.get("gracePeriodSeconds"),
                                       options.get("gracePeriodSeconds") if isinstance(options, dict) else None)
        if target.name is None:
            matcher = object_matcher(request.query_params.get("labelSelector"),
                                     request.query_params.get("fieldSelector"), target.rtype.kind)
            items, _ = self.store.list(target.rtype, target.namespace, matcher)
            for item in items if not dry_run else ():
                resources.delete_quietly(self.store, target.rtype, item, propagation, grace)
            return _json({"kind": target.rtype.list_kind, "apiVersion": target.rtype.api_version,
                          "metadata": {}, "items": items})
        deleted = self.store.delete(target.rtype, target.namespace, target.name,
                                    propagation=propagation, dry_run=dry_run, grace_period_seconds=grace)
        if target.rtype.kind == "Pod":
            return _json(deleted)
        return _json(resources.delete_status(target.rtype, deleted))


def _method_not_allowed(detail: str) -> dict[str, Any]:
    return ApiError(405, "MethodNotAllowed", detail).status()


def _item_key(item: dict[str, Any]) -> list[str]:
    return [item["metadata"].get("namespace", ""), item["metadata"]["name"]]


def _decode_continue(token: str | None) -> list[str] | None:
    if not token:
        return None
    try:
        return list(json.loads(base64.urlsafe_b64decode(token.encode())))
    except (ValueError, TypeError):
        raise bad_request("continue key is not valid") from None


def _flag(value: str | None) -> bool:
    """A boolean query parameter, parsed as Go's strconv.ParseBool does (`true`, `True`, `1`, `t`, …)."""
    return (value or "").lower() in ("1", "t", "true")


def _dry_run(request, from_body: Any = None) -> bool:
    """`dryRun` from the query and/or a body's options: only `All` exists; anything else is 422 as on a real API."""
    values = [*request.query_params.getlist("dryRun"), *(from_body if isinstance(from_body, list) else
                                                         [from_body] if from_body else [])]
    unsupported = [v for v in values if v != "All"]
    if unsupported:
        raise ApiError(422, "Invalid", f'dryRun: Unsupported value: {unsupported!r}: supported values: "All"')
    return bool(values)


async def _body(request, *, yaml_ok: bool = False, optional: bool = False) -> Any:
    media = request.headers.get("content-type", "application/json").split(";", 1)[0].strip().lower()
    if "cbor" in media:  # clients fall back to JSON on 415
        raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                       "accepted media types include: application/json, application/yaml, "
                       "application/vnd.kubernetes.protobuf")
    if media == "application/vnd.kubernetes.protobuf":
        from magent.sandbox.kube.protobuf import ProtobufError, decode_object

        try:
            return decode_object(await request.body())
        except (ProtobufError, KeyError, UnicodeDecodeError) as exc:
            raise bad_request(f"unable to decode the protobuf body: {exc}") from exc
    raw = await request.body()
    if not raw.strip():
        if optional:
            return None
        raise bad_request("the request body is empty")
    try:
        if yaml_ok:
            import yaml

            return yaml.safe_load(raw)
        return json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc
    except Exception as exc:  # yaml.YAMLError and its kin
        raise bad_request(f"error decoding YAML: {exc}") from exc


class _Authenticated:
    """ASGI middleware: a bearer token, when sent, must be the simulator's (else 401 Unauthorized).

    kubectl never sends a token over plain http, so a request without one is let in unless `required`.
    """

    def __init__(self, app, token: str | None, required: bool) -> None:
        self.app = app
        self.token = token
        self.required = required

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and self.token and scope["path"] not in _OPEN_PATHS:
            headers = dict(scope.get("headers") or [])
            supplied = headers.get(b"authorization")
            expected = f"Bearer {self.token}".encode()
            if (supplied is None and self.required) or (
                supplied is not None and not hmac.compare_digest(supplied, expected)
            ):
                response = _json(unauthorized().status(), 401)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
