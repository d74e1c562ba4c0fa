"""`magent rollback`, `magent status`, `magent history`: the on-call side of a Deployment."""

from __future__ import annotations

import time
from typing import Annotated, Any, Optional

import typer

from magent.cli.cluster import (
    ContextOption,
    DryRunOption,
    NamespaceOption,
    RequestTimeoutOption,
    YesOption,
)
from magent.cli.deploy_target import ClusterOption, DeploymentOption, ServiceOption, TargetOption
from magent.cli.state import OutputOption

ROLLBACK_REQUEST_TIMEOUT_S = 5.0

ROLLBACK_HELP = """Put the last good version back: abort a canary in progress, or undo the Deployment.

With a canary in progress (or left running), its pods are scaled to 0 at once: the stable Deployment never
changed, so that is the whole rollback. Otherwise the Deployment is undone exactly as `kubectl rollout
undo [--to-revision N]` does (refused when paused, skipped when the template already matches). Then magent
waits for the rollout, checks the pods, and records and notifies, best effort: a rollback completes when
Mistral, Postgres, the metrics backends and the webhook are all down.

On ECS (`--target ecs --cluster C --service S`) a canary in progress is aborted (the listener back to 100/0,
the canary service removed); otherwise the service goes back to the task definition it ran before the last
promoted deploy, or to `--to-revision N` of its family.

\b
Examples:
  magent rollback -d web -n shop --reason "5xx after v2"
  magent rollback -d web --to-revision 3 --dry-run
  magent rollback -d web --yes --request-timeout 10s

Exit codes: 0 rolled back (or nothing to do); 2 bad input (unknown deployment or revision); 3 cluster
unreachable or credentials refused; 4 the rollback could not complete (paused Deployment, no previous
revision, rollout or pods not healthy: needs a human); 130 interrupted or declined at the prompt.
"""


def rollback(
    deployment: DeploymentOption = None,
    namespace: NamespaceOption = None,
    context: ContextOption = None,
    to_revision: Annotated[int, typer.Option(min=0, help="Revision to go back to (0: the previous one).")] = 0,
    reason: Annotated[Optional[str], typer.Option(help="Why: recorded and notified.", show_default=False)] = None,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    request_timeout: RequestTimeoutOption = None,
    target: TargetOption = None,
    cluster: ClusterOption = None,
    service: ServiceOption = None,
    output: OutputOption = None,
) -> None:
    started = time.monotonic()
    from magent.services.kube.lazy_import import install

    install()  # before anything imports kubernetes: its package initialisers cost more than the rollback
    from magent.cli import fast_exit
    from magent.cli.cluster import announce, confirm_rollback, open_cluster
    from magent.cli.deploy_target import target_kind
    from magent.cli.deploy_view import EventView
    from magent.cli.state import get_state
    from magent.services.targets.lock import identity
    from magent.workflows.deploy.rollback import SKIP, audited, execute, plan_rollback

    state = get_state()
    fmt = state.output_format(output)
    fast_exit.request()  # once the outcome is shown and recorded, nothing is worth the interpreter's teardown
    if target_kind(state, target) == "ecs":
        from magent.cli.rollout_ecs import rollback_ecs

        return rollback_ecs(state, fmt, cluster=cluster, service=service, to_revision=to_revision, reason=reason,
                            dry_run=dry_run, yes=yes, started=started, show=_show)
    deployment = _required_deployment(deployment, "rollback")
    kube = open_cluster(state, namespace, context, timeout_s=_request_timeout(state, request_timeout))
    kube.on_slow = lambda sentence: state.err.print(sentence, markup=False, highlight=False)
    plan = plan_rollback(kube, deployment, to_revision)
    if dry_run or plan.action == SKIP:
        _show(state, fmt, {**plan.to_dict(), "dry_run": dry_run, "outcome": "planned" if dry_run else "skipped"})
        return
    announce(state, kube, f"Rolling back deployment {deployment}")
    asked = time.monotonic()
    confirm_rollback(state, plan, yes=yes)
    started += time.monotonic() - asked  # the time a person took to answer is not the rollback's
    actor = identity()
    view = EventView(state, fmt)
    with audited(state.settings, plan, actor=actor, reason=reason, on_event=_warming_output(view, fmt),
                 context=kube.context) as on_event:  # closed after _show
        with view:
            outcome = execute(kube, plan, reason=reason, actor=actor, timeout_s=state.settings.deploy.rollout_timeout,
                              on_event=on_event, started=started)
        _show(state, fmt, {**plan.to_dict(), "outcome": "rolled_back", "reason": reason,
                           "request_seconds": outcome.request_seconds, "health": outcome.health})


def _warming_output(view: Any, fmt: Any) -> Any:
    """`view`, which also loads and exercises Rich for the summary table once the rollback request is sent.

    The rollout that follows takes a second or more with the main thread idle; without this, the summary
    printed after "ROLLED BACK" would pay for Rich's imports (0.1-0.3 s) when the person wants the prompt back.
    """
    from magent.cli.state import OutputFormat

    def on_event(record: dict) -> None:
        view(record)
        if record.get("event") == "rollback_requested" and fmt is OutputFormat.table:
            import threading

            threading.Thread(target=_render_sample_table, name="magent-warm-output", daemon=True).start()

    return on_event


