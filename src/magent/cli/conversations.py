"""`magent conversations export`: copy agents, conversations and their histories into Postgres or files."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import typer

from magent.cli import export_job
from magent.cli import export_options as eo
from magent.cli.cluster import ContextOption
from magent.cli.db import DatabaseUrlOption, DataDirOption
from magent.cli.export_shards import check_modes, check_worker_flags
from magent.cli.state import OutputOption, get_state
from magent.core.errors import Interrupted, UsageError
from magent.core.text import counted

if TYPE_CHECKING:
    from magent.cli.state import AppState
    from magent.workflows.export.runner import ExportProgress, ExportSummary
    from magent.workflows.export.sinks import Sink

conversations_app = typer.Typer(
    name="conversations", help="Export Mistral agents and conversations.", no_args_is_help=True
)

EXPORT_HELP = """Copy agents, conversations and every history entry from the Mistral API into Postgres or files.

All six entry types are kept (message.input/output, function.call/result, tool.execution,
agent.handoff), each with its token count: counted offline with Mistral's Tekken tokenizer for Mistral
models, estimated (and marked so) for others. Each model output also gets its prompt tokens (everything
before it in the conversation), and the daily usage rollup read by `magent usage report` is kept up to date.

Into Postgres (the default) the export is incremental: a conversation is fetched again only when its
updated_at changed since it was last written (--full fetches all; --since limits by update time).
Re-running never duplicates a row, and an export killed at any moment finishes on the next run.
Files (--to jsonl:FILE, --to csv:DIR) get a complete snapshot at each run, written atomically.

