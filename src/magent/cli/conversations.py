"""`magent conversations export`: copy agents, conversations and their histories into Postgres or files."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from magent.cli import export_job
from magent.cli.db import DatabaseUrlOption, DataDirOption
from magent.cli.export_shards import check_modes, check_worker_flags
from magent.cli.state import OutputOption, get_state
from magent.core.errors import Interrupted, UsageError

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
"""

_PLAIN_PROGRESS_EVERY_S = 5.0


@conversations_app.command("export", help=EXPORT_HELP)
def export(
    to: Annotated[str, typer.Option("--to", metavar="TARGET",
                                    help="postgres, jsonl:FILE or csv:DIR.")] = "postgres",
    since: Annotated[Optional[str], typer.Option(
        "--since", metavar="TIME", show_default=False,
        help="Only conversations updated at or after TIME (ISO 8601, or an age like 7d).")] = None,
    full: Annotated[bool, typer.Option("--full", help="Fetch every conversation, not only changed ones.")] = False,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, max=64,
                                             help="Histories fetched at once.")] = 8,
    processes: Annotated[Optional[int], typer.Option(
        "--processes", min=1, max=16, metavar="N", show_default=False,
        help="Processes fetching histories (each with its own API client), sharing --concurrency and --rate "
             "[default: auto: 1 on 2 cores or fewer, else cores - 1 up to 4, once 1,000 conversations are "
             "to export].")] = None,
    rate: Annotated[Optional[float], typer.Option(
        "--rate", min=1, metavar="PER_MINUTE", show_default=False,
        help="At most this many requests per minute [default: the server's x-ratelimit-* limit].")] = None,
    batch_size: Annotated[int, typer.Option(
        "--batch-size", min=1, metavar="N",
        help="Conversations written per transaction (a killed export loses at most one batch).")] = 200,
    redact_content: Annotated[bool, typer.Option(
        "--redact-content", help="Store a SHA-256 of each entry's text instead of the text.")] = False,
    base_url: Annotated[Optional[str], typer.Option(
        "--base-url", metavar="URL", show_default=False,
        help="Mistral API base URL, without /v1 [env: MAGENT_MISTRAL_URL; default: https://api.mistral.ai].")] = None,
    key_from: Annotated[Optional[str], typer.Option(
        "--key-from", metavar="SPEC", show_default=False,
        help="Where the API key is: env:VAR, file:PATH[#field], aws:SECRET_ID[#field] "
             "[default: mistral.key_from, i.e. env:MISTRAL_API_KEY].")] = None,
    plan: Annotated[bool, typer.Option(
        "--plan", help="List the conversations to export into a plan in the store, by shard, for --worker "
                       "processes (an Indexed Job); prints the plan id.")] = False,
    shards: Annotated[Optional[int], typer.Option(
        "--shards", min=1, max=10_000, metavar="N", show_default=False,
        help="With --plan: shards of the plan (the Job's completions) [default: 8].")] = None,
    worker: Annotated[bool, typer.Option(
        "--worker", help="Export rows of a plan (its shard first, then any left), until the plan is done: "
                         "what each pod of the Job runs.")] = False,
    shard: Annotated[Optional[str], typer.Option(
        "--shard", metavar="I/N", show_default=False,
        help="With --worker: the shard to take first [default: env JOB_COMPLETION_INDEX, of the plan's N].")] = None,
    plan_id: Annotated[Optional[int], typer.Option(
        "--plan-id", min=1, metavar="ID", show_default=False,
        help="The plan to work on [default: the newest open plan].")] = None,
    cancel_plan: Annotated[Optional[int], typer.Option(
        "--cancel-plan", min=1, metavar="ID", show_default=False,
        help="Cancel an open plan (its workers stop at their next claim).")] = None,
    lease: Annotated[float, typer.Option(
        "--lease", min=5, max=3600, metavar="SECONDS",
        help="With --worker: rows a worker claimed go to the others once it has not renewed them for this "
             "long (it died).")] = 60.0,
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
) -> None:
    if emit_job or submit:
        return export_job.run(
            get_state(), to=to, emit_job=emit_job, submit=submit, shards=shards, shard=shard, plan_id=plan_id,
            other_modes={"--plan": plan, "--worker": worker, "--cancel-plan": cancel_plan is not None},
            flags=export_job.JobFlags(parallelism, image, namespace, key_secret, database_secret, kube_version),
            data_dir=data_dir, database_url=database_url, output=output)
    from magent.core.export_plan import parse_target
    from magent.services.mistral.client import normalize_base_url
    from magent.workflows.export.runner import ExportOptions

    state = get_state()
    try:
        target = parse_target(to)
    except ValueError as exc:
        raise UsageError(str(exc), hint="e.g. --to jsonl:export.jsonl or --to csv:export/") from None
    mode = check_modes(target.kind, {"--plan": plan, "--worker": worker, "--cancel-plan": cancel_plan is not None})
    shard_given = check_worker_flags(mode, shards=shards, shard=shard)
    if mode is not None and processes is not None:  # a worker is one process; the Job's parallelism is its pods
        raise UsageError(f"--processes does not apply to {mode}",
                         hint="run more workers instead (--emit-job/--submit --parallelism N)")
    if mode is not None:
        _run_shard_mode(state, mode, data_dir, database_url, output, plan_id=plan_id, cancel_plan=cancel_plan,
                        shards=shards, shard=shard_given, lease=lease, since=since, full=full,
                        redact_content=redact_content, rate=rate, concurrency=concurrency, batch_size=batch_size,
                        base_url=base_url, key_from=key_from)
        return
    options = ExportOptions(since=_since(since), full=full, concurrency=concurrency, processes=processes,
                            redact_content=redact_content, batch_conversations=batch_size)
    url = normalize_base_url(base_url or state.settings.mistral.base_url)
    api_key = _api_key(state, key_from)
    sink = _sink(state, target, data_dir, database_url)
    summary = _run(state, url, api_key, sink, options, rate)
    _report(state, summary, output)


