"""The queries behind `magent usage report`: token sums per group, read from the store.

Whole UTC days come from a rollup: `usage_daily` (a few rows per day, whatever the number of entries), or
`usage_conversation_daily` (about a row per conversation and day) when the report groups by conversation;
the partial days at the edges of a window (or, when the window holds more than half of such a day, the
part of it outside the window, subtracted from its rollup row) come from `conversation_entries` through its
`created_at` index. All use the one definition of a model output that the rollups are built with
(`rollup.AGGREGATE_SQL`): entries of type `message.output` or `function.call`, prompt tokens = `prompt_tokens`,
completion tokens = `token_count`.

Every value reaches Postgres as a query parameter; the only SQL text composed here is fixed column
expressions chosen from a whitelist by dimension name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from magent.core.cost import DIMENSIONS, UsageRow, WindowPlan
from magent.core.timeutil import isoformat
from magent.services.store.rollup import BY_CONVERSATION, DAILY, OUTPUT_TYPES, Rollup

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg.sql import Composable, Composed

# dimension → (result column, column of the rollups, expression on entries)
_COLUMNS: dict[str, tuple[str, str, str]] = {
    "model": ("model", "model", "coalesce(model, '')"),
    "agent": ("agent_id", "agent_id", "coalesce(agent_id, '')"),
    "day": ("day", "day", "(created_at AT TIME ZONE 'UTC')::date"),
    "conversation": ("conversation_id", "conversation_id", "conversation_id"),
}
_SUMS_ROLLUP = "sum(prompt_tokens), sum(completion_tokens), sum(outputs), sum(estimated_outputs)"
_SUMS_ENTRIES = (
    "coalesce(sum(prompt_tokens), 0)", "coalesce(sum(token_count), 0)", "count(*)",
    "count(*) FILTER (WHERE token_count_method = 'estimated')",
)
_MEASURES = ("prompt_tokens", "completion_tokens", "outputs", "estimated_outputs")


@dataclass(frozen=True)
class UsageData:
    """What the report needs from the store, as plain data."""

    rows: list[UsageRow]
    agent_names: dict[str, str] = field(default_factory=dict)
    conversation_names: dict[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()  # which table answered which part of the window, for the report
    store_has_entries: bool = True


def query_grain(by: Sequence[str]) -> tuple[str, ...]:
    """The dimensions to group by in SQL: those asked for, plus model (to price) and day (for the chart)."""
    unknown = [dim for dim in by if dim not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown dimensions {unknown}")
    return tuple(dict.fromkeys([*by, "model", "day"]))


def fetch_usage(conn: Connection, by: Sequence[str], plan: WindowPlan, *, use_rollup: bool = True) -> UsageData:
    """Token sums over `plan`'s window at the grain of `by` (+ model, day); names of agents/conversations."""
    grain = query_grain(by)
    segments, params, sources = _segments(grain, plan, use_rollup)
    rows = _run_grouped(conn, grain, segments, params)
    agent_ids = sorted({str(row.dims["agent"]) for row in rows if row.dims.get("agent")})
    conversation_ids = sorted({str(row.dims["conversation"]) for row in rows if row.dims.get("conversation")})
    return UsageData(
        rows=rows,
        agent_names=_names(conn, "agents", agent_ids),
        conversation_names=_names(conn, "conversations", conversation_ids),
        sources=tuple(sources),
        store_has_entries=bool(rows) or has_entries(conn),
    )


