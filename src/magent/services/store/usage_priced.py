"""`magent usage report` priced by Postgres and streamed: memory independent of the number of groups.

The store sums tokens at the grain of `--by` + model + day (`usage.grouped_query`, the same query
`fetch_usage` runs), joins the price table (sent as arrays, one row per model name and alias) and sums
costs per group and model, per day and in total, in one statement read through a server-side cursor: the
totals and the days come first (a few rows), then the groups, in the report's order, as the caller consumes
them; the few models of a group are folded into its line here as they pass.

Same figures as `core.cost.price_usage` over `fetch_usage`'s rows (tested against it): costs are exact
decimals (tokens × price × 0.000001 in `numeric`, never a division), a model without a price keeps its
tokens and adds no cost, and a group mixing both is "partial".

With `lines=` the groups come folded and formatted by Postgres (`usage_lines`): CSV, JSON and YAML a row a
group, from a second statement streamed a batch ahead (`prefetch`), read in the same snapshot as the totals;
a table's lines in texts of many lines, after the totals, in the one statement (its widths need every group).
The CLI copies them out instead of building a line per group. The groups then read the rollup's rows once,
at the grain of `--by` + model (not day), each row priced as it passes with bigint costs where they fit
(`usage_priced_sql.priced_units`); the totals and days read the daily rollup (a few rows a day) instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from magent.core.cost import CostLine, CostReport, WindowPlan
from magent.core.pricing import PricingTable
from magent.services.store.prefetch import prefetched_texts
from magent.services.store.usage import UsageData, has_entries
from magent.services.store.usage_lines import (
    CELLS_MARK,
    CSV,
    JSON,
    JSON_ROW_SEPARATOR,
    YAML,
    TableBox,
)
from magent.services.store.usage_priced_sql import (
    DAILY,
    GROUPS,
    NAMED,
    TOTALS,
    layout_of,
    price_arrays,
    statement,
    streamed_statement,
)

if TYPE_CHECKING:
    from psycopg import Connection

STREAMED = (CSV, JSON, YAML)  # formats whose groups stream a row each (`usage_lines.streamed_lines_query`)
FETCH_ROWS = 5_000  # rows per round trip of the server-side cursor
FETCH_LINES = 10  # texts of usage_lines.CHUNK_LINES lines each: ~20 k lines a round trip
WORK_MEM = "256MB"


@dataclass
class PricedUsage:
    """The report with its groups still streaming from the store, and the widest label of each named dim."""

    report: CostReport
    data: UsageData
    label_widths: dict[str, int] = field(default_factory=dict)
    # with `lines=`: the groups as Postgres formatted them (`usage_lines`), `report.lines` then being empty:
    # a str is a whole line to print; a tuple, a table row's cells for Rich to draw
    formatted: Iterator[str | tuple[str, ...] | dict[str, Any]] = field(default_factory=lambda: iter(()))


@contextmanager
def priced_usage(conn: Connection, by: Sequence[str], plan: WindowPlan, table: PricingTable, *,
                 use_rollup: bool = True, label_widths: bool = False,
                 lines: TableBox | str | None = None) -> Iterator[PricedUsage]:
    """The report of `by` over `plan`'s window priced with `table`; its `lines` stream while the block runs.

    `label_widths`: also measure the widest agent/conversation label (for a table drawn in pieces).
    `lines`: "csv", "json", "yaml" or a table's box: the groups come formatted, as `formatted` (see `usage_lines`).
    """
    by = tuple(by)
    layout = layout_of(by)
    columns = _Columns(by, layout)
    streamed = lines in STREAMED
    query, params, sources = statement(by, layout, plan, table, use_rollup, label_widths, lines)
    from psycopg.pq import TransactionStatus

    fresh = conn.info.transaction_status == TransactionStatus.IDLE  # else a savepoint of the caller's transaction
    with conn.transaction(), ExitStack() as cursors:
        cursor = cursors.enter_context(conn.cursor(name="magent_usage_report"))
        set_up_transaction(conn, lines, one_snapshot=streamed and fresh)
        cursor.itersize = FETCH_ROWS if lines is None else FETCH_LINES
        cursor.execute(query, [*price_arrays(table), *params])
        records = iter(cursor)
        pending: list[Sequence[Any]] = []
        total = next(_fold(records, lambda record: (), columns, TOTALS, pending), CostLine(()))
        daily = list(_fold(records, lambda record: (record[columns.day],), columns, DAILY, pending))
        widths = _widths(pending[0] if pending else None, columns) if label_widths else {}
        formatted: Iterator[str | tuple[str, ...] | dict[str, Any]] | None = None
        if streamed:
            body, body_params = streamed_statement(by, plan, table, use_rollup, str(lines))
            groups_cursor = cursors.enter_context(conn.cursor(name="magent_usage_groups"))
            groups_cursor.execute(body, [*price_arrays(table), *body_params])
            texts = prefetched_texts(groups_cursor, JSON_ROW_SEPARATOR if lines == JSON else "")
            formatted = _split_cells(texts) if lines == YAML else texts
        elif lines is not None:
            formatted = _split_cells(_line_texts(records, columns, pending))
        report = CostReport(
            by=by,
            lines=(_fold(records, lambda record: tuple(record[at] for at in columns.key), columns, GROUPS, pending)
                   if formatted is None else iter(())),
            total=total,
            daily=daily,
            prices_used={model: match for model in sorted(total.priced_models)
                         if (match := table.lookup(model)) is not None},
            unpriced_models=sorted(total.unpriced_models),
        )
        data = UsageData(rows=[], sources=sources, store_has_entries=not report.is_empty or has_entries(conn))
        yield PricedUsage(report, data, widths, *(() if formatted is None else (formatted,)))


def set_up_transaction(conn: Connection, lines: TableBox | str | None, *, one_snapshot: bool) -> None:
    """The statements' settings, local to the report's transaction."""
    if one_snapshot:  # the totals and the groups are then two statements: one snapshot for both
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    # Room for the server to hash-aggregate a few hundred thousand groups in memory instead of on disk
    # (the default 4 MB spills at ~50 k groups); local to this transaction, and the server's memory, not ours.
    conn.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
    if lines is not None:
        # The planner cannot count the groups of the materialised CTE (it guesses 200) and would look each
        # group's name up by index, one at a time: a hash join is ~10× faster at 100 k groups. And grouping
        # in order (the rollup's index, then sorts) beats hashing ~500 k groups of numeric sums by ~1.7×.
        conn.execute("SET LOCAL enable_nestloop = off")
        conn.execute("SET LOCAL enable_hashagg = off")
        conn.execute("SET LOCAL DateStyle = 'ISO'")  # a date's text is then YYYY-MM-DD (`usage_values.day`)


# --- records → lines ---------------------------------------------------------------------------------


class _Columns:
    """Positions of the result columns of `usage_priced_sql._report_query`."""

    def __init__(self, by: tuple[str, ...], layout: list[str]) -> None:
        self.key = [1 + layout.index(dim) for dim in by]
        self.day = 1 + layout.index("day")
        first_name = 1 + len(layout)
        self.names = {dim: first_name + n for n, dim in enumerate(NAMED) if dim in by}
        self.measures = first_name + len(NAMED)
        self.widths = {dim: self.measures + 8 + n for n, dim in enumerate(NAMED)}
        self.line = self.measures + 8 + len(NAMED) + 1  # after rn
        self.cells = self.line + 1


def _fold(records: Iterator[Sequence[Any]], key_of: Callable[[Sequence[Any]], tuple], columns: _Columns,
          level: int, pending: list[Sequence[Any]]) -> Iterator[CostLine]:
    """Lines of `level` from its (group, model) records; the first record past the level is left in `pending`."""
    line: CostLine | None = None
    for record in _chain(pending, records):
        if record[0] != level:
            pending.append(record)
            break
        key = key_of(record)
        if line is None or line.key != key:
            if line is not None:
                yield line
            names = {dim: record[at] for dim, at in columns.names.items() if record[at] is not None}
            line = CostLine(key, names=names)
        _add(line, record[columns.measures:columns.measures + 8])
    if line is not None:
        yield line


def _line_texts(records: Iterator[Sequence[Any]], columns: _Columns, pending: list[Sequence[Any]]) -> Iterator[str]:
    """The texts of CHUNK_LINES lines of a table's groups level."""
    line_at = columns.line
    for record in _chain(pending, records):
        yield record[line_at]


