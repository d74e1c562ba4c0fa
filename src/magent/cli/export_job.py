"""`conversations export --emit-job / --submit`: the export plan as a Kubernetes Indexed Job.

--emit-job prints the manifest (YAML, or JSON with -o json) for `kubectl apply -f -`; --submit creates it and
follows it with a progress bar over the work table and the Job's status, then prints the summary.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from magent.core.ctrl_c import is_user_interrupt
from magent.core.errors import CheckFailed, Interrupted, MagentError, Unreachable, UsageError
from magent.core.text import counted

if TYPE_CHECKING:
    from magent.cli.state import AppState
    from magent.core.export_job import JobSpec, SecretRef
    from magent.services.kube.client import Kube
    from magent.services.store import Store
    from magent.services.store.work_queue import PlanInfo
    from magent.workflows.export.job import JobSnapshot

DEFAULT_PARALLELISM = 4
_PLAIN_EVERY_S = 5.0


@dataclass(frozen=True)
class JobFlags:
    """The flags of --emit-job / --submit (None: from export.job in magent.yaml, else the default)."""

    parallelism: int | None = None
    image: str | None = None
    namespace: str | None = None
    key_secret: str | None = None
    database_secret: str | None = None
    kube_version: str | None = None
    context: str | None = None  # with --submit; None: kubernetes.context, else the kubeconfig's current one


EmitJobOption = Annotated[bool, typer.Option(
    "--emit-job", help="Print the Kubernetes Indexed Job that exports the open plan (YAML; JSON with -o json), "
                       "for `kubectl apply -f -`.")]
SubmitOption = Annotated[bool, typer.Option(
    "--submit", help="Create that Job and follow it (progress of the plan, pods), then print the summary.")]
ParallelismOption = Annotated[Optional[int], typer.Option(
    "--parallelism", min=1, max=10_000, metavar="N", show_default=False,
    help="With --emit-job/--submit: pods at once [default: the plan's shards, at most 4].")]
ImageOption = Annotated[Optional[str], typer.Option(
    "--image", metavar="IMAGE", show_default=False,
    help="The magent image the pods run [default: export.job.image, else ghcr.io/magent-dev/magent:VERSION].")]
NamespaceOption = Annotated[Optional[str], typer.Option(
    "--namespace", "-n", metavar="NS", show_default=False,
    help="Namespace of the Job [default: export.job.namespace, else kubernetes.namespace].")]
KeySecretOption = Annotated[Optional[str], typer.Option(
    "--key-secret", metavar="NAME[#KEY]", show_default=False,
    help="Secret (in the Job's namespace) holding the Mistral API key [default: magent-mistral#api-key].")]
DatabaseSecretOption = Annotated[Optional[str], typer.Option(
    "--database-secret", metavar="NAME[#KEY]", show_default=False,
    help="Secret holding the database URL the pods use [default: magent-database#url].")]
KubeVersionOption = Annotated[Optional[str], typer.Option(
    "--kube-version", metavar="X.Y", show_default=False,
    help="With --emit-job: the cluster's Kubernetes version; before 1.29 the Job gets backoffLimit instead of "
         "backoffLimitPerIndex [default: current; --submit asks the server].")]


def run(state: AppState, *, to: str, emit_job: bool, submit: bool, other_modes: dict[str, bool],
        shards: int | None, shard: str | None, plan_id: int | None, flags: JobFlags,
        data_dir: str | None, database_url: str | None, output: Any) -> None:
    from magent.cli.db import open_for, store_settings
    from magent.cli.export_shards import check_modes, check_worker_flags
    from magent.core.export_plan import parse_target

    try:
        kind = parse_target(to).kind
    except ValueError as exc:
        raise UsageError(str(exc), hint="drop --to: the Job exports into the Postgres store") from None
    mode = check_modes(kind, {"--emit-job": emit_job, "--submit": submit, **other_modes})
    check_worker_flags(mode, shards=shards, shard=shard)
    pods = _checked(state, flags, submit=submit)
    if not store_settings(state, data_dir, database_url).database_url:
        raise UsageError("the Job's pods cannot reach the embedded Postgres on this machine",
                         hint="set MAGENT_DATABASE_URL (or --database-url) to the database the pods use, the "
                              "one in the database Secret, where --plan made the plan")
    store = open_for(state, data_dir, database_url)
    plan = _open_plan(store, plan_id)
    if emit_job:
        namespace = pods.namespace or state.settings.kubernetes.namespace
        _emit(state, _job_spec(state, plan, pods, flags, namespace, per_index=bool(pods.per_index)), output)
    else:
        _submit(state, store, plan, pods, flags, output)


@dataclass(frozen=True)
class _Pods:
    """The flags and export.job settings, checked before anything is opened."""

    key_secret: SecretRef
    database_secret: SecretRef
    image: str
    namespace: str | None  # None: the kubernetes settings' (or the kubeconfig context's)
    mistral_url: str | None
    per_index: bool | None  # None: ask the server


def _checked(state: AppState, flags: JobFlags, *, submit: bool) -> _Pods:
    from magent.core.config import DEFAULT_MISTRAL_URL
    from magent.core.export_job import check_namespace, default_image, parse_secret_ref
    from magent.core.redact import mask_url
    from magent.services.mistral.client import normalize_base_url

    job = state.settings.export.job
    namespace = flags.namespace or job.namespace
    try:
        key_secret = parse_secret_ref(flags.key_secret or job.key_secret, "api-key")
        database_secret = parse_secret_ref(flags.database_secret or job.database_secret, "url")
        if namespace:
            check_namespace(namespace)
    except ValueError as exc:
        raise UsageError(str(exc), hint="e.g. --key-secret magent-mistral#api-key --namespace shop") from None
    url = normalize_base_url(state.settings.mistral.base_url)
    if mask_url(url) != url:
        raise UsageError("the Mistral base URL carries credentials, which a Job manifest must not hold",
                         hint="set MAGENT_MISTRAL_URL without them")
    return _Pods(key_secret, database_secret, flags.image or job.image or default_image(), namespace,
                 None if url == normalize_base_url(DEFAULT_MISTRAL_URL) else url,
                 _per_index(flags, submit=submit))


def _per_index(flags: JobFlags, *, submit: bool) -> bool | None:
    from magent.core.export_job import PER_INDEX_SINCE, parse_kube_version

    if flags.kube_version is None:
        return None if submit else True
    if submit:
        raise UsageError("--kube-version is for --emit-job", hint="--submit asks the server for its version")
    try:
        return parse_kube_version(flags.kube_version) >= PER_INDEX_SINCE
    except ValueError as exc:
        raise UsageError(f"--kube-version: {exc}", hint="e.g. --kube-version 1.28 (kubectl version)") from None


def _open_plan(store: Store, plan_id: int | None) -> PlanInfo:
    from magent.services.store.work_queue import open_plan

    with store.connection() as conn:
        plan = open_plan(conn, plan_id)
    if plan.status != "open":
        raise UsageError(f"export plan {plan.id} is {plan.status}: nothing left to export",
                         hint="make a new one with `magent conversations export --plan`")
    return plan


def _job_spec(state: AppState, plan: PlanInfo, pods: _Pods, flags: JobFlags, namespace: str, *,
              per_index: bool) -> JobSpec:
    from magent.core.export_job import JobSpec

    job = state.settings.export.job
    return JobSpec(plan_id=plan.id, shards=plan.shards,
                   parallelism=flags.parallelism or min(plan.shards, DEFAULT_PARALLELISM),
                   image=pods.image, namespace=namespace, key_secret=pods.key_secret,
                   database_secret=pods.database_secret, requests=job.requests.model_dump(),
                   limits=job.limits.model_dump(), service_account=job.service_account, per_index_backoff=per_index,
                   mistral_url=pods.mistral_url)


def _emit(state: AppState, spec: JobSpec, output: Any) -> None:
    from magent.cli.render import to_json
    from magent.cli.state import OutputFormat
    from magent.core.export_job import build_job, manifest_yaml

    manifest = build_job(spec)
    print(to_json(manifest) if state.output_format(output) is OutputFormat.json else manifest_yaml(manifest), end="")
    if state.output_format(output) is OutputFormat.json:
        print()


def _submit(state: AppState, store: Store, plan: PlanInfo, pods: _Pods, flags: JobFlags, output: Any) -> None:
    from magent.cli.cluster import open_cluster
    from magent.core.export_job import build_job, supports_per_index_backoff
    from magent.services.kube.jobs import server_version
    from magent.workflows.export.job import submit

    with open_cluster(state, pods.namespace, flags.context) as kube:
        spec = _job_spec(state, plan, pods, flags, kube.namespace,
                         per_index=supports_per_index_backoff(server_version(kube)))
        state.err.print(f"creating job {spec.name} (plan {plan.id}: {plan.shards} indexes, "
                        f"{min(spec.parallelism, plan.shards)} at once, image {spec.image}) in {kube.where()}",
                        highlight=False, markup=False)
        try:
            submit(kube, build_job(spec))
            last = _follow(state, kube, store, plan, spec.name, spec.namespace)
        except BaseException as exc:
            if not is_user_interrupt(exc):
                raise
            # Ctrl-C may come while the Job is being created (its pods may already run): say what is true
            raise _stopped(kube, spec.name, spec.namespace) from None
    _report(state, last, plan, output)


def _stopped(kube: Kube, name: str, namespace: str) -> Interrupted:
    from magent.services.kube.jobs import read_job

    stop = f"stop it with `kubectl delete job {name} -n {namespace}`"
    try:
        read_job(kube, name, namespace)
    except MagentError:  # gone, never created, or the cluster does not answer: nothing more to say for sure
        return Interrupted(f"interrupted while creating job {name} in namespace {namespace}",
                           hint=f"see whether it exists: `kubectl get job {name} -n {namespace}`; if so, {stop}")
    return Interrupted(f"stopped following; job {name} keeps running in namespace {namespace}",
                       hint=f"follow it with `kubectl get job {name} -n {namespace} -w`; {stop}")


def _follow(state: AppState, kube: Kube, store: Store, plan: PlanInfo, name: str, namespace: str) -> JobSnapshot:
    from magent.workflows.export.job import follow

    running = f"job {name} keeps running in namespace {namespace}"
    try:
        with _progress_view(state, plan.total) as on_tick:
            return follow(kube, store, plan.id, name, namespace, on_tick)
    except Unreachable as exc:
        watch = f"kubectl get job {name} -n {namespace} -w"
        raise type(exc)(exc.message, hint=f"{exc.hint or 'try again'}; meanwhile {running} (`{watch}`)") from exc


def _progress_view(state: AppState, total: int) -> Any:
    return _PlainProgress(state) if state.plain else _RichProgress(state, total)


def _rate_and_eta(snapshot: JobSnapshot, first: tuple[float, int]) -> tuple[float, float | None]:
    """Conversations settled per second since following began, and the seconds left at that rate."""
    elapsed, settled = snapshot.elapsed_s - first[0], snapshot.settled - first[1]
    rate = settled / elapsed if elapsed > 0 else 0.0
    left = snapshot.counts.total - snapshot.settled
    return rate, (left / rate if rate > 0 else None)


def _pods(snapshot: JobSnapshot) -> str:
    job = snapshot.job
    failed = f", {job.failed} failed" + (f" (indexes {job.failed_indexes})" if job.failed_indexes else "")
    return (f"{snapshot.totals.live_workers} workers live; pods {job.active} active, {job.succeeded} succeeded"
            f"{failed if job.failed else ''}")


class _PlainProgress:
    """A line on stderr at the first snapshot, then every few seconds, and at the end."""

    def __init__(self, state: AppState) -> None:
        self.state, self.last = state, 0.0
        self.first: tuple[float, int] | None = None

    def __call__(self, snapshot: JobSnapshot) -> None:
        self.first = self.first or (snapshot.elapsed_s, snapshot.settled)
        if snapshot.ended or not self.last or time.monotonic() - self.last >= _PLAIN_EVERY_S:
            self.last = time.monotonic()
            rate, eta = _rate_and_eta(snapshot, self.first)
            total = snapshot.counts.total
            percent = 100.0 * snapshot.settled / total if total else 100.0
            eta_text = f", ETA {eta:.0f} s" if eta is not None else ""
            self.state.err.print(f"{snapshot.name}: {snapshot.settled:,}/{total:,} conversations ({percent:.0f} %), "
                                 f"{rate:.1f}/s{eta_text}; {_pods(snapshot)}", highlight=False, markup=False)

    def __enter__(self) -> _PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class _RichProgress:
    """A live bar over the plan's rows, with rate, ETA, live workers and the Job's pods."""

    def __init__(self, state: AppState, total: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                                 TextColumn("{task.fields[rate]} ETA"), TimeRemainingColumn(),
                                 TextColumn("{task.fields[pods]}"), console=state.err, transient=False)
        self.task = self.progress.add_task("job", total=total, rate="", pods="waiting for pods…")
        self.first: tuple[float, int] | None = None

    def __call__(self, snapshot: JobSnapshot) -> None:
        self.first = self.first or (snapshot.elapsed_s, snapshot.settled)
        rate, _ = _rate_and_eta(snapshot, self.first)
        self.progress.update(self.task, completed=snapshot.settled, total=snapshot.counts.total,
                             rate=f"{rate:.1f}/s", pods=_pods(snapshot))

    def __enter__(self) -> _RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _report(state: AppState, last: JobSnapshot, plan: PlanInfo, output: Any) -> None:
    from magent.cli.render import emit, simple_table

    data = _summary_data(last, plan)
    emit(state, state.output_format(output), data, table=lambda: simple_table(
        f"Export job {last.name} (namespace {last.namespace})", ["", "value"],
        [(key.replace("_", " "), value) for key, value in data.items() if key not in ("job", "namespace")]))
    _judge(last, data)


def _summary_data(last: JobSnapshot, plan: PlanInfo) -> dict[str, Any]:
    counts, totals, job = last.counts, last.totals, last.job
    return {"job": last.name, "namespace": last.namespace, "plan_id": plan.id, "status": _status(last),
            "conversations": totals.conversations, "entries": totals.entries, "requests": totals.requests,
            "refused_429": totals.refused, "retries": totals.retries,
            "plan_rows": f"{last.settled}/{counts.total}", "failed": counts.failed, "gone": counts.gone,
            "left": counts.todo, "completed_indexes": job.completed_indexes or "-",
            "failed_indexes": job.failed_indexes or "-", "duration_s": round(last.elapsed_s, 1)}


def _status(last: JobSnapshot) -> str:
    if last.plan_status == "cancelled":
        return "cancelled"
    if last.job.failed_reason is not None:
        return "failed"
    return "succeeded" if last.counts.todo == 0 and last.counts.failed == 0 else "incomplete"


def _judge(last: JobSnapshot, data: dict[str, Any]) -> None:
    """Exit 1 unless the Job completed with every row of the plan exported."""
    name, namespace = last.name, last.namespace
    if data["status"] == "cancelled":
        raise CheckFailed(f"export plan {data['plan_id']} was cancelled while job {name} ran",
                          hint=f"remove the job: kubectl delete job {name} -n {namespace}")
    if data["status"] == "failed":
        indexes = f" (failed indexes {last.job.failed_indexes})" if last.job.failed_indexes else ""
        raise CheckFailed(f"job {name} failed: {last.job.failed_reason}{indexes}; "
                          f"{counted(last.counts.todo, 'conversation')} left to export",
                          hint=f"see why: kubectl logs job/{name} -n {namespace} (or -l "
                               f"batch.kubernetes.io/job-name={name}); the plan keeps its progress")
    if last.counts.todo:
        raise CheckFailed(f"job {name} completed with {counted(last.counts.todo, 'conversation')} of the plan left",
                          hint="finish them with `magent conversations export --worker`")
    if last.counts.failed:
        raise CheckFailed(f"{counted(last.counts.failed, 'conversation')} could not be exported",
                          hint="make a new plan (`magent conversations export --plan`): it retries only what is "
                               "missing")