Requests are paced (--rate, else the server's x-ratelimit-* headers) and retried with backoff on 429
(honouring Retry-After), 5xx and reset connections. Parsing API responses costs CPU: --processes N
spreads the fetching over N worker processes (the pace and --concurrency are shared by all of them;
only this process writes; the workers exit with it).

Beyond one machine, as a Kubernetes Indexed Job with the store as the coordination point: --plan lists
the conversations to export into a plan of --shards shards; each --worker (a pod, JOB_COMPLETION_INDEX its
shard) claims rows under a lease, so rows of a worker that dies go to the others, and all workers share the
key's advertised rate limit; the worker that finds the plan drained marks it done.

Exit codes: 0 done; 1 some conversations could not be exported (run again to retry them); 2 bad input;
3 Mistral or Postgres unreachable, or the key refused; 130 interrupted (the next run resumes).

\b
Examples:
  magent conversations export
  magent conversations export --since 7d --concurrency 16 --rate 300
  magent conversations export --full --processes 4 --concurrency 32
  magent conversations export --to jsonl:export.jsonl --redact-content
  magent conversations export --to csv:out/ --full -o json
  magent conversations export --plan --shards 8
  JOB_COMPLETION_INDEX=3 magent conversations export --worker
  magent conversations export --submit --context prod-eu -n batch
"""

_PLAIN_PROGRESS_EVERY_S = 5.0
# The ETA waits for this many conversations or seconds after the first one: a rate from fewer says little
_ETA_AFTER_CONVERSATIONS = 3
_ETA_AFTER_S = 2.0


@conversations_app.command("export", help=EXPORT_HELP)
def export(
    to: eo.ToOption = "postgres",
    since: eo.SinceOption = None,
    full: eo.FullOption = False,
    concurrency: eo.ConcurrencyOption = 8,
    processes: eo.ProcessesOption = None,
    rate: eo.RateOption = None,
    batch_size: eo.BatchSizeOption = 200,
    redact_content: eo.RedactContentOption = False,
    base_url: eo.BaseUrlOption = None,
    key_from: eo.KeyFromOption = None,
    plan: eo.PlanOption = False,
    shards: eo.ShardsOption = None,
    worker: eo.WorkerOption = False,
    shard: eo.ShardOption = None,
    plan_id: eo.PlanIdOption = None,
    cancel_plan: eo.CancelPlanOption = None,
    lease: eo.LeaseOption = 60.0,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    output: OutputOption = None,
    emit_job: export_job.EmitJobOption = False,
    submit: export_job.SubmitOption = False,
    parallelism: export_job.ParallelismOption = None,
    image: export_job.ImageOption = None,
    namespace: export_job.NamespaceOption = None,
    key_secret: export_job.KeySecretOption = None,
    database_secret: export_job.DatabaseSecretOption = None,
    kube_version: export_job.KubeVersionOption = None,
    context: ContextOption = None,
) -> None:
    # the parameters are exactly ExportFlags' fields: a parameter added without its field fails at once
    _dispatch(get_state(), eo.ExportFlags(**locals()))


def _dispatch(state: AppState, flags: eo.ExportFlags) -> None:
    """Into a Job (--emit-job, --submit), a mode of the plan's shards (--plan, --worker, --cancel-plan), or here."""
    from magent.core.export_plan import parse_target

    if flags.context is not None and not flags.submit:  # --emit-job only prints; plain modes never reach a cluster
        raise UsageError("--context is for --submit",
                         hint="only --submit talks to a cluster; apply --emit-job's manifest with "
                              "`kubectl --context NAME apply -f -`")
    if not (flags.emit_job or flags.submit) and flags.job_flags_given:  # else silently ignored
        name = flags.job_flags_given[0]
        modes = "--emit-job" if name == "--kube-version" else "--emit-job and --submit"
        raise UsageError(f"{name} is for {modes}", hint=f"use it with {modes.replace(' and ', ' or ')}")
    if flags.emit_job or flags.submit:
        return export_job.run(state, to=flags.to, emit_job=flags.emit_job, submit=flags.submit, shards=flags.shards,
                              shard=flags.shard, plan_id=flags.plan_id, other_modes=flags.shard_modes,
                              flags=flags.job, data_dir=flags.data_dir, database_url=flags.database_url,
                              output=flags.output)
    try:
        target = parse_target(flags.to)
    except ValueError as exc:
        raise UsageError(str(exc), hint="e.g. --to jsonl:export.jsonl or --to csv:export/") from None
    mode = check_modes(target.kind, flags.shard_modes)
    shard = check_worker_flags(mode, shards=flags.shards, shard=flags.shard)
    if mode is not None and flags.processes is not None:  # a worker is one process; the Job's parallelism is its pods
        raise UsageError(f"--processes does not apply to {mode}",
                         hint="run more workers instead (--emit-job/--submit --parallelism N)")
    if mode is not None:
        return _run_shard_mode(state, mode, flags, shard)
    return _run_here(state, flags, target)


def _run_here(state: AppState, flags: eo.ExportFlags, target: Any) -> None:
    from magent.services.mistral.client import normalize_base_url
    from magent.workflows.export.runner import ExportOptions

    options = ExportOptions(since=_since(flags.since), full=flags.full, concurrency=flags.concurrency,
                            processes=flags.processes, redact_content=flags.redact_content,
                            batch_conversations=flags.batch_size)
    url = normalize_base_url(flags.base_url or state.settings.mistral.base_url)
    api_key = _api_key(state, flags.key_from)
    sink = _sink(state, target, flags.data_dir, flags.database_url)
    summary = _run(state, url, api_key, sink, options, flags.rate)
    _report(state, summary, flags.output)


def _run_shard_mode(state: AppState, mode: str, flags: eo.ExportFlags, shard: tuple[int, int] | None) -> None:
    from magent.cli.db import open_for
    from magent.cli.export_shards import run_cancel, run_plan, run_worker_mode
    from magent.services.mistral.client import normalize_base_url

    if flags.cancel_plan is not None:  # the mode is --cancel-plan
        run_cancel(state, open_for(state, flags.data_dir, flags.database_url), flags.cancel_plan, flags.output)
        return
    url = normalize_base_url(flags.base_url or state.settings.mistral.base_url)
    api_key = _api_key(state, flags.key_from)
    store = open_for(state, flags.data_dir, flags.database_url)
    if mode == "--plan":
        run_plan(state, store, url, api_key, shards=flags.shards, since=_since(flags.since), full=flags.full,
                 redact_content=flags.redact_content, rate=flags.rate, output=flags.output)
        return
    summary = run_worker_mode(state, store, url, api_key, plan_id=flags.plan_id, shard=shard,
                              concurrency=flags.concurrency, batch_size=flags.batch_size, lease_s=flags.lease,
                              rate=flags.rate)
    _report(state, summary, flags.output)


def register(app: typer.Typer) -> None:
    app.add_typer(conversations_app, name="conversations")


def _since(text: str | None) -> Any:
    from magent.core.timeutil import parse_instant, utcnow

    if text is None:
        return None
    try:
        moment = parse_instant(text)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}", hint="e.g. --since 7d or --since 2026-11-01") from None
    if moment > utcnow():
        raise UsageError(f"--since {text!r} is in the future", hint="use a past instant, e.g. --since 7d")
    return moment


