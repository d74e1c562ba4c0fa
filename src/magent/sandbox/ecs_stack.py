"""An ECS Fargate service behind an ALB in a moto server, as the seed production guide sets one up:

    VPC, two subnets, a security group; an ALB whose HTTP listener forwards to the `stable` target group; a second,
    empty `canary` target group; a cluster; a task definition (the key from Secrets Manager, a health check); the
    service (2 tasks, circuit breaker on).

moto reports a service's tasks as running when MOTO_ECS_SERVICE_RUNNING is set in the moto server's process.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

REGION = "us-east-1"


def aws_client(endpoint_url: str, service: str, region: str = REGION) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=endpoint_url, region_name=region,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


IMAGE = "registry.example/agent:1.0"


@dataclass(frozen=True)
class EcsStack:
    endpoint_url: str
    cluster: str
    service: str
    listener_arn: str
    stable_tg: str
    canary_tg: str
    task_definition: str
    traffic: Any = field(default=None, compare=False, repr=False)  # the AlbTraffic playing its ALB, when served

    def client(self, service: str):
        return aws_client(self.endpoint_url, service)


def build_ecs_stack(endpoint_url: str, *, image: str = IMAGE, desired: int = 2) -> EcsStack:
    suffix = uuid.uuid4().hex[:8]
    ec2 = aws_client(endpoint_url, "ec2")
    elbv2 = aws_client(endpoint_url, "elbv2")
    ecs = aws_client(endpoint_url, "ecs")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{z}")
               ["Subnet"]["SubnetId"] for i, z in ((1, "a"), (2, "b"))]
    group = ec2.create_security_group(GroupName=f"agent-{suffix}", Description="agent", VpcId=vpc)["GroupId"]
    balancer = elbv2.create_load_balancer(Name=f"agent-{suffix}", Subnets=subnets, SecurityGroups=[group],
                                          Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
    groups = {}
    for role in ("stable", "canary"):
        groups[role] = elbv2.create_target_group(
            Name=f"agent-{role}-{suffix}", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip",
            HealthCheckPath="/health")["TargetGroups"][0]["TargetGroupArn"]
    listener = elbv2.create_listener(LoadBalancerArn=balancer, Protocol="HTTP", Port=80, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": groups["stable"]}])["Listeners"][0]["ListenerArn"]
    cluster = f"prod-{suffix}"
    ecs.create_cluster(clusterName=cluster)
    task = ecs.register_task_definition(
        family=f"agent-{suffix}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", executionRoleArn="arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
        containerDefinitions=[{
            "name": "agent", "image": image, "essential": True,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "secrets": [{"name": "MISTRAL_API_KEY",
                         "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/mistral"}],
            "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"]},
        }])["taskDefinition"]["taskDefinitionArn"]
    service = "agent"
    ecs.create_service(
        cluster=cluster, serviceName=service, taskDefinition=task, desiredCount=desired, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group]}},
        loadBalancers=[{"targetGroupArn": groups["stable"], "containerName": "agent", "containerPort": 8080}],
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    return EcsStack(endpoint_url, cluster, service, listener, groups["stable"], groups["canary"], task)


@contextlib.contextmanager
def serve_ecs(endpoint_url: str, image: str = IMAGE) -> Iterator[EcsStack]:
    """The service in the moto server at `endpoint_url` (which must run in this process), with `AlbTraffic`
    playing its load balancer until the block ends."""
    from magent.sandbox.alb_traffic import AlbTraffic

    previous = os.environ.get("MOTO_ECS_SERVICE_RUNNING")
    os.environ["MOTO_ECS_SERVICE_RUNNING"] = "2"  # moto, in this process, reports every service's tasks running
    try:
        stack = build_ecs_stack(endpoint_url, image=image)
        with AlbTraffic(endpoint_url, stack.cluster, stack.listener_arn, requests_per_s=1000, tick_s=0.5) as traffic:
            yield replace(stack, traffic=traffic)
    finally:
        if previous is None:
            os.environ.pop("MOTO_ECS_SERVICE_RUNNING", None)
        else:
            os.environ["MOTO_ECS_SERVICE_RUNNING"] = previous
