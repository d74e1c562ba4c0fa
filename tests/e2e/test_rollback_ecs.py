"""Rollback on ECS (moto): after a promoted deploy the stable service goes back to the task definition it ran
before; after an abort there is nothing to undo; a canary in progress is aborted with the listener at 100/0."""

from __future__ import annotations

from magent.core.canary import CanaryState, Phase, new_deploy_id
from magent.core.config import Settings
from magent.services.aws import ecs as es
from magent.services.targets.ecs import EcsTarget
from magent.workflows.deploy.driver import Deployer, DeployOptions
from magent.workflows.deploy.ecs_rollback import ABORT_CANARY, SKIP, UNDO, execute_ecs, plan_ecs_rollback

NEW = "registry.example/agent:2.0"


def _target(stack) -> EcsTarget:
    return EcsTarget(es.Ecs(region="us-east-1", endpoint_url=stack.endpoint_url), stack.cluster, stack.service,
                     canary_target_group=stack.canary_tg)


def _promote(stack, target):
    options = DeployOptions(deployment=stack.service, image=NEW, weights=[50], pause_s=0.0, interval_s=0.5,
                            max_inconclusive=3)
    deployer = Deployer(target, Settings(), options, on_event=lambda record: None)
    return deployer.run(deployer.prepare())


def _rollback(target, plan):
    events: list[str] = []
    outcome = execute_ecs(target, plan, reason="drill", actor="oncall@laptop 1", timeout_s=10,
                          on_event=lambda record: events.append(record["event"]))
    return outcome, events


def test_after_a_promotion_the_service_goes_back_and_a_second_rollback_does_nothing(ecs_stack):
    target = _target(ecs_stack)
    before = target.stable()
    assert _promote(ecs_stack, target).phase is Phase.PROMOTED
    plan = plan_ecs_rollback(target)
    assert plan.action == UNDO and plan.target_images == [before.image_of("agent")]
    assert "is what ran before deploy" in plan.describe()
    outcome, events = _rollback(target, plan)
    assert events == ["rollback_requested", "rolled_back"]
    after = target.stable()
    assert after.service.task_definition == before.service.task_definition
    assert target.read_state().phase is Phase.ABORTED and "rolled back by oncall" in target.read_state().reason
    again = plan_ecs_rollback(target)
    assert again.action == SKIP and "nothing to undo" in again.describe()
    # as the Kubernetes rollback says it (it read "ended rolled back by …" / "ended fail: …" here)
    assert "was already rolled back (rolled back by oncall@laptop 1: drill)" in again.describe(), again.describe()
    assert f"magent history --target ecs --cluster {ecs_stack.cluster} --service {ecs_stack.service} --revisions" \
        in again.describe()


def test_a_canary_in_progress_is_aborted_with_the_listener_back_at_100_0(ecs_stack):
    target = _target(ecs_stack)
    stable = target.stable()
    state = CanaryState(deploy_id=new_deploy_id(), image=NEW, previous_image=stable.image_of("agent"),
                        container="agent", weights=[10, 50], phase=Phase.ANALYSING, holder="ci@runner 7")
    target.write_state(state, unless=lambda current: None)
    target.size_canary(stable, state, 1)
    target.acquire_lock("ci@runner 7", 60, take_over_dead=False)
    assert es.forward_weights(target.ecs, ecs_stack.listener_arn)[ecs_stack.canary_tg] == 10
    plan = plan_ecs_rollback(target)
    assert plan.action == ABORT_CANARY
    _rollback(target, plan)
    assert es.forward_weights(target.ecs, ecs_stack.listener_arn) == {ecs_stack.stable_tg: 100, ecs_stack.canary_tg: 0}
    assert es.find_service(target.ecs, ecs_stack.cluster, target.canary_name) is None
    assert target.read_state().phase is Phase.ABORTED
    assert target.lock_holder() is None
    assert target.stable().service.task_definition == stable.service.task_definition


def test_after_an_aborted_deploy_there_is_nothing_to_undo_and_it_says_why(ecs_stack):
    target = _target(ecs_stack)
    stable = target.stable()
    state = CanaryState(deploy_id=new_deploy_id(), image=NEW, previous_image=stable.image_of("agent"),
                        container="agent", weights=[10, 50], phase=Phase.ABORTED,
                        reason="fail: prometheus/errors_5xx_per_min (30/min)")
    target.write_state(state, unless=lambda current: None)
    plan = plan_ecs_rollback(target)
    assert plan.action == SKIP
    assert plan.describe().startswith(f"nothing to undo: the last deploy ({state.deploy_id} of {NEW}) was aborted "
                                      "and never reached the stable tasks;"), plan.describe()  # not "ended fail: …"


def test_to_revision_names_a_revision_of_the_family(ecs_stack):
    target = _target(ecs_stack)
    assert _promote(ecs_stack, target).phase is Phase.PROMOTED
    plan = plan_ecs_rollback(target, to_revision=1)
    assert plan.action == UNDO and plan.to_revision.endswith(":1")
    _rollback(target, plan)
    assert target.stable().service.task_definition.endswith(":1")


