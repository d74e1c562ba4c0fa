"""`magent deploy IMAGE --deployment NAME`: a canary with monitored pauses, promoted or aborted by itself."""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

import typer

from magent.cli.cluster import DryRunOption, NamespaceOption, YesOption
from magent.cli.deploy_target import (
    ClusterOption,
    DeploymentOption,
    RouteOption,
    RouterOption,
    ServiceOption,
    TargetOption,
)
from magent.cli.interrupts import sigterm_as_interrupt
from magent.cli.state import OutputOption
from magent.core.redact import SECRETS

DEPLOY_HELP = """Roll IMAGE out as a canary next to the stable Deployment, analyse it, then promote or abort.

A Lease locks the Deployment; `<name>-canary` (a copy with IMAGE and the label track=canary) runs
ceil(stable × step / 100) pods next to the stable ones, which are never scaled, so the canary's share of
traffic is canary / (stable + canary) pods. At each step (--steps, default 10,50) the analysis runs every
--interval during --pause: canary pods (ready, restarts, CrashLoopBackOff/OOMKilled, events) and the
providers of deploy.analysis in magent.yaml. FAIL aborts at once: the canary is scaled to 0 (the stable
never changed). No data is INCONCLUSIVE: the step holds, and --max-inconclusive such analyses after the
pause abort. After the last step, the stable image is set and its rollout awaited as `kubectl rollout
status` does, then the canary is removed. The state is kept in an annotation on the Deployment: after a CI
runner died, `--resume` continues (or `magent rollback` aborts). Ctrl-C / SIGTERM abort the canary safely.

On ECS (`--target ecs --cluster C --service S`, or deploy.target: ecs) the canary is a `<service>-canary`
service running a copy of the stable task definition with IMAGE in the canary target group, and the ALB
listener's weights give it exactly the step's share of requests; an abort sets them back to 100/0 in one
call; promotion points the stable service at the new revision and waits for its deployment to complete.

With two or more --context flags (or deploy.waves in magent.yaml) the release runs cluster by cluster, in
order, each with its own canary and analysis; the first cluster whose canary is not promoted stops the
release (the later ones are never touched) and, with --rollback-on-fail, the clusters already promoted are
rolled back. Every JSON event names its cluster (`context`).

Without a terminal (CI) nothing is asked; in a terminal, --yes skips the confirmation.

Exit codes: 0 promoted; 1 canary aborted (the stable Deployment runs the previous image); 2 bad input or
configuration; 3 cluster unreachable or credentials refused; 4 needs a human: another deploy holds the
lock (its holder is named), an unfinished deploy awaits --resume or rollback, or a failed promotion could
not be rolled back; 130 interrupted (the canary was scaled to zero first).
"""


