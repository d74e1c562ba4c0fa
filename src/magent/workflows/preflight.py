"""Run a checklist: every item's check side by side, each with its own timeout; manual items from attestations.

The engine never lets a check decide the run: an exception becomes `error` (why), a timeout becomes `error`
(after how long), an Unreachable marks the item so that the verdict can exit 3. Each check runs on a daemon
thread of its own: a hung check must neither hold the report nor keep the process alive after it (a
ThreadPoolExecutor's workers are joined at interpreter exit).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime

from magent.checks import CHECKS, CheckContext, load_builtin_checks
from magent.core.checklist import Checklist, PlacedItem
from magent.core.errors import MagentError, Unreachable
from magent.core.preflight import Attestation, CheckResult, ItemResult, PreflightReport, Status
from magent.core.redact import SECRETS
from magent.core.timeutil import human_duration, isoformat, utcnow

log = logging.getLogger(__name__)


@dataclass
class RunOptions:
    fail_on: str = "critical"
    require_attested: bool = False
    max_age_s: float = 90 * 86400
    only: Sequence[str] = ()
    skip: Sequence[str] = ()


def select_items(checklist: Checklist, only: Sequence[str], skip: Sequence[str]) -> list[PlacedItem]:
    """Items named by --only (all when empty) and not by --skip: by id, by section id, or by the dotted
    prefix of their ids (`k8s` selects k8s.probes, k8s.pdb, …)."""
    def named(placed: PlacedItem, names: Sequence[str]) -> bool:
        return any(_selects(name, placed) for name in names)

    return [placed for placed in checklist.items if (not only or named(placed, only)) and not named(placed, skip)]


def unknown_selectors(checklist: Checklist, names: Sequence[str]) -> list[str]:
    return [name for name in names if not any(_selects(name, placed) for placed in checklist.items)]


def _selects(name: str, placed: PlacedItem) -> bool:
    return name in (placed.item.id, placed.section.id) or placed.item.id.startswith(f"{name}.")


def run_preflight(
    checklist: Checklist,
    context: CheckContext,
    run: RunOptions,
    *,
    attestations: dict[str, Attestation] | None = None,
    on_result: Callable[[ItemResult], None] | None = None,
) -> PreflightReport:
    load_builtin_checks()
    began_at, clock = utcnow(), time.monotonic()
    placed_items = select_items(checklist, run.only, run.skip)
    try:
        started: dict[str, float] = {}  # when each check began: its timeout counts from there
        futures = {placed.item.id: _start(placed, context, started) for placed in placed_items
                   if not placed.item.manual}
        results = []
        for placed in placed_items:
            if placed.item.manual:
                result = _manual(placed, attestations, run, began_at)
            else:
                result = _collect(placed, futures[placed.item.id], started, context.options.timeout_s)
            results.append(result)
            if on_result:
                on_result(result)
    finally:
        context.shared.close()
    return PreflightReport(checklist, results, fail_on=run.fail_on, require_attested=run.require_attested,
                           started_at=isoformat(began_at), duration_s=time.monotonic() - clock)


def _start(placed: PlacedItem, context: CheckContext, started: dict[str, float]) -> Future:
    item_context = context.for_item(placed.item)
    check = CHECKS[placed.item.check]

    def timed() -> tuple[CheckResult, float, bool]:
        begun = time.monotonic()
        started[placed.item.id] = begun
        try:
            result, unreachable = check.run(item_context), False
        except Unreachable as exc:
            result, unreachable = CheckResult.errored(_why(exc)), True
        except MagentError as exc:
            result, unreachable = CheckResult.errored(_why(exc)), False
        except Exception as exc:  # noqa: BLE001 - a check's bug is an error of that item, not a crash of the run
            log.debug("check %s raised", placed.item.check, exc_info=True)
            result, unreachable = CheckResult.errored(f"check crashed: {type(exc).__name__}: {exc}"), False
        return _masked(result), time.monotonic() - begun, unreachable

    future: Future = Future()

    def work() -> None:
        future.set_running_or_notify_cancel()
        future.set_result(timed())  # timed() never raises

    threading.Thread(target=work, name=f"preflight {placed.item.id}", daemon=True).start()
    return future


def _collect(placed: PlacedItem, future: Future, started: dict[str, float], default_timeout: float) -> ItemResult:
    from concurrent.futures import TimeoutError as FutureTimeout

    timeout = placed.item.timeout or default_timeout
    while True:
        begun = started.get(placed.item.id)
        remaining = 0.05 if begun is None else timeout - (time.monotonic() - begun)
        try:
            result, duration, unreachable = future.result(timeout=max(0.0, remaining))
            return ItemResult(placed, result, duration, unreachable)
        except FutureTimeout:
            if begun is not None:
                return ItemResult(placed, CheckResult.errored(f"timed out after {timeout:g} s"), timeout,
                                  unreachable=True)


def _manual(placed: PlacedItem, attestations: dict[str, Attestation] | None, run: RunOptions,
            now: datetime) -> ItemResult:
    item = placed.item
    found = (attestations or {}).get(item.id)
    if found is None:
        why = "not attested" if attestations is not None else "not attested (no store configured)"
        return _manual_result(placed, f"{why}: run `magent preflight attest {item.id} --by NAME --note TEXT`", run)
    age = (now - found.attested_at).total_seconds()
    if found.item_hash != item.definition_hash():
        return _manual_result(placed, f"the attestation by {found.attested_by} is for an older definition of "
                                      f"this item: attest it again", run)
    if age > run.max_age_s:
        return _manual_result(placed, f"the attestation by {found.attested_by} ({_stamp(found.attested_at)}) "
                                      f"is older than --max-age {human_duration(run.max_age_s)}", run)
    note = f": {found.note}" if found.note else ""
    return ItemResult(placed, CheckResult.passed(
        f"attested by {found.attested_by} at {_stamp(found.attested_at)}{note}"))


def _manual_result(placed: PlacedItem, message: str, run: RunOptions) -> ItemResult:
    status: Status = "fail" if run.require_attested else "manual"
    return ItemResult(placed, CheckResult(status, message))


def _stamp(moment: datetime) -> str:
    return isoformat(moment.replace(microsecond=0))


def _why(exc: MagentError) -> str:
    return f"{exc.message} (hint: {exc.hint})" if exc.hint else exc.message


def _masked(result: CheckResult) -> CheckResult:
    """The planted-key rule: no secret this process knows reaches a report through a check's words."""
    from dataclasses import replace

    findings = tuple(replace(f, message=SECRETS.mask(f.message)) for f in result.findings)
    return CheckResult(result.status, SECRETS.mask(result.message), findings)