def _api_key(state: AppState, key_from: str | None) -> str:
    from magent.services.keys import resolve_mistral_keys

    return resolve_mistral_keys(state.settings, [key_from] if key_from else None, first_only=True)[0].key


def _sink(state: AppState, target: Any, data_dir: str | None, database_url: str | None) -> Sink:
    from magent.workflows.export.sinks import CsvSink, JsonlSink, PostgresSink

    if target.kind == "jsonl":
        return JsonlSink(target.path)
    if target.kind == "csv":
        return CsvSink(target.path)
    from magent.cli.db import open_for

    return PostgresSink(open_for(state, data_dir, database_url))


def _run(state: AppState, url: str, api_key: str, sink: Sink, options: Any, rate: float | None) -> ExportSummary:
    from magent.cli.interrupts import is_user_interrupt
    from magent.services.mistral.conversations import open_source
    from magent.workflows.export.runner import run_export

    source, client = open_source(url, api_key, rate_per_minute=rate, timeout_s=state.settings.mistral.timeout)
    state.err.print(f"exporting from {url} to {sink.description}", highlight=False, markup=False)
    try:
        with client, _progress_view(state) as on_progress:
            return run_export(source, sink, options, on_progress)
    except BaseException as exc:
        if is_user_interrupt(exc):
            raise _interrupted(sink) from None
        raise


def _interrupted(sink: Sink) -> Interrupted:
    from magent.workflows.export.sinks import CsvSink, JsonlSink

    if isinstance(sink, (JsonlSink, CsvSink)):  # files are renamed into place only when complete
        return Interrupted(f"export to {sink.description} interrupted; no file was written",
                           hint="run the command again")
    return Interrupted(f"export to {sink.description} interrupted; the batches already written are kept",
                       hint="run the same command again: it resumes without duplicating rows")


class _ExportPace:
    """Conversations per second since the first one completed: the time before it (listing, loading the
    tokenizer) says nothing of how fast the rest goes, and made a 7 s export's first ETA 309 s."""

    def __init__(self) -> None:
        self.first_at: float | None = None
        self.first_count = 0

    def rate(self, exported: int, now: float | None = None) -> float | None:
        """The pace once a few conversations or seconds have passed since the first one, else None."""
        now = time.monotonic() if now is None else now
        if self.first_at is None:
            if exported:
                self.first_at, self.first_count = now, exported
            return None
        done, seconds = exported - self.first_count, now - self.first_at
        if seconds <= 0 or done <= 0 or (done < _ETA_AFTER_CONVERSATIONS and seconds < _ETA_AFTER_S):
            return None
        return done / seconds