def _render_sample_table() -> None:
    import io

    from rich.console import Console

    from magent.cli.deploy_view import kv_table

    Console(file=io.StringIO(), width=80).print(kv_table(None, [("deployment", "web"), ("images", "app:v1")]))


def _request_timeout(state: Any, flag: str | None) -> float:
    """On-call cannot wait minutes on a hung API server: a few seconds per request unless told otherwise."""
    from magent.cli.flags import duration_flag

    if flag is not None:
        return duration_flag("--request-timeout", flag, allow_zero=True)
    configured = state.settings.kubernetes.request_timeout
    return ROLLBACK_REQUEST_TIMEOUT_S if configured is None else configured


def _show(state: Any, fmt: Any, data: dict) -> None:
    from magent.cli.deploy_view import kv_table
    from magent.cli.render import emit
    from magent.cli.state import OutputFormat

    if fmt is OutputFormat.json and data.get("outcome") == "rolled_back":
        return  # the events (JSON lines) were the output
    rows = [(key, ", ".join(map(str, value)) if isinstance(value, list) else value)
            for key, value in data.items() if key != "health"]
    emit(state, fmt, data, table=lambda: kv_table(None, rows))


def status(
    deployment: DeploymentOption = None,
    namespace: NamespaceOption = None,
    context: Annotated[Optional[list[str]], typer.Option(
        "--context", metavar="CONTEXT", help="Kubeconfig context [default: the current one]; repeat it to see every "
        "cluster of a release in waves [deploy.waves].", show_default=False)] = None,
    target: TargetOption = None,
    cluster: ClusterOption = None,
    service: ServiceOption = None,
    watch: Annotated[bool, typer.Option(
        "--watch", "-w", help="Follow the deploy until it ends, then exit with its outcome's code.")] = False,
    timeout: Annotated[Optional[str], typer.Option(
        help="With --watch: give up after this long, e.g. 10m (exit 4) [default: no limit].",
        show_default=False)] = None,
    output: OutputOption = None,
) -> None:
    """Show a Deployment, its canary if any, the current (or last) deploy's step and analysis, and the lock.

    With --watch, follow a deploy run from another terminal or a CI job, as `kubectl rollout status` does:
    refreshed every second in a terminal; piped, one line per change (-o json: one object per change); it ends
    when no deploy is in progress and the stable Deployment is rolled out.

    With two or more --context flags, or deploy.waves in magent.yaml and no --context, every cluster of the
    release: one row per cluster (context, namespace, stable version, canary, deploy step and outcome, lock);
    -o json: a list, each entry naming its context. A cluster that cannot be read is a row saying why, and the
    others are still shown. --watch follows one cluster: name it with a single --context.

    Exit codes: 0 shown (--watch: promoted, or nothing in progress); 1 (--watch) the deploy was aborted or rolled
    back, or (several clusters) some could not be read; 2 unknown deployment; 3 cluster unreachable or
    credentials refused (several clusters: none could be read); 4 (--watch) the deploy stopped without
    finishing (its lock lapsed), the rollout failed, or --timeout passed; 130 interrupted.
    """
    from magent.cli.cluster import open_cluster
    from magent.cli.render import emit
    from magent.cli.state import get_state
    from magent.workflows.deploy.status import deployment_status

    state = get_state()
    fmt = state.output_format(output)
    if _on_ecs(state, target):
        from magent.cli.rollout_ecs import status_ecs

        return status_ecs(state, fmt, cluster=cluster, service=service, watch=watch,
                          timeout_s=_watch_timeout(service or "NAME", watch, timeout))
    deployment = _required_deployment(deployment, "status")
    limit = _watch_timeout(deployment, watch, timeout)
    contexts = list(context or [])
    waves = _status_waves(state, contexts, namespace, deployment, watch)
    if waves:
        from magent.cli.status_waves import show_waves_status

        return show_waves_status(state, fmt, waves, deployment)
    kube = open_cluster(state, namespace, contexts[0] if contexts else None)
    if watch:
        from magent.cli.status_watch import follow

        return follow(state, fmt, lambda: deployment_status(kube, deployment), table=_status_table, timeout_s=limit)
    data = deployment_status(kube, deployment)
    emit(state, fmt, data, table=lambda: _status_table(data))


def _status_waves(state: Any, contexts: list[str], namespace: str | None, deployment: str, watch: bool) -> list[Any]:
    """The clusters of a release (as `deploy` walks them), or [] for one cluster."""
    from magent.cli.deploy_waves import waves_from
    from magent.core.errors import UsageError

    waves = waves_from(state, contexts, namespace)
    if waves and watch:
        raise UsageError(f"--watch follows one cluster, not the {len(waves)} of a release in waves",
                         hint=f"name it: magent status -d {deployment} --context {waves[0].context} --watch")
    return waves


def _on_ecs(state: Any, target: str | None) -> bool:
    from magent.cli.deploy_target import target_kind

    return target_kind(state, target) == "ecs"


