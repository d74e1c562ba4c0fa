"""`conversations export --plan`: the conversations to export, listed into the store's work table by shard.

The selection is the export's (`runner._Run._wanted`): updated since `--since`, changed since their checkpoint
unless `--full`, each listed once. The agents are written as by an export run. The plan gets an `export_runs`
row, finished by the worker that drains the plan, so the checkpoints its workers write belong to a run as an
export's do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from magent.core.export_plan import ExportBatch, agent_row, parse_time
from magent.services.mistral.conversations import ConversationSource

if TYPE_CHECKING:
    from psycopg import Connection

    from magent.services.store import Store


@dataclass(frozen=True)
class PlanSummary:
    plan_id: int
    target: str
    shards: list[int]  # conversations per shard
    agents: int
    listed: int
    skipped: int  # unchanged since their checkpoint, or updated before --since
    since: datetime | None
    full: bool
    requests: int
    duration_s: float

    @property
    def total(self) -> int:
        return sum(self.shards)


def make_plan(store: Store, source: ConversationSource, *, shards: int, since: datetime | None, full: bool,
              redact_content: bool) -> PlanSummary:
    """List what an export would fetch into a new plan of `shards` shards; see the module docstring."""
    import time

    from magent.services.store import work_queue
    from magent.services.store.checkpoints import RunCounts, begin_run, finish_run, take_export_lock
    from magent.services.store.writer import write_batch

    started = time.monotonic()
    with store.connection(autocommit=True) as session, store.connection(autocommit=True) as reader:
        take_export_lock(session)  # no export, plan nor worker while the listing is read against the checkpoints
        work_queue.ensure_no_open_plan(session)
        agents = source.agents()
        with session.transaction():
            write_batch(session, ExportBatch(agents=[agent_row(a, redact=redact_content) for a in agents]))
        listing = _Listing(source, reader, since, full)
        with session.transaction():
            run_id = begin_run(session, since)
            plan = work_queue.create_plan(session, shards=shards, since=since, full_export=full,
                                          redact_content=redact_content, conversations=listing.wanted(),
                                          run_id=run_id)
            session.execute("UPDATE export_plans SET high_water = %s WHERE id = %s", (listing.high_water, plan.id))
            if plan.total == 0:  # nothing changed: the plan is done as made, as an export with nothing to do is
                work_queue.finish_plan_if_drained(session, plan.id)
                finish_run(session, run_id, "succeeded",
                           RunCounts(len(agents), 0, 0, listing.skipped, 0), listing.high_water)
        per_shard = work_queue.shard_totals(session, plan.id)
    return PlanSummary(plan_id=plan.id, target=store.description, shards=per_shard, agents=len(agents),
                       listed=listing.listed, skipped=listing.skipped, since=since, full=full,
                       requests=source.pacing.requests, duration_s=time.monotonic() - started)


class _Listing:
    """The conversations to export, page by page, as `run_export` selects them."""

    def __init__(self, source: ConversationSource, reader: Connection, since: datetime | None, full: bool) -> None:
        self.source, self.reader, self.since, self.full = source, reader, since, full
        self.listed = self.skipped = 0
        self.high_water: datetime | None = None
        self._seen: set[str] = set()

    def wanted(self) -> Iterator[dict[str, Any]]:
        from magent.services.store.checkpoints import checkpoints_for

        for page in self.source.conversation_pages():
            # a conversation updated while we page moves to the first page: list it once
            page = [c for c in page if c["id"] not in self._seen]
            self._seen.update(c["id"] for c in page)
            self.listed += len(page)
            stamps = {c["id"]: parse_time(c.get("updated_at")) for c in page}
            for stamp in stamps.values():
                if stamp is not None and (self.high_water is None or stamp > self.high_water):
                    self.high_water = stamp
            chosen = [c for c in page if _not_before(stamps[c["id"]], self.since)]
            if not self.full and chosen:
                known = checkpoints_for(self.reader, (c["id"] for c in chosen))
                chosen = [c for c in chosen if c["id"] not in known or known[c["id"]] != stamps[c["id"]]]
            self.skipped += len(page) - len(chosen)
            yield from chosen


def _not_before(stamp: datetime | None, since: datetime | None) -> bool:
    return since is None or stamp is None or stamp >= since
