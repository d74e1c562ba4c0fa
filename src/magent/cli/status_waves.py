"""`magent status -d NAME --context eu-1 --context us-1` (or deploy.waves): one row per cluster of a release.

A cluster that cannot be read is a row saying why, and the others are still shown; the exit code then follows
kubectl's `get` of several objects: 0 every cluster shown; 1 some could not be read (they are named on stderr);
when none could be read, the error's own code: 3 if a cluster was unreachable, else 2 (e.g. no such deployment).
The same configuration error for every cluster (no kubeconfig at all) is no cluster's row: it is said once.
"""

from __future__ import annotations

from typing import Any

from magent.core.errors import EXIT_UNREACHABLE, CheckFailed, ConfigError, MagentError
from magent.core.timeutil import isoformat_seconds


def show_waves_status(state: Any, fmt: Any, waves: list[Any], deployment: str) -> None:
    from magent.cli.cluster import open_cluster
    from magent.cli.render import emit
    from magent.workflows.deploy.status import clusters_status

    results = clusters_status(waves, lambda wave: open_cluster(state, wave.namespace, wave.context), deployment)
    _raise_if_no_cluster_could_be_tried(results)
    records = [_record(result, deployment) for result in results]
    emit(state, fmt, records, table=lambda: _table(deployment, records))
    _raise_for_unread(results)


def _record(result: Any, deployment: str) -> dict[str, Any]:
    if result.error is None:
        return {**result.status, "context": result.status["context"] or result.wave.context, "error": None}
    return {"deployment": deployment, "namespace": result.wave.namespace, "context": result.wave.context,
            "error": result.error.message}


def _table(deployment: str, records: list[dict[str, Any]]) -> Any:
    from magent.cli.render import simple_table

    rows = [(r["context"], r["namespace"] or "-", *_cells(r)) for r in records]
    return simple_table(f"deployment {deployment} in {len(records)} clusters",
                        ["context", "namespace", "stable", "canary", "deploy", "lock"], rows)


def _cells(record: dict[str, Any]) -> tuple[str, str, str, str]:
    """stable, canary, deploy, lock: a cluster that could not be read says why in the first, '-' in the others."""
    if record["error"] is not None:
        return f"not read: {record['error']}", "-", "-", "-"
    replicas = record["replicas"]
    stable = f"{', '.join(record['images'])} (revision {record['revision']}, {replicas['ready']}/" \
             f"{replicas['desired']} ready{', paused' if record['paused'] else ''})"
    if not record["rollout_done"]:
        stable += f"; {record['rollout']}"
    canary = "-"
    if record["canary"]:
        c = record["canary"]
        canary = f"{', '.join(c['images'])} ({c['replicas']['ready']}/{c['replicas']['desired']} ready)"
    return stable, canary, _deploy_cell(record["deploy"]), _lock_cell(record["lock"])


def _deploy_cell(deploy: dict[str, Any] | None) -> str:
    if not deploy:
        return "-"
    step = f", step {deploy['step']}/{len(deploy['weights'])} ({deploy['weight']}%)" if deploy.get("weight") else ""
    when = "in progress" if deploy["in_progress"] else f"ended {isoformat_seconds(deploy['updated_at'])}"
    return f"{deploy['phase']}: {deploy['previous_image']} → {deploy['image']}{step}, {when}"


def _lock_cell(lock: dict[str, Any] | None) -> str:
    if not lock:
        return "-"
    return lock["holder"] + (" (expired)" if lock["expired"] else "")


def _raise_if_no_cluster_could_be_tried(results: list[Any]) -> None:
    """The same configuration error for every cluster (no kubeconfig at all, an unreadable one) is nobody's row:
    said once, as the single-cluster status says it (a context missing from the kubeconfig names its context, so
    its rows differ and are shown)."""
    errors = [result.error for result in results]
    if all(isinstance(error, ConfigError) and type(error) is type(errors[0]) for error in errors) and \
            len({(error.message, error.hint) for error in errors}) == 1:
        raise errors[0]


def _raise_for_unread(results: list[Any]) -> None:
    unread = [r for r in results if r.error is not None]
    if not unread:
        return
    causes = "; ".join(f"{r.wave.context}: {r.error.message}" for r in unread)
    if len(unread) < len(results):
        raise CheckFailed(f"{len(unread)} of {len(results)} clusters could not be read ({causes})",
                          hint="the others are shown; " + (unread[0].error.hint or "check the cluster"))
    unreachable = any(r.error.exit_code == EXIT_UNREACHABLE for r in unread)
    raise MagentError(f"no cluster could be read ({causes})", hint=unread[0].error.hint,
                      exit_code=EXIT_UNREACHABLE if unreachable else unread[0].error.exit_code)
