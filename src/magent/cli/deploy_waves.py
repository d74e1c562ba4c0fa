"""`magent deploy IMAGE -d NAME --context eu-1 --context us-1` (or deploy.waves): one release, cluster by cluster."""

from __future__ import annotations

from typing import Any

from magent.core.errors import CheckFailed, UsageError


def waves_from(state: Any, contexts: list[str], namespace: str | None) -> list[Any]:
    """The waves to walk: two or more --context flags, else deploy.waves (when no --context), else none."""
    from magent.workflows.deploy.waves import Wave

    if len(contexts) > 1:
        if len(set(contexts)) != len(contexts):
            raise UsageError("--context: a cluster is named twice", hint="each wave is a different context")
        return [Wave(context, namespace) for context in contexts]
    configured = state.settings.deploy.waves
    if configured and not contexts:
        return [Wave(w.context, namespace or w.namespace) for w in configured]
    return []


def deploy_in_waves(state: Any, fmt: Any, waves: list[Any], options: Any, *, yes: bool, dry_run: bool,
                    rollback_on_fail: bool) -> None:
    from magent.cli.cluster import confirm, open_cluster
    from magent.cli.deploy_view import EventView
    from magent.services.targets.kubernetes import KubernetesTarget
    from magent.workflows.deploy.driver import Deployer
    from magent.workflows.deploy.waves import run_release

    if options.resume:
        raise UsageError("--resume continues one cluster's deploy", hint="resume it with a single --context NAME")
    names = ", ".join(w.context for w in waves)
    if dry_run:
        for wave in waves:
            kube = open_cluster(state, wave.namespace, wave.context)
            plan = Deployer(KubernetesTarget(kube, options.deployment), state.settings, options,
                            on_event=lambda record: None).prepare().plan
            state.err.print(f"{wave.context}: {plan.previous_image} → {plan.image} on {plan.namespace}/"
                            f"{plan.deployment}, steps {', '.join(f'{s.weight}%' for s in plan.steps)}",
                            markup=False, highlight=False)
        return

    def deployer_for(wave: Any, emit: Any) -> Any:
        kube = open_cluster(state, wave.namespace, wave.context)
        target = KubernetesTarget(kube, options.deployment, router=state.settings.deploy.router,
                                  route=state.settings.deploy.route)
        return Deployer(target, state.settings, options, on_event=emit)

    image = options.image
    print_where = f"Deploying {image} to deployment {options.deployment} in {len(waves)} clusters, in order: {names}"
    state.err.print(print_where, markup=False, highlight=False)
    confirm(state, f"Canary {image} on {options.deployment} in {names}, one cluster after another?", yes=yes)
    with EventView(state, fmt) as view:
        release = run_release(waves, deployer_for=deployer_for, on_event=view,
                              rollback=_rollback(state, options, image) if rollback_on_fail else None)
        view({"at": _now(), "event": "release", "deployment": options.deployment, "namespace": None,
              "image": image, "promoted": release.promoted, "waves": [w.to_dict() for w in release.waves]})
    _show(state, fmt, release)
    if release.failure is not None:
        raise release.failure
    if not release.promoted:
        stopped = next(w for w in release.waves if w.outcome not in ("promoted", "rolled back"))
        rolled = [w.wave.context for w in release.waves if w.rolled_back]
        raise CheckFailed(f"the release of {image} stopped in {stopped.wave.context}: {stopped.to_dict()['reason']}",
                          hint=(f"rolled back in {', '.join(rolled)}; " if rolled else "")
                          + "the clusters after it were not touched")


def _rollback(state: Any, options: Any, image: str) -> Any:
    def roll_back(wave: Any, emit: Any) -> None:
        from magent.cli.cluster import open_cluster
        from magent.services.kube.lease import identity
        from magent.workflows.deploy.rollback import audited, execute, plan_rollback

        kube = open_cluster(state, wave.namespace, wave.context)
        plan = plan_rollback(kube, options.deployment, 0)
        reason, actor = f"the release of {image} failed in a later wave", identity()
        with audited(state.settings, plan, actor=actor, reason=reason, on_event=emit, context=kube.context) as sink:
            execute(kube, plan, reason=reason, actor=actor, timeout_s=state.settings.deploy.rollout_timeout,
                    on_event=sink)

    return roll_back


def _now() -> str:
    from magent.core.timeutil import isoformat, utcnow

    return isoformat(utcnow())


def _show(state: Any, fmt: Any, release: Any) -> None:
    from magent.cli.render import emit, simple_table
    from magent.cli.state import OutputFormat

    if fmt is OutputFormat.json:
        return  # the events, the last of them `release`, were the output
    rows = [(str(i), w.wave.context, w.outcome, (w.to_dict()["reason"] or "-")) for i, w in enumerate(release.waves, 1)]
    data = {"promoted": release.promoted, "waves": [w.to_dict() for w in release.waves]}
    emit(state, fmt, data, table=lambda: simple_table("release", ["wave", "context", "outcome", "reason"], rows))
