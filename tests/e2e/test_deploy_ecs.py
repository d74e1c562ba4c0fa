"""The deploy workflow on ECS (moto in server mode): the same `Deployer` as on Kubernetes, through `EcsTarget`.

`AlbTraffic` plays the ALB (moto serves no requests): it splits requests by the listener's weights and publishes
each target group's RequestCount / 5xx / TargetResponseTime to moto's CloudWatch, answered as the image tag says.
A healthy canary walks 10 % → 50 % of the listener's weight and is promoted: the stable service runs a new
task-definition revision with the new image, the listener is back at 100/0, the canary service is gone. A `-5xx`
canary is aborted on its ALB metrics with the listener back at 100/0 and the stable untouched; so is a canary
whose tasks fail.
"""

from __future__ import annotations

import pytest

from magent.core.canary import Phase
from magent.core.config import Settings
from magent.core.ecs_health import AlbCheck
from magent.sandbox.alb_traffic import AlbTraffic
from magent.services.aws import ecs as es
from magent.services.kube.lease import LeaseHeld
from magent.services.targets.ecs import EcsTarget
from magent.workflows.deploy.driver import Deployer, DeployOptions

NEW = "registry.example/agent:2.0"


# moto's CloudWatch computes no percentiles: the sandbox judges the average response time
SANDBOX_ALB = AlbCheck(max_5xx_ratio=0.05, min_requests=20, latency_stat="Average", max_latency_s=2.0)


def _target(stack, alb: AlbCheck | None = None) -> EcsTarget:
    return EcsTarget(es.Ecs(region="us-east-1", endpoint_url=stack.endpoint_url), stack.cluster, stack.service,
                     canary_target_group=stack.canary_tg, alb=alb)


def _alb(stack) -> AlbTraffic:
    return AlbTraffic(stack.endpoint_url, stack.cluster, stack.listener_arn, requests_per_s=1000, tick_s=0.25)


def _deploy(stack, target: EcsTarget, image: str = NEW, weights=(10, 50), pause_s: float = 0.0):
    seen: list[tuple[str, dict[str, int] | None]] = []

    def on_event(record: dict) -> None:
        weights_now = None
        if record["event"] in ("analysis", "aborted", "promoted"):
            weights_now = es.forward_weights(target.ecs, stack.listener_arn)
        seen.append((record["event"], weights_now))

    options = DeployOptions(deployment=stack.service, image=image, weights=list(weights), pause_s=pause_s,
                            interval_s=0.5, max_inconclusive=3)
    deployer = Deployer(target, Settings(), options, on_event=on_event)
    return deployer.run(deployer.prepare()), seen


def test_a_healthy_canary_shifts_exact_weights_and_is_promoted(ecs_stack):
    target = _target(ecs_stack, SANDBOX_ALB)
    before = target.stable()
    with _alb(ecs_stack):
        final, seen = _deploy(ecs_stack, target, pause_s=1.0)
    assert final.phase is Phase.PROMOTED, final.reason
    shares = [w[ecs_stack.canary_tg] for kind, w in seen if kind == "analysis" and w]
    assert shares and set(shares) == {10, 50} and shares == sorted(shares)
    after = target.stable()
    assert after.image_of("agent") == NEW
    assert after.service.task_definition != before.service.task_definition
    assert es.forward_weights(target.ecs, ecs_stack.listener_arn) == {ecs_stack.stable_tg: 100, ecs_stack.canary_tg: 0}
    assert es.find_service(target.ecs, ecs_stack.cluster, target.canary_name) is None
    assert target.read_state().phase is Phase.PROMOTED
    assert target.lock_holder() is None


def test_a_5xx_canary_is_aborted_on_its_alb_metrics_with_the_listener_back_at_100_0(ecs_stack):
    target = _target(ecs_stack, SANDBOX_ALB)
    before = target.stable()
    with _alb(ecs_stack):
        final, seen = _deploy(ecs_stack, target, image="registry.example/agent:2.0-5xx", pause_s=1.0)
    assert final.phase is Phase.ABORTED
    assert "alb_5xx_ratio" in final.reason, final.reason
    assert [w for kind, w in seen if kind == "aborted"] == [{ecs_stack.stable_tg: 100, ecs_stack.canary_tg: 0}]
    assert target.stable().service.task_definition == before.service.task_definition
    assert es.find_service(target.ecs, ecs_stack.cluster, target.canary_name) is None


def test_a_canary_whose_tasks_fail_is_aborted(ecs_stack, monkeypatch):
    target = _target(ecs_stack)
    before = target.stable()
    monkeypatch.setenv("MOTO_ECS_SERVICE_FAILED_TASKS", "2")  # the canary service, created now, reports 2 failed
    final, seen = _deploy(ecs_stack, target, image="registry.example/agent:2.0-5xx")
    assert final.phase is Phase.ABORTED
    assert "tasks_failed" in final.reason
    assert ("aborted", {ecs_stack.stable_tg: 100, ecs_stack.canary_tg: 0}) in seen
    assert target.stable().service.task_definition == before.service.task_definition
    assert es.find_service(target.ecs, ecs_stack.cluster, target.canary_name) is None
    assert target.lock_holder() is None