def _required_deployment(deployment: str | None, command: str) -> str:
    from magent.core.errors import UsageError

    if not deployment:
        raise UsageError("Missing option '--deployment' / '-d'.", hint=f"see 'magent {command} --help'")
    return deployment


def _watch_timeout(deployment: str, watch: bool, timeout: str | None) -> float | None:
    from magent.cli.flags import duration_flag
    from magent.core.errors import UsageError

    if timeout is None:
        return None
    if not watch:
        raise UsageError("--timeout applies to --watch only",
                         hint=f"magent status -d {deployment} --watch --timeout {timeout}")
    return duration_flag("--timeout", timeout)


def _status_table(data: dict) -> Any:
    from rich.console import Group

    from magent.cli.deploy_view import kv_table

    r = data["replicas"]
    rows = [("images", ", ".join(data["images"])), ("revision", data["revision"]),
            ("replicas", f"{r['ready']}/{r['desired']} ready, {r['updated']} updated, {r['available']} available"),
            ("rollout", data["rollout"] + (" (paused)" if data["paused"] else ""))]
    if data["canary"]:
        c = data["canary"]
        rows.append(("canary", f"{c['name']}: {', '.join(c['images'])}, "
                               f"{c['replicas']['ready']}/{c['replicas']['desired']} ready"))
    parts = [kv_table(f"deployment {data['namespace']}/{data['deployment']}", rows)]
    d = data["deploy"]
    if d:
        last = (d.get("last_analysis") or {}).get("summary", "-")
        step = f"{d['step']}/{len(d['weights'])} ({d['weight']}%)" if d.get("weight") else "-"
        deploy_rows = [("deploy", d["deploy_id"]), ("phase", d["phase"]), ("image", f"{d['previous_image']} → {d['image']}"),
                       ("step", step), ("started", _seconds(d["started_at"])), ("updated", _seconds(d["updated_at"])),
                       ("last analysis", last),
                       ("holder" if d["in_progress"] else "last run by", d["holder"]), ("reason", d.get("reason") or "-")]
        parts.append(kv_table("deploy in progress" if d["in_progress"] else "last deploy", deploy_rows))
    if data["lock"]:
        lock = data["lock"]
        parts.append(f"lock: {lock['holder']} (renewed {_seconds(lock['renewed_at'])}"
                     f"{', expired' if lock['expired'] else ''})")
    return Group(*parts)


def _seconds(moment: str | None) -> str:
    """An instant of the table in whole seconds (-o json/yaml keep it exact)."""
    from magent.core.timeutil import isoformat_seconds

    return isoformat_seconds(moment) if moment else "-"


def history(
    deployment: DeploymentOption = None,
    namespace: NamespaceOption = None,
    context: ContextOption = None,
    target: TargetOption = None,
    cluster: ClusterOption = None,
    service: ServiceOption = None,
    revisions: Annotated[bool, typer.Option(
        "--revisions", help="The Kubernetes revisions (as `kubectl rollout history`), even with a store.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest entries of the audit trail shown.")] = 20,
    output: OutputOption = None,
) -> None:
    """List a Deployment's deploys and rollbacks from the store, or its revisions (as `kubectl rollout history`).

    With a store (MAGENT_DATABASE_URL, or an embedded store created before): the audit trail, newest first:
    who, when, image over image, outcome, the analyses (count, verdicts, last summary), the reason; with
    --context, only that cluster's entries, else every cluster's with this namespace and name, each naming its
    context (entries recorded before magent kept it have none). Without a store, or with --revisions: the
    Deployment's revisions: image, change-cause, creation time.

    Exit codes: 0 shown; 2 unknown deployment; 3 cluster or store unreachable, or credentials refused.
    """
    from magent.cli.cluster import open_cluster
    from magent.cli.state import get_state
    from magent.workflows.deploy.audit import store_configured

    state = get_state()
    fmt = state.output_format(output)
    if _on_ecs(state, target):
        from magent.cli.rollout_ecs import history_ecs

        return history_ecs(state, fmt, cluster=cluster, service=service, revisions=revisions, limit=limit)
    deployment = _required_deployment(deployment, "history")
    if revisions or not store_configured(state.settings):
        return _revision_history(state, fmt, open_cluster(state, namespace, context), deployment)
    from magent.cli.history_view import show_audit_history

    show_audit_history(state, fmt, open_cluster(state, namespace, context), deployment, limit, context=context)


def _revision_history(state: Any, fmt: Any, kube: Any, deployment: str) -> None:
    from magent.cli.render import emit, simple_table
    from magent.workflows.deploy.status import revision_history

    revisions = revision_history(kube, deployment)
    rows = [(r["revision"], ", ".join(r["images"]), r["change_cause"] or "<none>", r["created"],
             "*" if r["current"] else "") for r in revisions]
    emit(state, fmt, revisions,
         table=lambda: simple_table(f"deployment {deployment}", ["revision", "images", "change-cause", "created",
                                                                 "current"], rows))


def register(app: typer.Typer) -> None:
    app.command("rollback", help=ROLLBACK_HELP)(rollback)
    app.command("status")(status)
    app.command("history")(history)