def _split_cells(texts: Iterable[str]) -> Iterator[str | tuple[str, ...] | dict[str, Any]]:
    """The groups' lines (a str of one or more) or cells (a tuple; a YAML row's fields, a dict) as `usage_lines`
    formats them: a line of CELLS_MARK and JSON is a row for Rich or PyYAML to write."""
    import json

    for text in texts:
        if CELLS_MARK not in text:
            yield text
            continue
        plain: list[str] = []
        for line in text[:-1].split("\n"):  # JSON has no raw line break: "\n" ends each line
            if line.startswith(CELLS_MARK):
                if plain:
                    yield "\n".join(plain) + "\n"
                    plain = []
                cells = json.loads(line[1:])
                yield cells if isinstance(cells, dict) else tuple(cells)  # a YAML row as its fields
            else:
                plain.append(line)
        if plain:
            yield "\n".join(plain) + "\n"


def _chain(pending: list[Sequence[Any]], records: Iterator[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    while pending:
        yield pending.pop()
    for record in records:  # noqa: UP028 - `yield from` would close the cursor's iterator with this generator
        yield record


def _add(line: CostLine, measures: Sequence[Any]) -> None:
    model, outputs, estimated, prompt, completion, priced, input_cost, output_cost = measures
    line.outputs += int(outputs)
    line.estimated_outputs += int(estimated)
    line.prompt_tokens += int(prompt)
    line.completion_tokens += int(completion)
    if not priced:
        line.unpriced_models.add(model)
        line.unpriced_prompt_tokens += int(prompt)
        line.unpriced_completion_tokens += int(completion)
        return
    line.priced_models.add(model)
    line.input_cost += input_cost
    line.output_cost += output_cost


def _widths(record: Sequence[Any] | None, columns: _Columns) -> dict[str, int]:
    if record is None or record[0] != GROUPS:
        return {}
    return {dim: int(record[at]) for dim, at in columns.widths.items() if record[at] is not None}
