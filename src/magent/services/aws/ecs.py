"""Amazon ECS and the ALB in front of it (ELBv2): what a canary on ECS Fargate needs, I/O and error translation
only (the canary's decisions live in core, its orchestration in the deploy workflow).

    services      describe / create / scale / delete, point a service at a task definition, wait for its rollout
    task defs     read one, register a copy with another image
    listener      read and set the weights of a forward action (one ModifyListener / ModifyRule call)
    tags          read and write a service's tags (where a deploy keeps its state and lock)

botocore's errors become magent's: a missing cluster, service, listener or target group is a UsageError (2)
naming it; refused credentials CredentialsRefused (3); an unreachable endpoint, throttling or 5xx Unreachable (3).
boto3 is imported inside the functions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from magent.core.errors import InconsistentState, UsageError
from magent.services.aws import translate_aws_error

_NOT_FOUND = {
    "ClusterNotFoundException": "check --cluster (or deploy.ecs.cluster) and AWS_REGION",
    "ServiceNotFoundException": "check --service (or deploy.ecs.service) and the cluster",
    "ListenerNotFound": "check deploy.ecs.listener_arn, or let magent discover it from the service's load balancer",
    "RuleNotFound": "check deploy.ecs.rule_arn",
    "TargetGroupNotFound": "check deploy.ecs.canary_target_group",
    "LoadBalancerNotFound": "check the service's load balancer",
}
# RegisterTaskDefinition takes these keys of DescribeTaskDefinition's answer back unchanged.
_TASK_DEFINITION_FIELDS = (
    "family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes",
    "placementConstraints", "requiresCompatibilities", "cpu", "memory", "pidMode", "ipcMode",
    "proxyConfiguration", "inferenceAccelerators", "ephemeralStorage", "runtimePlatform",
)


@dataclass(frozen=True)
class EcsService:
    cluster: str
    name: str
    arn: str
    task_definition: str
    desired: int
    running: int
    status: str  # ACTIVE, DRAINING, INACTIVE
    rollout_state: str | None  # of the PRIMARY deployment: IN_PROGRESS, COMPLETED, FAILED
    failed_tasks: int = 0  # of the PRIMARY deployment
    load_balancers: list[dict[str, Any]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    launch_type: str | None = None
    network_configuration: dict[str, Any] | None = None

    @property
    def target_groups(self) -> list[str]:
        return [lb["targetGroupArn"] for lb in self.load_balancers if lb.get("targetGroupArn")]


class Ecs:
    """boto3 ECS and ELBv2 clients for one region and endpoint, with short timeouts (a CLI must not hang)."""

    def __init__(self, *, region: str | None = None, endpoint_url: str | None = None, timeout_s: float = 10.0) -> None:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError

        self.region, self.endpoint_url = region, endpoint_url
        config = Config(connect_timeout=timeout_s, read_timeout=timeout_s,
                        retries={"max_attempts": 3, "mode": "standard"})
        try:
            session = boto3.session.Session()
            self.ecs = session.client("ecs", region_name=region, endpoint_url=endpoint_url, config=config)
            self.elbv2 = session.client("elbv2", region_name=region, endpoint_url=endpoint_url, config=config)
            self.cloudwatch = session.client("cloudwatch", region_name=region, endpoint_url=endpoint_url,
                                             config=config)
        except BotoCoreError as exc:
            raise translate_aws_error(exc, "the ECS client", endpoint_url, service="ECS",
                                      permission="ecs:DescribeServices") from exc

    def call(self, client: Any, operation: str, what: str, **params: Any) -> dict[str, Any]:
        """`client.operation(**params)`, botocore's errors translated; `what` names the object for messages."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(client, operation)(**params)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _NOT_FOUND:
                raise UsageError(f"{what} not found ({code})", hint=_NOT_FOUND[code]) from exc
            if operation == "describe_task_definition" and code == "ClientException":
                # ECS's only answer for a revision that does not exist ("Unable to describe task definition.")
                message = exc.response.get("Error", {}).get("Message", "")
                raise UsageError(f"{what} not found ({code}: {message})".replace(": )", ")"),
                                 hint="`magent history --target ecs --revisions` lists the revisions") from exc
            service = "ECS" if client is self.ecs else "Elastic Load Balancing"
            prefix = "ecs" if client is self.ecs else "elasticloadbalancing"
            raise translate_aws_error(exc, what, self.endpoint_url, service=service,
                                      permission=f"{prefix}:{_action(operation)}") from exc
        except BotoCoreError as exc:
            raise translate_aws_error(exc, what, self.endpoint_url, service="ECS",
                                      permission=f"ecs:{_action(operation)}") from exc


def _action(operation: str) -> str:
    return "".join(part.capitalize() for part in operation.split("_"))


# --- services ----------------------------------------------------------------------------------------------------

def find_service(ecs: Ecs, cluster: str, name: str) -> EcsService | None:
    """The service, or None when it does not exist or was deleted (INACTIVE)."""
    answer = ecs.call(ecs.ecs, "describe_services", f"ECS service {name} in cluster {cluster}",
                      cluster=cluster, services=[name], include=["TAGS"])
    for raw in answer.get("services", []):
        if raw.get("status") != "INACTIVE":
            return _service(cluster, raw)
    return None


