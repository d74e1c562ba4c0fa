"""`conversations export --submit`: create the plan's Indexed Job and follow it until it ends.

Progress is read where it is true: the work table (rows settled of the plan's total, and the workers' counts)
and the Job's status (pods active, indexes completed or failed). The follow ends when the Job ends (Complete
or Failed), or when the plan is closed (cancelled) under it; the caller judges the last snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from magent.core.export_job import JobState, job_state
from magent.services.kube import jobs
from magent.services.store import work_queue

if TYPE_CHECKING:
    from magent.services.kube.client import Kube
    from magent.services.store import Store

POLL_S = 1.0


@dataclass(frozen=True)
class JobSnapshot:
    name: str
    namespace: str
    counts: work_queue.WorkCounts
    totals: work_queue.WorkerTotals
    job: JobState
    plan_status: str
    elapsed_s: float

    @property
    def settled(self) -> int:
        return self.counts.done + self.counts.failed + self.counts.gone

    @property
    def ended(self) -> bool:
        return self.job.finished or self.plan_status == "cancelled"


def submit(kube: Kube, manifest: dict[str, Any]) -> dict[str, Any]:
    return jobs.create_job(kube, manifest)


def follow(kube: Kube, store: Store, plan_id: int, name: str, namespace: str,
           on_tick: Callable[[JobSnapshot], None], *, poll_s: float = POLL_S,
           sleep: Callable[[float], None] = time.sleep) -> JobSnapshot:
    """Snapshots every `poll_s` to `on_tick` until the Job ends (or the plan is cancelled); the last one."""
    import psycopg

    from magent.services.store import connect_error

    started = time.monotonic()
    try:
        with store.connection(autocommit=True) as conn:
            while True:
                snapshot = JobSnapshot(
                    name=name, namespace=namespace, counts=work_queue.work_counts(conn, plan_id),
                    totals=work_queue.worker_totals(conn, plan_id),
                    job=job_state(jobs.read_job(kube, name, namespace)),
                    plan_status=work_queue.plan_status(conn, plan_id), elapsed_s=time.monotonic() - started)
                on_tick(snapshot)
                if snapshot.ended:
                    return snapshot
                sleep(poll_s)
    except psycopg.OperationalError as exc:  # the connection was lost while following (hours, on a laptop)
        raise connect_error(store.host, exc) from exc