def deploy(
    image: Annotated[Optional[str], typer.Argument(help="Image to roll out (optional with --resume).",
                                                   show_default=False)] = None,
    deployment: DeploymentOption = None,
    namespace: NamespaceOption = None,
    context: Annotated[Optional[list[str]], typer.Option(
        "--context", metavar="CONTEXT", help="Kubeconfig context [default: the current one]; repeat it to deploy in waves, cluster "
        "after cluster [deploy.waves].", show_default=False)] = None,
    rollback_on_fail: Annotated[bool, typer.Option(
        "--rollback-on-fail", help="In waves: when a cluster's canary fails, roll back the clusters already "
        "promoted.")] = False,
    target: TargetOption = None,
    cluster: ClusterOption = None,
    service: ServiceOption = None,
    router: RouterOption = None,
    route: RouteOption = None,
    container: Annotated[Optional[str], typer.Option(
        help="Container whose image changes [default: the only one, or the one of the same repository].",
        show_default=False)] = None,
    steps: Annotated[Optional[str], typer.Option(help="Canary steps in percent, e.g. 10,50 [deploy.steps].",
                                                 show_default=False)] = None,
    pause: Annotated[Optional[str], typer.Option(help="Pause per step, e.g. 5m [deploy.pause].",
                                                 show_default=False)] = None,
    interval: Annotated[Optional[str], typer.Option(help="Analysis interval, e.g. 30s [deploy.interval].",
                                                    show_default=False)] = None,
    max_inconclusive: Annotated[Optional[int], typer.Option(
        min=1, help="Inconclusive analyses after a pause before aborting [deploy.max_inconclusive].",
        show_default=False)] = None,
    resume: Annotated[bool, typer.Option(help="Continue the unfinished deploy recorded on the Deployment.")] = False,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    output: OutputOption = None,
) -> None:
    from magent.cli.cluster import confirm
    from magent.cli.deploy_target import open_target
    from magent.cli.deploy_view import EventView
    from magent.cli.state import get_state
    from magent.core.errors import CheckFailed, UsageError
    from magent.workflows.deploy.driver import Deployer

    state = get_state()
    fmt = state.output_format(output)
    contexts = list(context or [])
    # bad flags are refused before any cluster is asked (as kubectl does): not "cluster unreachable" for a typo
    flags = _flags(state.settings.deploy, image, steps, pause, interval, max_inconclusive)
    if (target or state.settings.deploy.target) == "kubernetes" and deployment:
        from magent.cli.deploy_waves import deploy_in_waves, waves_from

        waves = waves_from(state, contexts, namespace)
        if waves:
            options = _options(flags, image, deployment, container, resume)
            deploy_in_waves(state, fmt, waves, options, yes=yes, dry_run=dry_run, rollback_on_fail=rollback_on_fail)
            return
    if rollback_on_fail:
        raise UsageError("--rollback-on-fail applies to a release in waves",
                         hint="name two or more clusters with --context (or deploy.waves in magent.yaml)")
    chosen = open_target(state, target=target, deployment=deployment, namespace=namespace,
                         context=contexts[0] if contexts else None, cluster=cluster, service=service, router=router,
                         route=route)
    options = _options(flags, image, chosen.target.name, container, resume)
    view = EventView(state, fmt)
    deployer = Deployer(chosen.target, state.settings, options, on_event=view)
    prepared = deployer.prepare()  # read-only: no event yet, so the view need not be open
    the_plan = prepared.plan
    if prepared.settings_origin:
        state.err.print(f"Resuming with {'; '.join(prepared.settings_origin)}.", markup=False, highlight=False)
    if dry_run:
        _show_plan(state, fmt, _with_exact_shares(the_plan.to_dict(), chosen.target))
        return
    chosen.announce(f"Deploying {the_plan.image} to {chosen.noun} {the_plan.deployment}")
    # Ask before the live view opens: Rich's Live redraws stderr and holds a prompt without a newline
    # in its buffer, so a question asked inside it is never seen. `rollback` asks first too.
    confirm(state, f"Canary {the_plan.previous_image} → {the_plan.image} on {the_plan.deployment}?", yes=yes)
    with view, sigterm_as_interrupt():
        final = deployer.run(prepared)
    _show_result(state, fmt, final, the_plan.deployment, the_plan.namespace, ecs=chosen.target.kind == "ecs")
    if final.phase.value != "promoted":
        raise CheckFailed(f"canary of {final.image} aborted: {final.reason}",
                          hint=f"{chosen.noun} {the_plan.deployment} still runs {final.previous_image}; "
                               f"see {chosen.status_hint}{_traffic_hint(final.reason)}")


def _traffic_hint(reason: str | None) -> str:
    """What to change when the canary never got enough traffic for the canary-vs-stable comparison."""
    from magent.core.judge import TOO_FEW_CANARY

    if not reason or TOO_FEW_CANARY not in reason or "inconclusive analyses" not in reason:
        return ""
    return ("; the canary got too little traffic to compare with stable: lengthen the window "
            "(deploy.analysis.prometheus.min_window) or the pause, lower deploy.analysis.statistics.min_requests / "
            "min_samples, or turn the comparison off (deploy.analysis.prometheus.compare: false)")



def _flags(settings: Any, image: str | None, steps: str | None, pause: str | None, interval: str | None,
           max_inconclusive: int | None) -> dict[str, Any]:
    """The rollout flags parsed and checked (config values where not given): DeployOptions' fields, and `given`."""
    from magent.core.canary import check_image, parse_steps

    if image is not None:
        check_image(image)
    given = {"steps": steps, "pause": pause, "interval": interval, "max_inconclusive": max_inconclusive}
    return {"given": frozenset(key for key, value in given.items() if value is not None),
            "weights": parse_steps(steps) if steps else list(settings.steps),
            "pause_s": _duration("--pause", pause, settings.pause),
            "interval_s": _interval(interval, settings.interval),
            "max_inconclusive": max_inconclusive or settings.max_inconclusive}