class _PlainProgress:
    """A line on stderr every few seconds (no TTY, NO_COLOR or --no-color)."""

    def __init__(self, state: AppState) -> None:
        self.state, self.last, self.pace = state, time.monotonic(), _ExportPace()

    def __call__(self, progress: ExportProgress) -> None:
        pace = self.pace.rate(progress.exported)
        if time.monotonic() - self.last >= _PLAIN_PROGRESS_EVERY_S:
            self.last = time.monotonic()
            self.state.err.print(_progress_line(progress, pace), highlight=False, markup=False)

    def __enter__(self) -> _PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class _RichProgress:
    """A live bar: conversations done of those to export (total known once the listing ends), entries, rate, ETA."""

    def __init__(self, state: AppState) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("exporting"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                                 console=state.err, transient=False)
        self.task = self.progress.add_task("export", total=None, detail="listing…")
        self.pace = _ExportPace()

    def __call__(self, progress: ExportProgress) -> None:
        total = progress.to_export if progress.listing_done else None
        detail = _progress_detail(progress, self.pace.rate(progress.exported))
        self.progress.update(self.task, completed=progress.exported, total=total, detail=detail)

    def __enter__(self) -> _RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _progress_view(state: AppState) -> Any:
    return _PlainProgress(state) if state.plain else _RichProgress(state)


def _progress_detail(progress: ExportProgress, pace: float | None) -> str:
    """`pace`: conversations per second since the first one completed (_ExportPace), None while too early."""
    rate = progress.exported / progress.elapsed_s if progress.elapsed_s > 0 else 0.0
    parts = [f"{progress.entries:,} entries", f"{rate:.1f} conv/s"]
    if progress.listing_done and pace:
        parts.append(f"ETA {max(0.0, (progress.to_export - progress.exported) / pace):.0f} s")
    if progress.skipped:
        parts.append(f"{progress.skipped:,} unchanged")
    if progress.failed:
        parts.append(f"{progress.failed} failed")
    return ", ".join(parts)


def _progress_line(progress: ExportProgress, pace: float | None) -> str:
    total = f"/{progress.to_export:,}" if progress.listing_done else f" (listed {progress.listed:,})"
    return f"export: {progress.exported:,}{total} conversations, {_progress_detail(progress, pace)}"


def _report(state: AppState, summary: ExportSummary, output: Any) -> None:
    from magent.cli.render import emit
    from magent.core.errors import CheckFailed

    data = _summary_data(summary)
    emit(state, state.output_format(output), data, table=lambda: _summary_table(data))
    if summary.failed:
        first_id, first_reason = summary.failures[0]
        raise CheckFailed(f"{counted(summary.failed, 'conversation')} could not be exported (first: {first_id}: "
                          f"{first_reason})",
                          hint="run the export again: it retries only what is missing")


def _summary_data(summary: ExportSummary) -> dict[str, Any]:
    from magent.core.timeutil import isoformat

    return {
        "target": summary.target, "status": summary.status, "agents": summary.agents,
        "conversations": summary.conversations, "entries": summary.entries, "rows_changed": summary.rows_changed,
        "skipped": summary.skipped, "failed": summary.failed, "requests": summary.requests,
        "rate_limited": summary.refused, "retries": summary.retries,
        "duration_s": round(summary.duration_s, 3), "since": isoformat(summary.since) if summary.since else None,
        "failures": [{"conversation_id": cid, "reason": reason} for cid, reason in summary.failures[:20]],
    }


def _summary_table(data: dict[str, Any]) -> Any:
    from rich.console import Group
    from rich.text import Text

    from magent.cli.render import simple_table

    rows = [
        ("agents", data["agents"]), ("conversations written", data["conversations"]),
        ("entries written", data["entries"]), ("rows changed", data["rows_changed"]),
        ("skipped (unchanged or before --since)", data["skipped"]), ("failed", data["failed"]),
        ("API requests (retries included)", data["requests"]), ("rate limited (429)", data["rate_limited"]),
        ("retries", data["retries"]), ("duration", f"{data['duration_s']:.1f} s"),
        ("status", data["status"]),
    ]
    rows = [(name, f"{value:,}" if isinstance(value, int) else value) for name, value in rows]  # 1,206 as on the bar
    return Group(Text(f"Export to {data['target']}", style="bold"), simple_table(None, ["", "count"], rows))
