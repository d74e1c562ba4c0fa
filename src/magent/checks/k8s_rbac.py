"""k8s.rbac (live only): the current identity may do what `magent deploy` and `magent rollback` need in the
namespace, asked of the API server with SelfSubjectAccessReview (what `kubectl auth can-i` asks)."""

from __future__ import annotations

from magent.checks import CheckContext, CheckType, register_check
from magent.checks._shared import kube
from magent.core.preflight import CheckResult, Finding
from magent.core.text import counted

BOTH = ("deploy", "rollback")
# (verb, resource, group, subresource, needed by)
PERMISSIONS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    *((verb, "deployments", "apps", "", BOTH) for verb in ("get", "patch", "update")),
    *((verb, "deployments", "apps", "scale", BOTH) for verb in ("get", "patch", "update")),
    ("create", "deployments", "apps", "", ("deploy",)),  # the canary Deployment
    ("delete", "deployments", "apps", "", BOTH),  # removing the canary (promote, abort)
    *((verb, "leases", "coordination.k8s.io", "", BOTH) for verb in ("get", "create", "update")),
    ("list", "replicasets", "apps", "", BOTH),  # revisions
    ("list", "pods", "", "", BOTH),  # health analysis
    ("list", "events", "", "", ("deploy",)),
)


def _name(resource: str, group: str, subresource: str) -> str:
    qualified = f"{resource}.{group}" if group else resource
    return f"{qualified}/{subresource}" if subresource else qualified


def run(ctx: CheckContext) -> CheckResult:
    from magent.services.kube.access import can_i

    if not ctx.options.deployment:
        why = "live only" if ctx.options.manifests else "needs a cluster"
        return CheckResult.skipped(f"k8s.rbac is {why}: pass --deployment NAME (and -n NAMESPACE)")
    connection = kube(ctx)
    findings = []
    for verb, resource, group, subresource, needed_by in PERMISSIONS:
        access = can_i(connection, verb, resource, group=group, subresource=subresource)
        if not access.allowed:
            shown = f"{resource}/{subresource}" if subresource else resource
            reason = f" ({access.reason})" if access.reason else ""
            findings.append(Finding(f"cannot {verb} {shown} in namespace {connection.namespace} "
                                    f"(needed by {' and '.join(needed_by)}){reason}",
                                    file=f"deployment/{ctx.options.deployment}", rule=f"{verb}-{resource}"))
    if findings:
        return CheckResult.failed(f"{counted(len(findings), 'permission')} missing in namespace {connection.namespace} "
                                  "(kubectl auth can-i --list shows yours)", findings)
    return CheckResult.passed(f"may do all {len(PERMISSIONS)} operations deploy and rollback need in namespace "
                              f"{connection.namespace}")


register_check(CheckType("k8s.rbac", run, security=True,
                         summary="The identity may do what deploy and rollback need (SelfSubjectAccessReview)"))
