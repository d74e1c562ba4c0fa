"""The options of `magent conversations export`, and what the command received, as one value.

The options of --emit-job / --submit are in `export_job`, next to the code that reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from magent.cli.export_job import JobFlags

ToOption = Annotated[str, typer.Option("--to", metavar="TARGET", help="postgres, jsonl:FILE or csv:DIR.")]
SinceOption = Annotated[Optional[str], typer.Option(
    "--since", metavar="TIME", show_default=False,
    help="Only conversations updated at or after TIME (ISO 8601, or an age like 7d).")]
FullOption = Annotated[bool, typer.Option("--full", help="Fetch every conversation, not only changed ones.")]
ConcurrencyOption = Annotated[int, typer.Option("--concurrency", "-c", min=1, max=64, help="Histories fetched at once.")]
ProcessesOption = Annotated[Optional[int], typer.Option(
    "--processes", min=1, max=16, metavar="N", show_default=False,
    help="Processes fetching histories (each with its own API client), sharing --concurrency and --rate "
         "[default: auto: 1 on 2 cores or fewer, else cores - 1 up to 4, once 1,000 conversations are "
         "to export].")]
RateOption = Annotated[Optional[float], typer.Option(
    "--rate", min=1, metavar="PER_MINUTE", show_default=False,
    help="At most this many requests per minute [default: the server's x-ratelimit-* limit].")]
BatchSizeOption = Annotated[int, typer.Option(
    "--batch-size", min=1, metavar="N",
    help="Conversations written per transaction (a killed export loses at most one batch).")]
RedactContentOption = Annotated[bool, typer.Option(
    "--redact-content", help="Store a SHA-256 of each entry's text instead of the text.")]
BaseUrlOption = Annotated[Optional[str], typer.Option(
    "--base-url", metavar="URL", show_default=False,
    help="Mistral API base URL, without /v1 [env: MAGENT_MISTRAL_URL; default: https://api.mistral.ai].")]
KeyFromOption = Annotated[Optional[str], typer.Option(
    "--key-from", metavar="SPEC", show_default=False,
    help="Where the API key is: env:VAR, file:PATH[#field], aws:SECRET_ID[#field] "
         "[default: mistral.key_from, i.e. env:MISTRAL_API_KEY].")]
PlanOption = Annotated[bool, typer.Option(
    "--plan", help="List the conversations to export into a plan in the store, by shard, for --worker "
                   "processes (an Indexed Job); prints the plan id.")]
ShardsOption = Annotated[Optional[int], typer.Option(
    "--shards", min=1, max=10_000, metavar="N", show_default=False,
    help="With --plan: shards of the plan (the Job's completions) [default: 8].")]
WorkerOption = Annotated[bool, typer.Option(
    "--worker", help="Export rows of a plan (its shard first, then any left), until the plan is done: "
                     "what each pod of the Job runs.")]
ShardOption = Annotated[Optional[str], typer.Option(
    "--shard", metavar="I/N", show_default=False,
    help="With --worker: the shard to take first [default: env JOB_COMPLETION_INDEX, of the plan's N].")]
PlanIdOption = Annotated[Optional[int], typer.Option(
    "--plan-id", min=1, metavar="ID", show_default=False,
    help="The plan to work on [default: the newest open plan].")]
CancelPlanOption = Annotated[Optional[int], typer.Option(
    "--cancel-plan", min=1, metavar="ID", show_default=False,
    help="Cancel an open plan (its workers stop at their next claim).")]
LeaseOption = Annotated[float, typer.Option(
    "--lease", min=5, max=3600, metavar="SECONDS",
    help="With --worker: rows a worker claimed go to the others once it has not renewed them for this "
         "long (it died).")]


@dataclass(frozen=True)
class ExportFlags:
    """Every option of the command, as given (None: not given)."""

    to: str
    since: str | None
    full: bool
    concurrency: int
    processes: int | None
    rate: float | None
    batch_size: int
    redact_content: bool
    base_url: str | None
    key_from: str | None
    plan: bool
    shards: int | None
    worker: bool
    shard: str | None
    plan_id: int | None
    cancel_plan: int | None
    lease: float
    data_dir: str | None
    database_url: str | None
    output: Any
    emit_job: bool
    submit: bool
    parallelism: int | None
    image: str | None
    namespace: str | None
    key_secret: str | None
    database_secret: str | None
    kube_version: str | None
    context: str | None

    @property
    def shard_modes(self) -> dict[str, bool]:
        """The modes of the plan's shards, by flag (one at most may be on)."""
        return {"--plan": self.plan, "--worker": self.worker, "--cancel-plan": self.cancel_plan is not None}

    @property
    def job_flags_given(self) -> list[str]:
        """The flags given that only --emit-job/--submit read (--context aside: it is for --submit alone)."""
        from dataclasses import fields

        from magent.cli.export_job import JobFlags

        return [f"--{field.name.replace('_', '-')}" for field in fields(JobFlags)
                if field.name != "context" and getattr(self, field.name) is not None]

    @property
    def job(self) -> JobFlags:
        from magent.cli.export_job import JobFlags

        return JobFlags(self.parallelism, self.image, self.namespace, self.key_secret, self.database_secret,
                        self.kube_version, self.context)
