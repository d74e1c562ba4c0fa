"""`magent rollback|status|history --target ecs`: the on-call side of an ECS service (see workflows/deploy/ecs_*)."""

from __future__ import annotations

import time
from typing import Any


def _target(state: Any, cluster: str | None, service: str | None) -> Any:
    from magent.cli.deploy_target import open_target

    return open_target(state, target="ecs", deployment=None, namespace=None, context=None, cluster=cluster,
                       service=service)


def rollback_ecs(state: Any, fmt: Any, *, cluster: str | None, service: str | None, to_revision: int,
                 reason: str | None, dry_run: bool, yes: bool, started: float, show: Any) -> None:
    from magent.cli.cluster import confirm_rollback
    from magent.cli.deploy_view import EventView
    from magent.services.targets.lock import identity
    from magent.workflows.deploy.ecs_rollback import SKIP, execute_ecs, plan_ecs_rollback
    from magent.workflows.deploy.rollback import audited

    chosen = _target(state, cluster, service)
    plan = plan_ecs_rollback(chosen.target, to_revision)
    if dry_run or plan.action == SKIP:
        show(state, fmt, {**plan.to_dict(), "dry_run": dry_run, "outcome": "planned" if dry_run else "skipped"})
        return
    chosen.announce(f"Rolling back ECS service {chosen.target.name}")
    asked = time.monotonic()
    confirm_rollback(state, plan, yes=yes)
    started += time.monotonic() - asked  # the time a person took to answer is not the rollback's
    actor = identity()
    view = EventView(state, fmt)
    with audited(state.settings, plan, actor=actor, reason=reason, on_event=view) as on_event:
        with view:
            outcome = execute_ecs(chosen.target, plan, reason=reason, actor=actor,
                                  timeout_s=state.settings.deploy.rollout_timeout, on_event=on_event, started=started)
        show(state, fmt, {**plan.to_dict(), "outcome": "rolled_back", "reason": reason,
                          "request_seconds": outcome.request_seconds, "health": outcome.health})


def status_ecs(state: Any, fmt: Any, *, cluster: str | None, service: str | None, watch: bool = False,
               timeout_s: float | None = None) -> None:
    from magent.cli.render import emit
    from magent.workflows.deploy.ecs_status import service_status

    target = _target(state, cluster, service).target
    if watch:
        from magent.cli.status_watch import follow

        return follow(state, fmt, lambda: watchable(service_status(target)), table=_status_table,
                      timeout_s=timeout_s)
    data = service_status(target)
    emit(state, fmt, data, table=lambda: _status_table(data))


def watchable(data: dict[str, Any]) -> dict[str, Any]:
    """An ECS status with the keys `status --watch` follows on Kubernetes (namespace/deployment, replicas,
    rollout): the cluster for the namespace, running tasks for ready pods, the service's rolloutState."""
    tasks, canary = data["tasks"], data["canary"]
    failed = data["rollout"] == "FAILED"
    done = data["rollout"] in ("COMPLETED", "-") and tasks["running"] >= tasks["desired"]
    return {**data, "namespace": data["cluster"], "deployment": data["service"],
            "replicas": {"ready": tasks["running"], "desired": tasks["desired"]},
            "rollout": f"rollout {data['rollout']}, {tasks['running']}/{tasks['desired']} tasks running",
            "rollout_done": done, "rollout_error": failed,
            "canary": None if canary is None else {**canary, "replicas": {
                "ready": canary["tasks"]["running"], "desired": canary["tasks"]["desired"]}}}


def _status_table(data: dict[str, Any]) -> Any:
    from magent.cli.deploy_view import kv_table

    deploy = data["deploy"] or {}
    canary = data["canary"]
    rows = [
        ("service", f"{data['cluster']}/{data['service']}"),
        ("images", ", ".join(data["images"])),
        ("task definition", data["task_definition"]),
        ("tasks", f"{data['tasks']['running']}/{data['tasks']['desired']} running"),
        ("rollout", data["rollout"]),
        ("traffic", traffic_cell(data["traffic_weights"])),
        ("canary", "-" if canary is None else
         f"{canary['name']} ({canary['task_definition']}, {canary['tasks']['running']}/{canary['tasks']['desired']})"),
        ("last deploy", "-" if not deploy else
         f"{deploy['deploy_id']} {deploy['phase']} {deploy['image']}" + (f": {deploy['reason']}"
                                                                         if deploy.get("reason") else "")),
        ("lock", "-" if data["lock"] is None else data["lock"]["holder"]),
    ]
    return kv_table(None, rows)


def traffic_cell(weights: dict[str, Any]) -> str:
    """Each target group's share of requests; ALB weights are relative (0-999), so 1/0 means 100/0."""
    if any(not isinstance(value, int) for value in weights.values()):
        return ", ".join(f"{key} {value}" for key, value in weights.items())  # {"error": why}
    total = sum(weights.values())
    shares = ", ".join(f"{key} {round(100 * value / total, 1) if total else 0:g}%" for key, value in weights.items())
    return shares if total == 100 else f"{shares} (listener weights {'/'.join(map(str, weights.values()))})"


def history_ecs(state: Any, fmt: Any, *, cluster: str | None, service: str | None, revisions: bool = True,
                limit: int = 20) -> None:
    """The audit trail from the store (as on Kubernetes, the cluster in place of the namespace), or with
    --revisions (or without a store) the revisions of the service's task-definition family."""
    from types import SimpleNamespace

    from magent.cli.render import emit, simple_table
    from magent.workflows.deploy.audit import store_configured
    from magent.workflows.deploy.ecs_status import task_definition_history

    target = _target(state, cluster, service).target
    if not revisions and store_configured(state.settings):
        from magent.cli.history_view import show_audit_history

        return show_audit_history(state, fmt, SimpleNamespace(namespace=target.scope), target.name, limit,
                                  revisions_of="the revisions of the service's task definition family")
    records = task_definition_history(target)
    rows = [(r["revision"], ", ".join(r["images"]), r["created"] or "-", "*" if r["current"] else "")
            for r in records]
    emit(state, fmt, records, table=lambda: simple_table(
        "task definition revisions", ["revision", "images", "registered", "current"], rows))
