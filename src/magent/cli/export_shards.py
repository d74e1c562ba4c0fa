"""`conversations export --plan / --worker / --cancel-plan`: the export split over the workers of an Indexed Job."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from magent.core.errors import UsageError

if TYPE_CHECKING:
    from magent.cli.state import AppState
    from magent.services.store import Store
    from magent.workflows.export.plan import PlanSummary

DEFAULT_SHARDS = 8
_SHARDS_SHOWN = 16  # per-shard rows in the table; beyond, the smallest and largest


def check_modes(target_kind: str, modes: dict[str, bool]) -> str | None:
    """The one mode asked for (`--plan`, `--worker`, …) or None; two at once, or one with --to a file: exit 2."""
    chosen = [name for name, on in modes.items() if on]
    if len(chosen) > 1:
        raise UsageError(f"{' and '.join(chosen)} cannot be used together", hint="choose one of them")
    if chosen and target_kind != "postgres":
        raise UsageError(f"{chosen[0]} works with the Postgres store only, not --to {target_kind}:",
                         hint="drop --to (the store is the default target)")
    return chosen[0] if chosen else None


def check_worker_flags(mode: str | None, *, shards: int | None, shard: str | None) -> tuple[int, int] | None:
    """--shards belongs to --plan, --shard to --worker; returns --shard parsed."""
    from magent.core.export_shard import parse_shard

    if shards is not None and mode != "--plan":
        raise UsageError("--shards is for --plan", hint="e.g. magent conversations export --plan --shards 8")
    if shard is None:
        return None
    if mode != "--worker":
        raise UsageError("--shard is for --worker", hint="e.g. magent conversations export --worker --shard 3/8")
    try:
        return parse_shard(shard)
    except ValueError as exc:
        raise UsageError(str(exc), hint="e.g. --shard 3/8, or set JOB_COMPLETION_INDEX") from None


def run_plan(state: AppState, store: Store, url: str, api_key: str, *, shards: int | None, since: Any, full: bool,
             redact_content: bool, rate: float | None, output: Any) -> None:
    from magent.cli.render import emit
    from magent.services.mistral.conversations import open_source
    from magent.workflows.export.plan import make_plan

    source, client = open_source(url, api_key, rate_per_minute=rate, timeout_s=state.settings.mistral.timeout)
    state.err.print(f"listing conversations from {url} into a plan in {store.description}", highlight=False,
                    markup=False)
    with client:
        summary = make_plan(store, source, shards=shards or DEFAULT_SHARDS, since=since, full=full,
                            redact_content=redact_content)
    data = _plan_data(summary)
    emit(state, state.output_format(output), data, table=lambda: _plan_table(data))


def run_worker_mode(state: AppState, store: Store, url: str, api_key: str, *, plan_id: int | None,
                    shard: tuple[int, int] | None, concurrency: int, batch_size: int, lease_s: float,
                    rate: float | None) -> Any:
    from magent.cli.conversations import _progress_view
    from magent.cli.interrupts import is_user_interrupt, sigterm_as_interrupt
    from magent.services.mistral.conversations import open_source
    from magent.workflows.export.worker import WorkerOptions, run_worker

    options = WorkerOptions(plan_id=plan_id, shard=shard, concurrency=concurrency, claim_size=min(batch_size, 50),
                            lease_s=lease_s)
    source, client = open_source(url, api_key, rate_per_minute=rate, timeout_s=state.settings.mistral.timeout)
    state.err.print(f"export worker {options.name}: from {url} to {store.description}", highlight=False,
                    markup=False)
    try:
        with client, _progress_view(state) as on_progress, sigterm_as_interrupt():
            return run_worker(store, source, options, on_progress)
    except BaseException as exc:
        if not is_user_interrupt(exc):
            raise
        from magent.core.errors import Interrupted

        raise Interrupted("export worker interrupted; its unwritten rows are left to the other workers",
                          hint="start it again (as the Job does): it goes on with the plan") from None


def run_cancel(state: AppState, store: Store, plan_id: int, output: Any) -> None:
    from magent.cli.render import emit
    from magent.services.store import work_queue

    with store.connection() as conn:
        plan = work_queue.open_plan(conn, plan_id)
        if not work_queue.cancel_plan(conn, plan_id):
            raise UsageError(f"export plan {plan_id} is {plan.status}, not open", hint="nothing to cancel")
        counts = work_queue.work_counts(conn, plan_id)
    data = {"plan_id": plan_id, "status": "cancelled", "left": counts.todo, "done": counts.done}
    emit(state, state.output_format(output), data,
         table=lambda: f"export plan {plan_id} cancelled ({counts.todo:,} conversations left unexported)")


def _plan_data(summary: PlanSummary) -> dict[str, Any]:
    from magent.core.timeutil import isoformat

    return {
        "plan_id": summary.plan_id, "target": summary.target, "total": summary.total,
        "shards": summary.shards, "agents": summary.agents, "listed": summary.listed,
        "skipped": summary.skipped, "since": isoformat(summary.since) if summary.since else None,
        "full": summary.full, "requests": summary.requests, "duration_s": round(summary.duration_s, 3),
    }


def _plan_table(data: dict[str, Any]) -> Any:
    from rich.console import Group
    from rich.text import Text

    from magent.cli.render import simple_table

    shards = data["shards"]
    if len(shards) <= _SHARDS_SHOWN:
        rows = [(str(index), f"{count:,}") for index, count in enumerate(shards)]
    else:
        rows = [(f"{len(shards)} shards", f"{min(shards):,} to {max(shards):,} each")]
    rows.append(("total", f"{data['total']:,}"))
    head = (f"Export plan {data['plan_id']} in {data['target']}: {data['total']:,} conversations to export "
            f"({data['skipped']:,} of {data['listed']:,} listed unchanged or before --since)")
    hint = (f"next: magent conversations export --submit, or run `magent conversations export --worker` "
            f"with JOB_COMPLETION_INDEX (or --shard I/{len(shards)}) set")
    if data["total"] == 0:
        hint = "nothing to export: every conversation listed is unchanged since it was written (--full takes all)"
    return Group(Text(head, style="bold"), simple_table(None, ["shard", "conversations"], rows),
                 Text(hint, style="dim"))