def _segments(
    grain: Sequence[str], plan: WindowPlan, use_rollup: bool, *, stored_rows: bool = False
) -> tuple[list[Composable], list[Any], list[str]]:
    segments: list[Composable] = []
    params: list[Any] = []
    sources: list[str] = []
    if not use_rollup:
        segments.append(_entries_segment(grain, plan.since, plan.until, params))
        sources.append(f"conversation_entries {_span(plan.since, plan.until)}")
        return segments, params, sources
    if plan.rollup_days is not None:
        first, end = plan.rollup_days
        rollup = rollup_of(grain)
        segments.append(_rollup_segment(grain, rollup, first, end, params,
                                        grouped=not (stored_rows and not plan.entry_spans)))
        sources.append(f"{rollup.table} (whole UTC days) {first.isoformat()} → {end.isoformat() if end else 'now'}")
    for span in plan.entry_spans:
        segments.append(_entries_segment(grain, span.start, span.end, params, sign=span.sign))
        role = "partial day" if span.sign > 0 else "subtracted from its rollup day"
        sources.append(f"conversation_entries ({role}) {_span(span.start, span.end)}")
    return segments, params, sources


def rollup_of(grain: Sequence[str]) -> Rollup:
    """The smallest rollup that keeps every dimension of `grain`."""
    return BY_CONVERSATION if "conversation" in grain else DAILY


def _rollup_segment(grain: Sequence[str], rollup: Rollup, first: date, end: date | None, params: list[Any], *,
                    grouped: bool = True) -> Composable:
    from psycopg import sql

    where = "day >= %s" + ("" if end is None else " AND day < %s")
    params.extend([first] if end is None else [first, end])
    exprs = [f"{_COLUMNS[dim][1]} AS {_COLUMNS[dim][0]}" for dim in grain]
    if not grouped:
        return sql.SQL(  # noqa: S608 - fixed expressions from _COLUMNS; values are parameters
            f"SELECT {', '.join(exprs)}, {', '.join(_MEASURES)} FROM {rollup.table} WHERE {where}")
    # In the order of the rollup's primary key (day first): the server can then group in one ordered pass
    # over the index instead of hashing every group (`usage_priced` prefers that for a report of many groups).
    positions = sorted(range(len(grain)), key=lambda n: rollup.keys.index(_COLUMNS[grain[n]][1]))
    return sql.SQL(  # noqa: S608 - fixed expressions from _COLUMNS; values are parameters
        f"SELECT {', '.join(exprs)}, {_SUMS_ROLLUP} FROM {rollup.table} WHERE {where} "
        f"GROUP BY {', '.join(str(n + 1) for n in positions)}"
    )


def _entries_segment(grain: Sequence[str], start: datetime, end: datetime | None, params: list[Any], *,
                     sign: int = 1) -> Composable:
    from psycopg import sql

    assert sign in (1, -1)
    where = "type = ANY(%s) AND created_at >= %s" + ("" if end is None else " AND created_at < %s")
    params.extend([list(OUTPUT_TYPES), start] + ([] if end is None else [end]))
    exprs = [f"{_COLUMNS[dim][2]} AS {_COLUMNS[dim][0]}" for dim in grain]
    sums = ", ".join(f"{sign} * {term}" for term in _SUMS_ENTRIES)
    return sql.SQL(  # noqa: S608 - fixed expressions from _COLUMNS; values are parameters
        f"SELECT {', '.join(exprs)}, {sums} FROM conversation_entries WHERE {where} "
        f"GROUP BY {', '.join(str(n + 1) for n in range(len(grain)))}"
    )


def grouped_query(grain: Sequence[str], plan: WindowPlan, *, use_rollup: bool = True, stored_rows: bool = False
                  ) -> tuple[Composed, list[Any], tuple[str, ...]]:
    """The query of token sums at `grain` over `plan`'s window, its parameters, and where it reads from.

    Its columns are the grain's result columns (`column_name(dim)`), then prompt_tokens, completion_tokens,
    outputs, estimated_outputs. `stored_rows`: a window of whole days only gives the rollup's rows as they
    are (several rows a group of `grain`, all positive), for a caller that sums them anyway: grouping
    ~500 k rows twice was a third of a report by conversation.
    """
    segments, params, sources = _segments(grain, plan, use_rollup, stored_rows=stored_rows)
    return _grouped(grain, segments), params, tuple(sources)


