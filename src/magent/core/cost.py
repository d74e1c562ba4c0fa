"""The cost model of `magent usage report`: token rows in, cost per group out. Pure: no I/O.

A conversation re-sends its context on every turn. For each model output (an entry of type
`message.output` or `function.call`), its prompt tokens are the tokens of everything before it in the
conversation, and its completion tokens are the output's own tokens. The store sums both per group;
this module prices them:

    cost = prompt_tokens × input price / 1e6 + completion_tokens × output price / 1e6   (USD, exact decimals)

A model without a price keeps its tokens and gets no cost (None), never a cost of zero. A group that mixes
priced and unpriced models shows the priced part as its cost and is marked "partial".

The report window is half-open, [since, until). The store keeps a daily rollup per whole UTC day, so
`plan_window` splits a window into whole days (read from the rollup) and the partial days at its edges,
read from the entries themselves (at most 12 hours of entries per edge): exact for any window, and fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from magent.core.errors import UsageError
from magent.core.pricing import TOKENS_PER_PRICE_UNIT, PriceMatch, PricingTable
from magent.core.timeutil import isoformat, parse_instant

COST_MODEL = (
    "a conversation re-sends its context on every turn: for each model output, prompt tokens = tokens of "
    "everything before it; completion tokens = the output's tokens"
)
DIMENSIONS = ("model", "agent", "day", "conversation")
DEFAULT_DAYS = 30

PRICED, PARTIAL, UNPRICED = "priced", "partial", "unpriced"

Key = tuple[str | date, ...]


# --- what the user asked for ------------------------------------------------------------------------


def parse_dimensions(values: Sequence[str] | None, default: Sequence[str] = ("model",)) -> tuple[str, ...]:
    """`--by` values, repeatable and/or comma-separated, in order, without duplicates."""
    wanted = [part.strip().lower() for value in values or () for part in value.split(",") if part.strip()]
    for dim in wanted:
        if dim not in DIMENSIONS:
            raise UsageError(f"unknown --by value {dim!r}", hint=f"choose from {', '.join(DIMENSIONS)}")
    return tuple(dict.fromkeys(wanted)) or tuple(default)


def parse_window(since: str | None, until: str | None, now: datetime) -> tuple[datetime, datetime | None]:
    """--since/--until (ISO 8601 or an age like 7d) → [since, until); until None means up to now."""
    start = _instant("--since", since, now) if since else default_since(now)
    end = _instant("--until", until, now) if until else None
    if start > now:
        raise UsageError(f"--since {isoformat(start)} is in the future", hint="give a past time or an age like 7d")
    if end is not None and end <= start:
        given = "--since" if since else f"the default --since ({DEFAULT_DAYS} UTC days)"
        raise UsageError(f"--until {isoformat(end)} is not after {given} {isoformat(start)}",
                         hint="the window is [--since, --until): --until must be later")
    return start, end


def _instant(flag: str, text: str, now: datetime) -> datetime:
    try:
        return parse_instant(text, now=now)
    except (ValueError, OverflowError) as exc:
        raise UsageError(f"{flag}: {exc}",
                         hint="use ISO 8601 (2026-11-01, 2026-11-01T12:00Z) or an age (7d, 12h)") from None


# --- the window --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntrySpan:
    """A span [start, end) of the entries to add (sign 1) or to subtract from a rollup day (sign -1)."""

    start: datetime
    end: datetime
    sign: int = 1


@dataclass(frozen=True)
class WindowPlan:
    """Where to read a window [since, until) from: whole UTC days from the rollup, partial days from entries."""

    since: datetime
    until: datetime | None  # None: open-ended (up to now and beyond)
    rollup_days: tuple[date, date | None] | None  # [first, end) whole days, end None = open
    entry_spans: tuple[EntrySpan, ...]  # at the edges; their signed sum corrects the rollup days


HALF_DAY = timedelta(hours=12)
_DAY = timedelta(days=1)


def start_of_day(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime.combine(moment.date(), time(), tzinfo=UTC)


def default_since(now: datetime, days: int = DEFAULT_DAYS) -> datetime:
    """The start of the UTC day `days - 1` days before today: `days` whole UTC days, today included."""
    return start_of_day(now) - timedelta(days=days - 1)


def plan_window(since: datetime, until: datetime | None) -> WindowPlan:
    """Split [since, until) into rollup days and signed entry spans, reading at most 12 h of entries per edge.

    Days the window covers whole come from the rollup. A partial day at an edge is read from the entries
    when the window holds at most half of it; otherwise its rollup row is used and the part outside the
    window is subtracted (read from the entries), which is the smaller read.
    """
    first = start_of_day(since)
    end = None if until is None else start_of_day(until) + (_DAY if start_of_day(until) < until else timedelta(0))
    partial = {first} if since > first else set()
    if until is not None and end is not None and until < end:
        partial.add(end - _DAY)
    spans: list[EntrySpan] = []
    direct: set[datetime] = set()
    for day in sorted(partial):
        inside_start, inside_end = max(since, day), day + _DAY if until is None else min(until, day + _DAY)
        if inside_end - inside_start <= HALF_DAY:
            spans.append(EntrySpan(inside_start, inside_end))
            direct.add(day)
            continue
        if inside_start > day:
            spans.append(EntrySpan(day, inside_start, -1))
        if inside_end < day + _DAY:
            spans.append(EntrySpan(inside_end, day + _DAY, -1))
    low = first + _DAY if first in direct else first
    high = end - _DAY if end is not None and end - _DAY in direct else end
    rollup = (low.date(), None if high is None else high.date()) if high is None or low < high else None
    return WindowPlan(since, until, rollup, tuple(spans))


# --- rows in, costs out ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageRow:
    """One group of model outputs as the store sums them; `dims` always holds 'model' and 'day'."""

    dims: Mapping[str, str | date]
    prompt_tokens: int
    completion_tokens: int
    outputs: int
    estimated_outputs: int


@dataclass
class CostLine:
    """Tokens and cost of one group (or of the totals, with an empty key)."""

    key: Key
    outputs: int = 0
    estimated_outputs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    input_cost: Decimal = Decimal(0)
    output_cost: Decimal = Decimal(0)
    unpriced_prompt_tokens: int = 0
    unpriced_completion_tokens: int = 0
    priced_models: set[str] = field(default_factory=set)
    unpriced_models: set[str] = field(default_factory=set)
    names: Mapping[str, str] = field(default_factory=dict)  # dimension → name of the key's agent/conversation

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def counted_outputs(self) -> int:
        return self.outputs - self.estimated_outputs

    @property
    def status(self) -> str:
        if self.unpriced_models:
            return PARTIAL if self.priced_models else UNPRICED
        return PRICED

    @property
    def cost(self) -> Decimal | None:
        """USD; None when nothing in the group has a price (for 'partial', the priced part only)."""
        if self.status == UNPRICED:
            return None
        return self.input_cost + self.output_cost

    def add(self, row: UsageRow, match: PriceMatch | None) -> None:
        model = str(row.dims["model"])
        self.outputs += row.outputs
        self.estimated_outputs += row.estimated_outputs
        self.prompt_tokens += row.prompt_tokens
        self.completion_tokens += row.completion_tokens
        if match is None:
            self.unpriced_models.add(model)
            self.unpriced_prompt_tokens += row.prompt_tokens
            self.unpriced_completion_tokens += row.completion_tokens
            return
        self.priced_models.add(model)
        self.input_cost += Decimal(row.prompt_tokens) * match.price.input / TOKENS_PER_PRICE_UNIT
        self.output_cost += Decimal(row.completion_tokens) * match.price.output / TOKENS_PER_PRICE_UNIT


@dataclass
class CostReport:
    """Every group of the report, the totals, cost per day, and the prices that were applied."""

    by: tuple[str, ...]
    lines: Iterable[CostLine]  # sorted by key; a stream (read once) when the store prices the report itself
    total: CostLine
    daily: list[CostLine]  # key = (day,), one line per day that has usage
    prices_used: dict[str, PriceMatch]  # model name as stored → how it was priced
    unpriced_models: list[str]

    @property
    def is_empty(self) -> bool:
        return self.total.outputs == 0


def price_usage(rows: Iterable[UsageRow], table: PricingTable, by: Sequence[str]) -> CostReport:
    """Group `rows` by the dimensions `by` (in that order) and price each group with `table`."""
    groups: dict[Key, CostLine] = {}
    days: dict[Key, CostLine] = {}
    total = CostLine(())
    matches: dict[str, PriceMatch | None] = {}
    for row in rows:
        model = str(row.dims["model"])
        if model not in matches:
            matches[model] = table.lookup(model)
        match = matches[model]
        key = tuple(row.dims[dim] for dim in by)
        groups.setdefault(key, CostLine(key)).add(row, match)
        day_key = (row.dims["day"],)
        days.setdefault(day_key, CostLine(day_key)).add(row, match)
        total.add(row, match)
    return CostReport(
        by=tuple(by),
        lines=[groups[key] for key in sorted(groups, key=sort_key)],
        total=total,
        daily=[days[key] for key in sorted(days, key=sort_key)],
        prices_used={model: match for model, match in sorted(matches.items()) if match is not None},
        unpriced_models=sorted(model for model, match in matches.items() if match is None),
    )


def fill_days(daily: Sequence[CostLine], first: date, last: date) -> list[CostLine]:
    """One line per day from `first` to `last`: days without usage get an empty (zero-cost) line."""
    known = {line.key[0]: line for line in daily}
    count = (last - first).days + 1
    return [known.get(first + timedelta(days=n)) or CostLine((first + timedelta(days=n),)) for n in range(count)]


def sort_key(key: Key) -> tuple[tuple[int, str], ...]:
    # Days in calendar order, names alphabetically; '' (unknown model/agent) sorts first.
    return tuple((0, value.isoformat()) if isinstance(value, date) else (1, value) for value in key)
