"""`magent status --target ecs` and `magent history --target ecs`: what an ECS service runs, its canary, the
listener's weights, its last deploy and lock; the revisions of its task-definition family."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from magent.core.timeutil import isoformat
from magent.services.aws import ecs as es
from magent.services.targets.ecs import EcsTarget


def service_status(target: EcsTarget) -> dict[str, Any]:
    stable = target.stable()
    canary = es.find_service(target.ecs, target.scope, target.canary_name)
    state = target.read_state(stable)
    lock = target.lock_holder()
    try:
        traffic = target.traffic(stable)
        weights = es.forward_weights(target.ecs, traffic.listener_arn, traffic.rule_arn)
        shares: dict[str, Any] = {"stable": weights.get(traffic.stable_target_group, 0),
                                  "canary": weights.get(traffic.canary_target_group, 0)}
    except Exception as exc:  # noqa: BLE001 - the weights are context; the status must still show
        shares = {"error": getattr(exc, "message", str(exc))}
    service = stable.service
    return {
        "service": service.name, "cluster": target.scope, "images": list(stable.images.values()),
        "task_definition": service.task_definition.rsplit("/", 1)[-1],
        "tasks": {"desired": service.desired, "running": service.running},
        "rollout": service.rollout_state or "-",
        "traffic_weights": shares,
        "canary": None if canary is None else {
            "name": canary.name, "task_definition": canary.task_definition.rsplit("/", 1)[-1],
            "tasks": {"desired": canary.desired, "running": canary.running}},
        "deploy": None if state is None else {**asdict(state), "phase": state.phase.value, "step": state.step + 1,
                                              "weight": state.weight, "in_progress": not state.phase.terminal},
        "lock": None if lock is None or not lock.holder else {
            "holder": lock.holder, "renewed_at": isoformat(lock.renewed_at) if lock.renewed_at else None,
            "duration_s": lock.duration_s, "expired": lock.expired()},
    }


def task_definition_history(target: EcsTarget, limit: int = 20) -> list[dict[str, Any]]:
    """The newest revisions of the service's task-definition family, as `magent history` records."""
    stable = target.stable()
    family = stable.task_definition.get("family", "")
    answer = target.ecs.call(target.ecs.ecs, "list_task_definitions", f"task definitions of {family}",
                             familyPrefix=family, sort="DESC", maxResults=min(limit, 100))
    records = []
    # newest first, whatever order the API chose (moto ignores `sort`)
    arns = sorted(answer.get("taskDefinitionArns", []), key=lambda arn: int(arn.rsplit(":", 1)[-1]), reverse=True)
    for arn in arns[:limit]:
        definition = es.describe_task_definition(target.ecs, arn)
        records.append({"revision": definition.get("revision"), "images": es_images(definition),
                        "task_definition": arn.rsplit("/", 1)[-1], "created": _created(definition),
                        "current": arn == stable.service.task_definition})
    return records


def es_images(definition: dict[str, Any]) -> list[str]:
    return [c.get("image", "") for c in definition.get("containerDefinitions", [])]


def _created(definition: dict[str, Any]) -> str | None:
    moment = definition.get("registeredAt")
    return isoformat(moment) if moment is not None and hasattr(moment, "tzinfo") else None