def column_name(dim: str) -> str:
    return _COLUMNS[dim][0]


def _run_grouped(
    conn: Connection, grain: Sequence[str], segments: list[Composable], params: list[Any]
) -> list[UsageRow]:
    rows = []
    for record in conn.execute(_grouped(grain, segments), params).fetchall():
        dims = dict(zip(grain, record[: len(grain)], strict=True))
        prompt, completion, outputs, estimated = (int(v) for v in record[len(grain):])
        rows.append(UsageRow(dims, prompt, completion, outputs, estimated))
    return rows


def _grouped(grain: Sequence[str], segments: list[Composable]) -> Composed:
    from psycopg import sql

    names = [_COLUMNS[dim][0] for dim in grain]
    if len(segments) == 1:  # already grouped at the grain, and all positive: no second aggregation to pay for
        return sql.SQL("SELECT {names}, {measures} FROM ({segment}) AS s({columns})").format(
            names=sql.SQL(", ").join(map(sql.Identifier, names)),
            measures=sql.SQL(", ".join(f"{m}::bigint AS {m}" for m in _MEASURES)),
            segment=segments[0],
            columns=sql.SQL(", ").join(map(sql.Identifier, [*names, *_MEASURES])),
        )
    measures = ", ".join(f"sum({m})::bigint AS {m}" for m in _MEASURES)
    inner = sql.SQL(" UNION ALL ").join(
        sql.SQL("({})").format(segment) for segment in segments
    )
    # HAVING: a group whose outputs all lie in a span subtracted from its rollup day nets to nothing.
    return sql.SQL(
        "SELECT {names}, {measures} FROM ({inner}) AS s({columns}) GROUP BY {names} HAVING sum(outputs) <> 0"
    ).format(
        names=sql.SQL(", ").join(map(sql.Identifier, names)),
        measures=sql.SQL(measures),
        inner=inner,
        columns=sql.SQL(", ").join(map(sql.Identifier, [*names, *_MEASURES])),
    )


def _names(conn: Connection, table: str, ids: list[str]) -> dict[str, str]:
    from psycopg import sql

    if not ids:
        return {}
    query = sql.SQL("SELECT id, name FROM {} WHERE id = ANY(%s) AND name IS NOT NULL AND name <> ''").format(
        sql.Identifier(table)
    )
    return dict(conn.execute(query, (ids,)).fetchall())


def has_entries(conn: Connection) -> bool:
    return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM conversation_entries)").fetchone()[0])


def _span(start: datetime, end: datetime | None) -> str:
    return f"{isoformat(start)} → {isoformat(end) if end else 'now'}"


def fetch_hourly_usage(conn: Connection, since: datetime, until: datetime | None) -> list[UsageRow]:
    """Token sums per model and UTC hour of the model outputs in [since, until), from the entries.

    Rows carry dims model, day and hour (a datetime at the start of the hour), for `price_usage(…, by=("model",
    "hour"))`. The rollup is daily, so hours are always read from `conversation_entries` (its created_at index).
    """
    where = "type = ANY(%s) AND created_at >= %s" + ("" if until is None else " AND created_at < %s")
    params: list[Any] = [list(OUTPUT_TYPES), since] + ([] if until is None else [until])
    hour = "date_trunc('hour', created_at AT TIME ZONE 'UTC')"
    query = (  # noqa: S608 - fixed expressions; values are parameters
        f"SELECT coalesce(model, ''), {hour} AS hour, {', '.join(_SUMS_ENTRIES)} FROM conversation_entries "
        f"WHERE {where} GROUP BY 1, 2 ORDER BY 2, 1"
    )
    rows = []
    for model, start, prompt, completion, outputs, estimated in conn.execute(query, params).fetchall():
        start = start.replace(tzinfo=UTC)
        rows.append(UsageRow({"model": model, "day": start.date(), "hour": start}, int(prompt), int(completion),
                             int(outputs), int(estimated)))
    return rows