def test_a_second_deploy_is_refused_while_the_first_holds_the_lock(ecs_stack):
    target = _target(ecs_stack)
    target.acquire_lock("ci@runner-1 4242", 60, take_over_dead=False)
    with pytest.raises(LeaseHeld, match="ci@runner-1 4242"):
        _target(ecs_stack).acquire_lock("ci@runner-2 99", 60, take_over_dead=False)
    target.release_lock("ci@runner-1 4242")
    _target(ecs_stack).acquire_lock("ci@runner-2 99", 60, take_over_dead=False)
    assert target.lock_holder().holder == "ci@runner-2 99"


def test_the_listener_and_canary_group_are_discovered_once_the_listener_names_both(ecs_stack):
    ecs = es.Ecs(region="us-east-1", endpoint_url=ecs_stack.endpoint_url)
    bare = EcsTarget(ecs, ecs_stack.cluster, ecs_stack.service)
    from magent.core.errors import UsageError

    with pytest.raises(UsageError, match="no canary target group"):
        bare.traffic()
    es.set_forward_weights(ecs, ecs_stack.listener_arn, {ecs_stack.stable_tg: 100, ecs_stack.canary_tg: 0})
    traffic = EcsTarget(ecs, ecs_stack.cluster, ecs_stack.service).traffic()
    assert (traffic.listener_arn, traffic.stable_target_group, traffic.canary_target_group) == \
        (ecs_stack.listener_arn, ecs_stack.stable_tg, ecs_stack.canary_tg)


def _magent_yaml(stack) -> None:
    from pathlib import Path

    Path("magent.yaml").write_text(
        f"aws:\n  region: us-east-1\n  endpoint_url: {stack.endpoint_url}\n"
        f"deploy:\n  ecs:\n    canary_target_group: {stack.canary_tg}\n    latency_stat: Average\n")


def test_magent_deploy_target_ecs_from_the_command_line(ecs_stack, cli):
    _magent_yaml(ecs_stack)
    with _alb(ecs_stack):
        result = cli("deploy", NEW, "--target", "ecs", "--cluster", ecs_stack.cluster, "--service", ecs_stack.service,
                     "--steps", "10", "--pause", "1s", "--interval", "1s", "--yes", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert f"Deploying {NEW} to ECS service {ecs_stack.service} in ECS cluster {ecs_stack.cluster}" in result.stderr
    import json

    records = [json.loads(line) for line in result.stdout.splitlines()]
    events = [record["event"] for record in records]
    assert events[0] == "started" and events[-1] == "promoted"
    assert all(r["cluster"] == ecs_stack.cluster and "namespace" not in r for r in records)
    assert _target(ecs_stack).stable().image_of("agent") == NEW


@pytest.mark.parametrize(("args", "message"), [
    (["--target", "ecs", "--service", "agent"], "needs the cluster and the service"),
    (["--target", "ecs", "--cluster", "c", "--service", "s", "-d", "web"], "are Kubernetes options"),
    (["--cluster", "c", "--service", "s"], "are ECS options"),
    (["--target", "nomad", "-d", "web"], "not a deploy target"),
    ([], "missing option '--deployment'"),
])
def test_bad_target_flags_are_one_line_and_exit_2(cli, args, message):
    result = cli("deploy", NEW, *args, "--yes")
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output


def test_a_deploy_whose_runner_died_mid_canary_is_resumed_from_the_service_tags(ecs_stack):
    """The state and the canary a dead CI runner left (written as it would have): --resume promotes from there."""
    from magent.core.canary import CanaryState, new_deploy_id

    target = _target(ecs_stack)
    stable = target.stable()
    state = CanaryState(deploy_id=new_deploy_id(), image=NEW, previous_image=stable.image_of("agent"),
                        container="agent", weights=[10, 50], phase=Phase.ANALYSING, step=1,
                        holder="ci@gone-runner 1", pause_s=0.0, interval_s=0.5, max_inconclusive=3)
    target.write_state(state, unless=lambda current: None)
    target.size_canary(stable, state, 1)
    target.acquire_lock("ci@gone-runner 1", 1, take_over_dead=False)  # its lease (1 s) expires unrenewed
    import time

    time.sleep(1.5)
    options = DeployOptions(deployment=ecs_stack.service, image=None, weights=[10, 50], pause_s=0.0, interval_s=0.5,
                            max_inconclusive=3, resume=True)
    events: list[str] = []
    deployer = Deployer(target, Settings(), options, on_event=lambda record: events.append(record["event"]))
    final = deployer.run(deployer.prepare())
    assert final.phase is Phase.PROMOTED and final.deploy_id == state.deploy_id
    assert events[0] == "resumed" and "started" not in events
    assert target.stable().image_of("agent") == NEW
    assert es.find_service(target.ecs, ecs_stack.cluster, target.canary_name) is None