def get_service(ecs: Ecs, cluster: str, name: str) -> EcsService:
    service = find_service(ecs, cluster, name)
    if service is None:
        raise UsageError(f"ECS service {name} not found in cluster {cluster}",
                         hint="check --service and --cluster (or deploy.ecs in magent.yaml) and AWS_REGION")
    return service


def _service(cluster: str, raw: Mapping[str, Any]) -> EcsService:
    primary: Mapping[str, Any] = next((d for d in raw.get("deployments", []) if d.get("status") == "PRIMARY"), {})
    return EcsService(
        cluster=cluster, name=raw["serviceName"], arn=raw["serviceArn"], task_definition=raw.get("taskDefinition", ""),
        desired=int(raw.get("desiredCount", 0)), running=int(raw.get("runningCount", 0)),
        status=raw.get("status", ""), rollout_state=primary.get("rolloutState"),
        failed_tasks=int(primary.get("failedTasks") or 0),
        load_balancers=list(raw.get("loadBalancers", [])),
        tags={t["key"]: t.get("value", "") for t in raw.get("tags", [])},
        launch_type=raw.get("launchType"), network_configuration=raw.get("networkConfiguration"))


def create_service_like(ecs: Ecs, model: EcsService, name: str, *, task_definition: str, count: int,
                        target_group: str, tags: Mapping[str, str]) -> EcsService:
    """A new service `name` beside `model` (same cluster, launch type, network, container port) that registers
    its tasks in `target_group`."""
    port = next((lb for lb in model.load_balancers if lb.get("containerName")), None)
    load_balancers = [{"targetGroupArn": target_group, "containerName": port["containerName"],
                       "containerPort": port["containerPort"]}] if port else []
    params: dict[str, Any] = {
        "cluster": model.cluster, "serviceName": name, "taskDefinition": task_definition, "desiredCount": count,
        "loadBalancers": load_balancers, "tags": [{"key": k, "value": v} for k, v in tags.items()],
    }
    if model.launch_type:
        params["launchType"] = model.launch_type
    if model.network_configuration:
        params["networkConfiguration"] = model.network_configuration
    answer = ecs.call(ecs.ecs, "create_service", f"ECS service {name} in cluster {model.cluster}", **params)
    return _service(model.cluster, answer["service"])


def update_service(ecs: Ecs, cluster: str, name: str, *, count: int | None = None,
                   task_definition: str | None = None) -> None:
    params: dict[str, Any] = {"cluster": cluster, "service": name}
    if count is not None:
        params["desiredCount"] = count
    if task_definition is not None:
        params["taskDefinition"] = task_definition
    ecs.call(ecs.ecs, "update_service", f"ECS service {name} in cluster {cluster}", **params)


def delete_service(ecs: Ecs, cluster: str, name: str) -> bool:
    """Scale `name` to zero and delete it; False when there was nothing to delete."""
    if find_service(ecs, cluster, name) is None:
        return False
    update_service(ecs, cluster, name, count=0)
    ecs.call(ecs.ecs, "delete_service", f"ECS service {name} in cluster {cluster}", cluster=cluster, service=name,
             force=True)
    return True


def wait_for_rollout(ecs: Ecs, cluster: str, name: str, *, task_definition: str, timeout_s: float,
                     sleep: Callable[[float], None] = time.sleep, poll_s: float = 2.0) -> EcsService:
    """Until the service runs `task_definition` with its PRIMARY deployment COMPLETED and every task running."""
    deadline = time.monotonic() + timeout_s
    while True:
        service = get_service(ecs, cluster, name)
        if service.rollout_state == "FAILED":
            raise InconsistentState(f"the ECS deployment of {name} failed (rolloutState FAILED)",
                              hint=f"aws ecs describe-services --cluster {cluster} --services {name}")
        if (service.task_definition == task_definition and service.running >= service.desired
                and service.rollout_state in (None, "COMPLETED")):
            return service
        if time.monotonic() >= deadline:
            raise InconsistentState(f"ECS service {name} did not finish its rollout within {timeout_s:g}s "
                              f"({service.running}/{service.desired} running, {service.rollout_state})",
                              hint="deploy.rollout_timeout sets how long magent waits")
        sleep(poll_s)


# --- task definitions ----------------------------------------------------------------------------------------------

def describe_task_definition(ecs: Ecs, arn: str) -> dict[str, Any]:
    answer = ecs.call(ecs.ecs, "describe_task_definition", f"task definition {arn}", taskDefinition=arn)
    return answer["taskDefinition"]


def image_of(task_definition: Mapping[str, Any], container: str | None = None) -> str | None:
    containers = task_definition.get("containerDefinitions", [])
    chosen = next((c for c in containers if container is None or c.get("name") == container), None)
    return chosen.get("image") if chosen else None


