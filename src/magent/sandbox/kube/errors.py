"""API errors as the Kubernetes API server words them: a `Status` object with code, reason and message."""

from __future__ import annotations

from typing import Any

from magent.sandbox.kube.discovery import ResourceType


class ApiError(Exception):
    """An error the API answers with a `Status` body (kubectl prints its message)."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details:
            body["details"] = self.details
        body["code"] = self.code  # after details, in the order of Go's metav1.Status fields
        return body


def _details(rtype: ResourceType, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name}
    if rtype.group:
        details["group"] = rtype.group
    details["kind"] = rtype.plural  # name, group, kind: metav1.StatusDetails' order
    return details


def not_found(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{rtype.qualified} "{name}" not found', _details(rtype, name))


def namespace_not_found(namespace: str) -> ApiError:
    return ApiError(404, "NotFound", f'namespaces "{namespace}" not found', {"name": namespace, "kind": "namespaces"})


def already_exists(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{rtype.qualified} "{name}" already exists', _details(rtype, name))


def conflict(rtype: ResourceType, name: str) -> ApiError:
    message = (
        f'Operation cannot be fulfilled on {rtype.qualified} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    return ApiError(409, "Conflict", message, _details(rtype, name))


def invalid(rtype: ResourceType, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 Invalid; `causes` are (field, message) pairs such as ("spec.selector", "Required value")."""
    kind = f"{rtype.kind}.{rtype.group}" if rtype.group else rtype.kind
    summary = ", ".join(f"{path}: {message}" for path, message in causes)
    details = _details(rtype, name)
    details["kind"] = rtype.kind
    details["causes"] = [
        {"reason": "FieldValueInvalid", "message": message, "field": path} for path, message in causes
    ]
    return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {summary}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def gone(requested: str, current: int) -> ApiError:
    return ApiError(410, "Expired", f"too old resource version: {requested} ({current})")


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def no_containers(subresource: str) -> ApiError:
    """exec, attach and port-forward reach a container's processes; the sandbox runs none. The 400 says so,
    where a bare 404 would read as "no such pod"."""
    return bad_request(f"the magent sandbox runs no containers: pods/{subresource} (kubectl exec, attach and "
                       "port-forward) needs a real cluster")
