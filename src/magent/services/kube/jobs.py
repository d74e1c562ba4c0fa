"""batch/v1 Jobs: create one, read its status, and the server's version (which Job fields it knows).

Errors are the client's (`Kube.call`): 403 → CredentialsRefused, unreachable → Unreachable (both exit 3); a Job
that already exists is a JobExists (exit 2), since re-running the same plan needs a decision from the user.
"""

from __future__ import annotations

from typing import Any

from magent.core.errors import CheckFailed, UsageError
from magent.services.kube.client import Conflict, Kube, NotFound


class JobExists(UsageError):
    """A Job of that name is already in the namespace."""


class JobGone(CheckFailed):
    """The Job being followed was deleted."""


def _batch(kube: Kube) -> Any:
    from kubernetes.client import BatchV1Api

    return BatchV1Api(kube.api_client)


def server_version(kube: Kube) -> dict[str, Any]:
    """The API server's /version document (major, minor, gitVersion…)."""
    from kubernetes.client import VersionApi

    return kube.call(VersionApi(kube.api_client).get_code) or {}


def create_job(kube: Kube, manifest: dict[str, Any]) -> dict[str, Any]:
    """Create the Job in its namespace; JobExists when one of that name is there."""
    name, namespace = manifest["metadata"]["name"], manifest["metadata"]["namespace"]
    try:
        return kube.call(_batch(kube).create_namespaced_job, namespace, manifest,
                         not_found=f"namespace {namespace} not found")
    except Conflict:
        raise JobExists(f"job {name} already exists in namespace {namespace}",
                        hint=f"follow it with `kubectl get job {name} -n {namespace}`, or delete it first "
                             f"(`kubectl delete job {name} -n {namespace}`) to run the plan again") from None
    except NotFound as exc:
        raise NotFound(exc.message, hint="create it, or choose another with --namespace") from None


def read_job(kube: Kube, name: str, namespace: str) -> dict[str, Any]:
    """The Job with its status; JobGone when it was deleted."""
    try:
        return kube.call(_batch(kube).read_namespaced_job_status, name, namespace) or {}
    except NotFound:
        raise JobGone(f"job {name} is no longer in namespace {namespace} (deleted?)",
                      hint="the export plan keeps its progress: submit it again with "
                           "`magent conversations export --submit`") from None