def register_with_image(ecs: Ecs, source: Mapping[str, Any], image: str, container: str) -> str:
    """Register a new revision of `source`'s family that differs only in `container`'s image; its ARN."""
    params = {key: source[key] for key in _TASK_DEFINITION_FIELDS if source.get(key) not in (None, [], {})}
    names = [c.get("name") for c in params.get("containerDefinitions", [])]
    if container not in names:
        raise UsageError(f"task definition {source.get('family')} has no container {container!r} "
                         f"(it has {', '.join(map(str, names))})", hint="choose one with --container")
    params["containerDefinitions"] = [dict(c, image=image) if c.get("name") == container else c
                                      for c in params["containerDefinitions"]]
    answer = ecs.call(ecs.ecs, "register_task_definition", f"task definition {source.get('family')}", **params)
    return answer["taskDefinition"]["taskDefinitionArn"]


# --- the listener --------------------------------------------------------------------------------------------------

def forward_weights(ecs: Ecs, listener_arn: str, rule_arn: str | None = None) -> dict[str, int]:
    """Target group ARN → weight of the forward action of the listener's default action (or of `rule_arn`)."""
    if rule_arn:
        rules = ecs.call(ecs.elbv2, "describe_rules", f"listener rule {rule_arn}", RuleArns=[rule_arn])["Rules"]
        actions = rules[0].get("Actions", []) if rules else []
    else:
        listeners = ecs.call(ecs.elbv2, "describe_listeners", f"listener {listener_arn}",
                             ListenerArns=[listener_arn])["Listeners"]
        actions = listeners[0].get("DefaultActions", []) if listeners else []
    forward = next((a for a in actions if a.get("Type") == "forward"), None)
    if forward is None:
        raise UsageError(f"listener {rule_arn or listener_arn} has no forward action",
                         hint="magent shifts traffic between the target groups of a forward action")
    groups = (forward.get("ForwardConfig") or {}).get("TargetGroups")
    if groups:
        return {g["TargetGroupArn"]: int(g.get("Weight", 1)) for g in groups}
    return {forward["TargetGroupArn"]: 1}


def set_forward_weights(ecs: Ecs, listener_arn: str, weights: Mapping[str, int], rule_arn: str | None = None) -> None:
    """Point the forward action at these target groups with these weights, in one API call (so an abort is
    one call: there is no moment with both groups at 0 or a half-applied change)."""
    action = {"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": arn, "Weight": int(weight)} for arn, weight in weights.items()]}}
    if rule_arn:
        ecs.call(ecs.elbv2, "modify_rule", f"listener rule {rule_arn}", RuleArn=rule_arn, Actions=[action])
    else:
        ecs.call(ecs.elbv2, "modify_listener", f"listener {listener_arn}", ListenerArn=listener_arn,
                 DefaultActions=[action])


def listeners_forwarding_to(ecs: Ecs, target_group: str) -> list[str]:
    """ARNs of the listeners whose default action forwards to `target_group` (to discover a service's listener)."""
    groups = ecs.call(ecs.elbv2, "describe_target_groups", f"target group {target_group}",
                      TargetGroupArns=[target_group])["TargetGroups"]
    found = []
    for balancer in (groups[0].get("LoadBalancerArns", []) if groups else []):
        listeners = ecs.call(ecs.elbv2, "describe_listeners", f"the listeners of {balancer}",
                             LoadBalancerArn=balancer)["Listeners"]
        for listener in listeners:
            for action in listener.get("DefaultActions", []):
                arns = {action.get("TargetGroupArn")} | {
                    g["TargetGroupArn"] for g in (action.get("ForwardConfig") or {}).get("TargetGroups", [])}
                if target_group in arns:
                    found.append(listener["ListenerArn"])
    return found


def load_balancer_of(ecs: Ecs, listener_arn: str) -> str:
    listeners = ecs.call(ecs.elbv2, "describe_listeners", f"listener {listener_arn}",
                         ListenerArns=[listener_arn])["Listeners"]
    return listeners[0]["LoadBalancerArn"] if listeners else ""


# --- tags ------------------------------------------------------------------------------------------------------------

def write_tags(ecs: Ecs, arn: str, tags: Mapping[str, str], *, remove: list[str] | tuple[str, ...] = ()) -> None:
    if tags:
        ecs.call(ecs.ecs, "tag_resource", f"the tags of {arn}", resourceArn=arn,
                 tags=[{"key": k, "value": v} for k, v in tags.items()])
    if remove:
        ecs.call(ecs.ecs, "untag_resource", f"the tags of {arn}", resourceArn=arn, tagKeys=list(remove))


def read_tags(ecs: Ecs, arn: str) -> dict[str, str]:
    answer = ecs.call(ecs.ecs, "list_tags_for_resource", f"the tags of {arn}", resourceArn=arn)
    return {t["key"]: t.get("value", "") for t in answer.get("tags", [])}


__all__ = [
    "Ecs", "EcsService", "create_service_like", "delete_service", "describe_task_definition",
    "find_service", "forward_weights", "get_service", "image_of", "listeners_forwarding_to", "load_balancer_of",
    "read_tags",
    "register_with_image", "set_forward_weights", "update_service", "wait_for_rollout", "write_tags",
]