def test_an_unknown_revision_is_exit_2_naming_it(ecs_stack, cli):
    """README: rollback exits 2 for an unknown revision. On ECS DescribeTaskDefinition answers a missing revision
    with a generic ClientException, once shown as "AWS error … Unable to describe task definition", exit 1."""
    from pathlib import Path

    Path("magent.yaml").write_text(
        f"aws:\n  region: us-east-1\n  endpoint_url: {ecs_stack.endpoint_url}\n"
        f"deploy:\n  target: ecs\n  ecs:\n    cluster: {ecs_stack.cluster}\n    service: {ecs_stack.service}\n"
        f"    canary_target_group: {ecs_stack.canary_tg}\n")
    result = cli("rollback", "--to-revision", "99", "--dry-run")
    assert result.exit_code == 2, result.stderr
    assert ":99 not found" in result.stderr and "--revisions" in result.stderr, result.stderr


def test_status_and_history_of_the_service(ecs_stack):
    from magent.workflows.deploy.ecs_status import service_status, task_definition_history

    target = _target(ecs_stack)
    assert _promote(ecs_stack, target).phase is Phase.PROMOTED
    status = service_status(target)
    assert status["images"] == [NEW] and status["deploy"]["phase"] == "promoted"
    assert status["traffic_weights"] == {"stable": 100, "canary": 0} and status["canary"] is None
    history = task_definition_history(target)
    assert [r["revision"] for r in history] == sorted((r["revision"] for r in history), reverse=True)
    assert history[0]["current"] and history[0]["images"] == [NEW]


def test_magent_rollback_target_ecs_after_a_promotion(ecs_stack, cli):
    from pathlib import Path

    target = _target(ecs_stack)
    before = target.stable().service.task_definition
    assert _promote(ecs_stack, target).phase is Phase.PROMOTED
    Path("magent.yaml").write_text(
        f"aws:\n  region: us-east-1\n  endpoint_url: {ecs_stack.endpoint_url}\n"
        f"deploy:\n  target: ecs\n  ecs:\n    cluster: {ecs_stack.cluster}\n    service: {ecs_stack.service}\n"
        f"    canary_target_group: {ecs_stack.canary_tg}\n")
    dry = cli("rollback", "--dry-run", "-o", "json")
    assert dry.exit_code == 0, dry.stderr
    import json

    assert json.loads(dry.stdout)["action"] == "undo"
    result = cli("rollback", "--yes", "--reason", "drill")
    assert result.exit_code == 0, result.stderr
    assert "ROLLED BACK" in result.stderr
    assert target.stable().service.task_definition == before
    again = cli("rollback", "--yes")
    assert again.exit_code == 0 and "nothing to undo" in again.stdout + again.stderr


def test_magent_status_and_history_target_ecs(ecs_stack, cli):
    import json
    from pathlib import Path

    target = _target(ecs_stack)
    assert _promote(ecs_stack, target).phase is Phase.PROMOTED
    Path("magent.yaml").write_text(
        f"aws:\n  region: us-east-1\n  endpoint_url: {ecs_stack.endpoint_url}\n"
        f"deploy:\n  ecs:\n    canary_target_group: {ecs_stack.canary_tg}\n")
    where = ("--target", "ecs", "--cluster", ecs_stack.cluster, "--service", ecs_stack.service)
    status = cli("status", *where, "-o", "json")
    assert status.exit_code == 0, status.stderr
    assert json.loads(status.stdout)["images"] == [NEW]
    table = cli("status", *where)
    assert "listener" not in table.stderr and "stable 100%, canary 0%" in table.stdout
    history = cli("history", *where, "-o", "json")
    assert history.exit_code == 0 and json.loads(history.stdout)[0]["current"] is True
    watch = cli("status", *where, "--watch", "--timeout", "10s")  # the deploy is over: the watch ends at once
    assert watch.exit_code == 0, watch.stderr
    assert "promoted" in watch.stderr + watch.stdout


def test_history_target_ecs_shows_the_audit_trail_from_the_store(ecs_stack, cli, pg_url):
    import json
    from pathlib import Path

    Path("magent.yaml").write_text(
        f"aws:\n  region: us-east-1\n  endpoint_url: {ecs_stack.endpoint_url}\n"
        f"deploy:\n  target: ecs\n  ecs:\n    cluster: {ecs_stack.cluster}\n    service: {ecs_stack.service}\n"
        f"    canary_target_group: {ecs_stack.canary_tg}\n    alb_metrics: false\n")
    env = {"MAGENT_DATABASE_URL": pg_url}
    deployed = cli("deploy", NEW, "--steps", "50", "--pause", "0s", "--interval", "1s", "--yes", env=env)
    assert deployed.exit_code == 0, deployed.stderr
    rolled = cli("rollback", "--yes", "--reason", "drill", env=env)
    assert rolled.exit_code == 0, rolled.stderr
    history = cli("history", "-o", "json", env=env)
    assert history.exit_code == 0, history.stderr
    records = json.loads(history.stdout)
    assert [r["kind"] for r in records][:2] == ["rollback", "deploy"]
    assert records[1]["image"] == NEW and records[1]["outcome"] == "promoted"
    revisions = cli("history", "--revisions", "-o", "json", env=env)
    assert json.loads(revisions.stdout)[0]["revision"] >= 3