def _options(flags: dict[str, Any], image: str | None, deployment: str, container: str | None, resume: bool) -> Any:
    from magent.workflows.deploy.driver import DeployOptions

    return DeployOptions(deployment=deployment, image=image, container=container, resume=resume, **flags)


def _interval(text: str | None, default: float) -> float:
    from magent.core.config import check_interval
    from magent.core.errors import UsageError

    seconds = _duration("--interval", text, default)
    try:
        return check_interval(seconds)
    except ValueError as exc:
        raise UsageError(f"--interval {exc}", hint="e.g. --interval 30s") from None


def _duration(flag: str, text: str | None, default: float) -> float:
    from magent.core.errors import UsageError
    from magent.core.timeutil import parse_duration

    if text is None:
        return default
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}", hint="durations look like 30s, 5m, 1h30m") from None


def _with_exact_shares(plan: dict, target: Any) -> dict:
    """On ECS (ALB listener weights) and with --router gateway-api (HTTPRoute weights) the canary gets exactly the
    step's weight of requests, not its share of pods: the plan says so."""
    if target.kind != "ecs" and getattr(target, "router", "replicas") != "gateway-api":
        return plan
    how = "the ALB listener's weights" if target.kind == "ecs" else "the HTTPRoute's weights"
    return {**plan, "steps": [{**step, "share": step["weight"]} for step in plan["steps"]],
            "note": f"the canary gets exactly the step's weight of requests, through {how}",
            **({"units": "tasks"} if target.kind == "ecs" else {})}


def _show_plan(state: Any, fmt: Any, plan: dict) -> None:
    from rich.console import Group
    from rich.text import Text

    from magent.cli.render import emit, simple_table
    from magent.cli.state import OutputFormat
    from magent.core.canary import event

    if fmt is OutputFormat.json:  # one JSON line, like every deploy event
        fields = {k: v for k, v in plan.items() if k not in ("deployment", "namespace")}
        record = event("plan", deployment=plan["deployment"], namespace=plan["namespace"], **fields)
        print(SECRETS.mask(json.dumps(record, default=str, separators=(",", ":"))))
        return
    units = "tasks" if plan.get("units") == "tasks" else "pods"
    rows = [(f"{s['index'] + 1}", f"{s['weight']}%", s["canary_replicas"], s["stable_replicas"], f"{s['share']}%")
            for s in plan["steps"]]
    rows.append(("promote", "100%", 0, plan["stable_replicas"], f"100% (stable {units}, new image)"))  # the image: first line
    # a line of its own, not the table's title: a title folds to the table's width, in a CI log too
    title = (f"Plan: {plan['namespace']}/{plan['deployment']} {plan['previous_image']} → {plan['image']} "
             f"(pause {plan['pause_s']:g}s per step, analysis every {plan['interval_s']:g}s)")
    columns = ["step", "weight", f"canary {units}", f"stable {units}", "canary share"]
    emit(state, fmt, plan, table=lambda: Group(Text(SECRETS.mask(title)), simple_table(None, columns, rows)))
    if fmt is not OutputFormat.yaml:
        state.err.print(f"Note: {plan['note']}.", markup=False, highlight=False)


def _show_result(state: Any, fmt: Any, final: Any, deployment: str, namespace: str, *, ecs: bool = False) -> None:
    from magent.cli.deploy_view import kv_table
    from magent.cli.render import emit
    from magent.cli.state import OutputFormat

    if fmt is OutputFormat.json:
        return  # the events were the output
    data = {"service": deployment, "cluster": namespace} if ecs else {"deployment": deployment, "namespace": namespace}
    data |= {"outcome": final.phase.value, "image": final.image, "previous_image": final.previous_image,
             "deploy_id": final.deploy_id, "started_at": final.started_at, "finished_at": final.updated_at,
             "reason": final.reason, "last_analysis": final.last_analysis}
    if final.last_analysis and final.last_analysis.get("summary") == final.reason:
        data.pop("last_analysis")  # an abort's reason is its last analysis: say it once
    rows = [(k, v if not isinstance(v, dict) else v.get("summary")) for k, v in data.items()]
    emit(state, fmt, data, table=lambda: kv_table(None, rows))


def register(app: typer.Typer) -> None:
    app.command("deploy", help=DEPLOY_HELP)(deploy)