def _run_shard_mode(state: AppState, mode: str, data_dir: str | None, database_url: str | None, output: Any, *,
                    plan_id: int | None, cancel_plan: int | None, **flags: Any) -> None:
    from magent.cli.db import open_for
    from magent.cli.export_shards import run_cancel, run_plan, run_worker_mode
    from magent.services.mistral.client import normalize_base_url

    if mode == "--cancel-plan":
        run_cancel(state, open_for(state, data_dir, database_url), cancel_plan, output)
        return
    url = normalize_base_url(flags["base_url"] or state.settings.mistral.base_url)
    api_key = _api_key(state, flags["key_from"])
    store = open_for(state, data_dir, database_url)
    if mode == "--plan":
        run_plan(state, store, url, api_key, shards=flags["shards"], since=_since(flags["since"]), full=flags["full"],
                 redact_content=flags["redact_content"], rate=flags["rate"], output=output)
        return
    summary = run_worker_mode(state, store, url, api_key, plan_id=plan_id, shard=flags["shard"],
                              concurrency=flags["concurrency"], batch_size=flags["batch_size"], lease_s=flags["lease"],
                              rate=flags["rate"])
    _report(state, summary, output)


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


class _PlainProgress:
    """A line on stderr every few seconds (no TTY, NO_COLOR or --no-color)."""

    def __init__(self, state: AppState) -> None:
        self.state, self.last = state, time.monotonic()

    def __call__(self, progress: ExportProgress) -> None:
        if time.monotonic() - self.last >= _PLAIN_PROGRESS_EVERY_S:
            self.last = time.monotonic()
            self.state.err.print(_progress_line(progress), highlight=False, markup=False)

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

    def __call__(self, progress: ExportProgress) -> None:
        total = progress.to_export if progress.listing_done else None
        self.progress.update(self.task, completed=progress.exported, total=total, detail=_progress_detail(progress))

    def __enter__(self) -> _RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _progress_view(state: AppState) -> Any:
    return _PlainProgress(state) if state.plain else _RichProgress(state)


def _progress_detail(progress: ExportProgress) -> str:
    rate = progress.exported / progress.elapsed_s if progress.elapsed_s > 0 else 0.0
    parts = [f"{progress.entries:,} entries", f"{rate:.1f} conv/s"]
    if progress.listing_done and rate > 0:
        parts.append(f"ETA {max(0.0, (progress.to_export - progress.exported) / rate):.0f} s")
    if progress.skipped:
        parts.append(f"{progress.skipped:,} unchanged")
    if progress.failed:
        parts.append(f"{progress.failed} failed")
    return ", ".join(parts)


def _progress_line(progress: ExportProgress) -> str:
    total = f"/{progress.to_export:,}" if progress.listing_done else f" (listed {progress.listed:,})"
    return f"export: {progress.exported:,}{total} conversations, {_progress_detail(progress)}"


def _report(state: AppState, summary: ExportSummary, output: Any) -> None:
    from magent.cli.render import emit
    from magent.core.errors import CheckFailed

    data = _summary_data(summary)
    emit(state, state.output_format(output), data, table=lambda: _summary_table(data))
    if summary.failed:
        first_id, first_reason = summary.failures[0]
        raise CheckFailed(f"{summary.failed} conversation(s) could not be exported (first: {first_id}: {first_reason})",
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
    return Group(Text(f"Export to {data['target']}", style="bold"), simple_table(None, ["", "count"], rows))
