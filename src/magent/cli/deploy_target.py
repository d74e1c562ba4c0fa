"""Which platform a deploy acts on: `--target kubernetes` (a Deployment, the default) or `--target ecs` (a
service behind an ALB), from the flags, then magent.yaml's deploy.target / deploy.ecs."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Annotated, Any, Optional

import typer

from magent.cli.flags import complete_deployments
from magent.core.errors import UsageError
from magent.core.redact import SECRETS, mask_url

TARGETS = ("kubernetes", "ecs")
ROUTERS = ("replicas", "gateway-api")

DeploymentOption = Annotated[Optional[str], typer.Option(
    "--deployment", "-d", help="The stable Deployment (Kubernetes).", show_default=False,
    autocompletion=complete_deployments)]
TargetOption = Annotated[Optional[str], typer.Option(
    "--target", metavar="kubernetes|ecs", help="kubernetes or ecs [deploy.target; default: kubernetes].", show_default=False,
    autocompletion=lambda: list(TARGETS))]
ClusterOption = Annotated[Optional[str], typer.Option(
    "--cluster", help="ECS cluster (with --target ecs) [deploy.ecs.cluster].", show_default=False)]
RouterOption = Annotated[Optional[str], typer.Option(
    "--router", metavar="replicas|gateway-api", help="Kubernetes: the canary's share by pods (replicas) or exact weights on an HTTPRoute "
    "(gateway-api) [deploy.router; default: replicas].", show_default=False, autocompletion=lambda: list(ROUTERS))]
RouteOption = Annotated[Optional[str], typer.Option(
    "--route", help="The HTTPRoute to weigh with --router gateway-api [deploy.route; default: the Deployment's name].",
    show_default=False)]
ServiceOption = Annotated[Optional[str], typer.Option(
    "--service", help="ECS service (with --target ecs) [deploy.ecs.service].", show_default=False)]


@dataclass(frozen=True)
class ChosenTarget:
    target: Any  # a services.targets.DeployTarget
    where: str  # "cluster prod (context kind-prod), namespace default", "ECS cluster prod in us-east-1"
    noun: str  # "deployment", "ECS service"
    status_hint: str

    def announce(self, what: str) -> None:
        """Say where a destructive action acts, before it acts (stderr: stdout stays machine-readable)."""
        print(SECRETS.mask(f"{what} in {self.where}"), file=sys.stderr, flush=True)


def target_kind(state: Any, target: str | None) -> str:
    kind = target or state.settings.deploy.target
    if kind not in TARGETS:
        raise UsageError(f"--target {kind!r} is not a deploy target", hint=f"use one of: {', '.join(TARGETS)}")
    return kind


def open_target(state: Any, *, target: str | None, deployment: str | None, namespace: str | None,
                context: str | None, cluster: str | None, service: str | None, router: str | None = None,
                route: str | None = None) -> ChosenTarget:
    deploy = state.settings.deploy
    kind = target_kind(state, target)
    if kind == "ecs":
        if deployment or namespace or context:
            raise UsageError("--deployment, --namespace and --context are Kubernetes options",
                             hint="with --target ecs, name the service with --cluster and --service")
        return _ecs(state, cluster or deploy.ecs.cluster, service or deploy.ecs.service)
    if cluster or service:
        raise UsageError("--cluster and --service are ECS options", hint="add --target ecs, or use --deployment")
    router = router or deploy.router
    if router not in ROUTERS:
        raise UsageError(f"--router {router!r} is not a router", hint=f"use one of: {', '.join(ROUTERS)}")
    if not deployment:
        raise UsageError("missing option '--deployment' / '-d'",
                         hint="magent deploy IMAGE --deployment NAME (or --target ecs --cluster C --service S)")
    from magent.cli.cluster import open_cluster
    from magent.services.targets.kubernetes import KubernetesTarget

    kube = open_cluster(state, namespace, context)
    target_ = KubernetesTarget(kube, deployment, router=router, route=route or deploy.route)
    return ChosenTarget(target_, kube.where(), "deployment",
                        f"`magent status --deployment {deployment}`")


def _ecs(state: Any, cluster: str | None, service: str | None) -> ChosenTarget:
    if not cluster or not service:
        raise UsageError("an ECS deploy needs the cluster and the service",
                         hint="--cluster C --service S, or deploy.ecs.cluster / deploy.ecs.service in magent.yaml")
    from magent.services.aws import ecs as es
    from magent.services.targets.ecs import EcsTarget

    aws, settings = state.settings.aws, state.settings.deploy.ecs
    client = es.Ecs(region=aws.region, endpoint_url=aws.endpoint_url)
    region = client.ecs.meta.region_name
    where = f"ECS cluster {cluster} ({region}" + (f", {mask_url(aws.endpoint_url)})" if aws.endpoint_url else ")")
    target = EcsTarget(client, cluster, service, listener_arn=settings.listener_arn, rule_arn=settings.rule_arn,
                       canary_target_group=settings.canary_target_group, alb=_alb_check(state.settings))
    return ChosenTarget(target, where, "ECS service",
                        f"`aws ecs describe-services --cluster {cluster} --services {service}`")


def _alb_check(settings: Any) -> Any:
    from magent.core.analysis_config import parse_analysis
    from magent.core.ecs_health import AlbCheck

    ecs = settings.deploy.ecs
    if not ecs.alb_metrics:
        return None
    thresholds = parse_analysis(settings.deploy.analysis, aws=settings.aws).thresholds
    return AlbCheck(max_5xx_ratio=ecs.max_5xx_ratio, min_requests=ecs.min_requests, latency_stat=ecs.latency_stat,
                    max_latency_s=thresholds.latency_p95_seconds)
