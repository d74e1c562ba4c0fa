"""`magent usage report` priced by Postgres and streamed: memory independent of the number of groups.

The store sums tokens at the grain of `--by` + model + day (`usage.grouped_query`, the same query
`fetch_usage` runs), joins the price table (sent as arrays, one row per model name and alias) and sums
costs per group and model, per day and in total, in one statement read through a server-side cursor: the
totals and the days come first (a few rows), then the groups, in the report's order, as the caller consumes
them; the few models of a group are folded into its line here as they pass.

Same figures as `core.cost.price_usage` over `fetch_usage`'s rows (tested against it): costs are exact
decimals (tokens × price × 0.000001 in `numeric`, never a division), a model without a price keeps its
tokens and adds no cost, and a group mixing both is "partial".

With `lines=` (CSV, JSON and the table; YAML still folds here) the groups come folded and formatted by the
statement itself (`usage_lines`), as texts of many lines: the CLI copies them out instead of building a line
per group. The groups then read the rollup's rows once, at the grain of `--by` + model (not day), each row
priced as it passes with bigint costs where they fit (`_priced_units`); the totals and days read the daily
rollup (a few rows a day) instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from magent.core.cost import CostLine, CostReport, WindowPlan
from magent.core.pricing import PricingTable
from magent.services.store.prefetch import prefetched_texts
from magent.services.store.usage import UsageData, column_name, grouped_query, has_entries, query_grain
from magent.services.store.usage_lines import (
    CELLS_MARK,
    CSV,
    JSON,
    JSON_ROW_SEPARATOR,
    YAML,
    TableBox,
    groups_lines_query,
    streamed_lines_query,
)

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg.sql import Composable, Composed

TOTALS, DAILY, GROUPS = 0, 1, 2
STREAMED = (CSV, JSON, YAML)  # formats whose groups stream a row each (`usage_lines.streamed_lines_query`)
FETCH_ROWS = 5_000  # rows per round trip of the server-side cursor
FETCH_LINES = 10  # texts of usage_lines.CHUNK_LINES lines each: ~20 k lines a round trip
WORK_MEM = "256MB"
_NAMED = {"agent": "agents", "conversation": "conversations"}  # dimensions whose ids have names


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
    layout = _layout(by)
    columns = _Columns(by, layout)
    streamed = lines in STREAMED
    query, params, sources = _statement(by, layout, plan, table, use_rollup, label_widths, lines)
    from psycopg.pq import TransactionStatus

    fresh = conn.info.transaction_status == TransactionStatus.IDLE  # else a savepoint of the caller's transaction
    with conn.transaction(), conn.cursor(name="magent_usage_report") as cursor, \
            conn.cursor(name="magent_usage_groups") as groups_cursor:
        if streamed and fresh:  # the totals and the groups are then two statements: one snapshot for both
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
            conn.execute("SET LOCAL DateStyle = 'ISO'")  # a date's text is then YYYY-MM-DD (`usage_lines._day`)
        cursor.itersize = FETCH_ROWS if lines is None else FETCH_LINES
        cursor.execute(query, [*_price_arrays(table), *params])
        records = iter(cursor)
        pending: list[Sequence[Any]] = []
        total = next(_fold(records, lambda record: (), columns, TOTALS, pending), CostLine(()))
        daily = list(_fold(records, lambda record: (record[columns.day],), columns, DAILY, pending))
        widths = _widths(pending[0] if pending else None, columns) if label_widths else {}
        formatted: Iterator[str | tuple[str, ...] | dict[str, Any]] | None = None
        if streamed:
            body, body_params = _streamed_statement(by, plan, table, use_rollup, str(lines))
            groups_cursor.execute(body, [*_price_arrays(table), *body_params])
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


def _statement(by: tuple[str, ...], layout: list[str], plan: WindowPlan, table: PricingTable, use_rollup: bool,
               label_widths: bool, lines: TableBox | str | None) -> tuple[Composed, list[Any], tuple[str, ...]]:
    """The report's statement, its parameters (but the prices) and where it reads from (`STREAMED` formats: the
    totals and days only; `_streamed_statement` reads the groups)."""
    grouped, params, sources = grouped_query(query_grain(by), plan, use_rollup=use_rollup)
    if lines is None:
        return _report_query(by, layout, grouped, label_widths), params, sources
    if not isinstance(lines, TableBox):  # STREAMED
        per_day, daily_params, _ = grouped_query(("model", "day"), plan, use_rollup=use_rollup)
        return _report_query(by, layout, None, label_widths, daily=per_day), daily_params, sources
    # The groups need no day unless grouped by it (a cost is linear in the tokens), and the totals and days
    # come from the small daily rollup: the groups' rows are read once, not three times.
    grouped, params, _ = grouped_query(tuple(dict.fromkeys([*by, "model"])), plan, use_rollup=use_rollup,
                                       stored_rows=True)
    per_day, daily_params, _ = grouped_query(("model", "day"), plan, use_rollup=use_rollup)
    scale = _price_scale(table)
    groups = groups_lines_query(by, layout, lines=lines, label_widths=label_widths, scale=scale)
    return _report_query(by, layout, grouped, label_widths, groups, per_day, scale), [*params, *daily_params], sources


def _streamed_statement(by: tuple[str, ...], plan: WindowPlan, table: PricingTable, use_rollup: bool,
                        lines: str) -> tuple[Composed, list[Any]]:
    """The groups of a `STREAMED` format, a row a group in the report's order, and the parameters but the prices."""
    from psycopg import sql

    grouped, params, _ = grouped_query(tuple(dict.fromkeys([*by, "model"])), plan, use_rollup=use_rollup,
                                       stored_rows=True)
    scale = _price_scale(table)
    return sql.SQL("{prices}, priced AS ({priced}), {lines}").format(  # noqa: S608 - fixed expressions
        prices=sql.SQL(_PRICES), priced=sql.SQL(_priced_units(scale)).format(grouped=grouped),
        lines=sql.SQL(streamed_lines_query(by, lines=lines, scale=scale))), params


def _price_arrays(table: PricingTable) -> tuple[list[str], list[Decimal], list[Decimal], list[str]]:
    """Every name the table prices (models and aliases) with its input and output price, and the entry's name."""
    known = sorted({*table.models, *(alias for price in table.models.values() for alias in price.aliases)})
    matches = [(name, match) for name in known if name and (match := table.lookup(name)) is not None]
    return ([name for name, _ in matches], [m.price.input for _, m in matches], [m.price.output for _, m in matches],
            [m.priced_as for _, m in matches])


# --- the statement ----------------------------------------------------------------------------------
# One row per (level, group, model), sorted: Python folds the models of a group as they stream past, which
# is cheaper for the server than aggregating arrays of model names per group.


def _layout(by: tuple[str, ...]) -> list[str]:
    """Dimension columns after `level`: the `by` dimensions, + day for the daily lines when `by` lacks it."""
    return [*by, *(() if "day" in by else ("day",))]


_PRICED = ("SELECT g.*, p.input IS NOT NULL AS priced, p.priced_as, g.prompt_tokens * p.input AS input_micro, "
           "g.completion_tokens * p.output AS output_micro FROM ({grouped}) AS g LEFT JOIN prices p ON p.model = g.model")
_MAX_BIGINT = 2**63 - 1
MAX_PRICE_SCALE = 6  # decimals of a price (USD per million tokens) that the bigint costs of `_priced_units` take


def _price_scale(table: PricingTable) -> int | None:
    """The decimals of the table's most precise price, if every price × 10^that fits a bigint comfortably."""
    prices = [value for match in (table.lookup(name) for name in _price_arrays(table)[0]) if match is not None
              for value in (match.price.input, match.price.output)]
    scale = max((max(0, -int(value.as_tuple().exponent)) for value in prices if value.is_finite()), default=0)
    if scale > MAX_PRICE_SCALE or any(not value.is_finite() or abs(value) >= 10**12 for value in prices):
        return None
    return scale


def _priced_units(scale: int | None) -> str:
    """`_PRICED` for the groups of `usage_lines`: costs in units of 10^-(6 + scale) USD as bigint products
    (`*_fast`), ~5× cheaper to make and sum than numeric ones, or numeric (`*_slow`) where a bigint could
    overflow (or every price, with no `scale`). Exact either way; `usage_lines._fold_costs` adds them up."""
    if scale is None:
        return ("SELECT g.*, p.input IS NOT NULL AS priced, p.priced_as, NULL::bigint AS input_fast, "
                "NULL::bigint AS output_fast, g.prompt_tokens * p.input AS input_slow, "
                "g.completion_tokens * p.output AS output_slow "
                "FROM ({grouped}) AS g LEFT JOIN prices p ON p.model = g.model")
    terms = []
    for side, tokens in (("input", "g.prompt_tokens"), ("output", "g.completion_tokens")):
        fits = f"abs({tokens}) <= u.{side}_limit"
        terms += [f"CASE WHEN {fits} THEN {tokens} * u.{side}_units END AS {side}_fast",
                  f"CASE WHEN NOT {fits} THEN {tokens}::numeric * u.{side}_units END AS {side}_slow"]
    units = ", ".join(
        f"(p.{side} * 1e{scale})::bigint AS {side}_units, "
        f"coalesce({_MAX_BIGINT} / nullif((p.{side} * 1e{scale})::bigint, 0), {_MAX_BIGINT}) AS {side}_limit"
        for side in ("input", "output"))
    return (f"SELECT g.*, u.model IS NOT NULL AS priced, u.priced_as, {', '.join(terms)} FROM ({{grouped}}) AS g "
            f"LEFT JOIN (SELECT p.model, p.priced_as, {units} FROM prices AS p) AS u ON u.model = g.model")


_PRICES = ("WITH prices(model, input, output, priced_as) AS "
           "(SELECT * FROM unnest(%s::text[], %s::numeric[], %s::numeric[], %s::text[]))")


def _report_query(by: tuple[str, ...], layout: list[str], grouped: Composable | None, label_widths: bool,
                  groups: str | None = None, daily: Composable | None = None, scale: int | None = None) -> Composed:
    """The report's statement: `priced` rows of `grouped` feed every level, or with `groups` (the lines of
    `usage_lines`) the groups only, the totals and days then reading `priced_daily`, rows of `daily`."""
    from psycopg import sql

    per_model = "priced" if daily is None else "priced_daily"
    levels = [_level_query(TOTALS, (), layout, per_model), _level_query(DAILY, ("day",), layout, per_model)]
    ctes = []
    if grouped is not None:  # else the totals and days only (the groups stream apart: `_streamed_statement`)
        levels.append(_groups_query(by, layout, label_widths) if groups is None else sql.SQL(groups))  # noqa: S608
        priced = _PRICED if daily is None else _priced_units(scale)
        ctes.append(sql.SQL("priced AS {}({})").format(sql.SQL("MATERIALIZED " if daily is None else ""),
                                                       sql.SQL(priced).format(grouped=grouped)))
    order = ["level", *(_order_term(dim) for dim in layout), 'line_model COLLATE "C"', "rn"]
    if daily is not None:
        ctes.append(sql.SQL("priced_daily AS MATERIALIZED ({})").format(sql.SQL(_PRICED).format(grouped=daily)))
    return sql.SQL(  # noqa: S608 - fixed expressions; values are parameters
        "{prices}, {ctes} SELECT * FROM ({levels}) AS report ORDER BY {order}"
    ).format(prices=sql.SQL(_PRICES), ctes=sql.SQL(", ").join(ctes),
             levels=sql.SQL(" UNION ALL ").join(sql.SQL("({})").format(q) for q in levels),
             order=sql.SQL(", ".join(order)))


def _order_term(dim: str) -> str:
    # Byte order of UTF-8 = code point order = Python's: the order `price_usage` sorts in ('' first).
    return column_name(dim) if dim == "day" else f'{column_name(dim)} COLLATE "C"'


_SUMS = ("sum(outputs) AS outputs, sum(estimated_outputs) AS estimated_outputs, sum(prompt_tokens) AS prompt_tokens, "
         "sum(completion_tokens) AS completion_tokens, bool_and(priced) AS priced, "
         "sum(input_micro) * 0.000001 AS input_cost, sum(output_micro) * 0.000001 AS output_cost")
_MEASURE_COLUMNS = "model, outputs, estimated_outputs, prompt_tokens, completion_tokens, priced, input_cost, output_cost"


def _select_dims(present: Sequence[str], layout: Sequence[str], prefix: str = "") -> str:
    return ", ".join(
        (f"{prefix}{column_name(dim)}" if dim in present else f"NULL::{'date' if dim == 'day' else 'text'}")
        + f" AS {column_name(dim)}"
        for dim in layout
    )


def _per_model(dims: Sequence[str], source: str = "priced") -> str:
    keys = ", ".join(dict.fromkeys([*(column_name(dim) for dim in dims), "model"]))
    return f"SELECT {keys}, {_SUMS} FROM {source} GROUP BY {keys}"


_NULL_NAMES = ", ".join(f"NULL::text AS {dim}_name" for dim in _NAMED)
_NULL_WIDTHS = ", ".join(f"NULL::int AS {dim}_width" for dim in _NAMED)
_NULL_LINES = "NULL::bigint AS rn, NULL::text AS line, NULL::text AS cells"  # the columns of `usage_lines`' level


def _level_query(level: int, present: Sequence[str], layout: Sequence[str], source: str = "priced") -> Composable:
    from psycopg import sql

    return sql.SQL(  # noqa: S608 - fixed expressions
        f"SELECT {level} AS level, {_select_dims(present, layout, 'm.')}, {_NULL_NAMES}, "
        f"{_prefixed('m.', _MEASURE_COLUMNS)}, {_NULL_WIDTHS}, {_NULL_LINES} FROM ({_per_model(present, source)}) AS m"
    )


def _prefixed(prefix: str, columns: str) -> str:
    # `model` again as `line_model`: with --by model the dimension column already has that name
    return ", ".join(prefix + column.strip() + (" AS line_model" if column.strip() == "model" else "")
                     for column in columns.split(","))


def _groups_query(by: tuple[str, ...], layout: Sequence[str], label_widths: bool) -> Composable:
    """The groups of `by` (a row per model), with the names of their agents / conversations (and widest label)."""
    from psycopg import sql

    joins, names, widths = [], [], []
    for dim, table in _NAMED.items():
        if dim not in by:
            names.append(f"NULL::text AS {dim}_name")
            widths.append(f"NULL::int AS {dim}_width")
            continue
        alias, column = f"n_{dim}", f"m.{column_name(dim)}"
        joins.append(f"LEFT JOIN (SELECT id, name FROM {table} WHERE name <> '') AS {alias} ON {alias}.id = {column}")
        names.append(f"{alias}.name AS {dim}_name")
        label = (f"CASE WHEN {column} = '' THEN '(none)' WHEN {alias}.name IS NOT NULL "
                 f"THEN {alias}.name || ' (' || {column} || ')' ELSE {column} END")
        widths.append(f"max(char_length({label})) OVER () AS {dim}_width" if label_widths
                      else f"NULL::int AS {dim}_width")
    return sql.SQL(  # noqa: S608 - fixed expressions from the dimension whitelist
        f"SELECT {GROUPS} AS level, {_select_dims(by, layout, 'm.')}, {', '.join(names)}, "
        f"{_prefixed('m.', _MEASURE_COLUMNS)}, {', '.join(widths)}, {_NULL_LINES} FROM ({_per_model(by)}) AS m "
        + " ".join(joins)
    )


# --- records → lines ---------------------------------------------------------------------------------


class _Columns:
    """Positions of the result columns of `_report_query`."""

    def __init__(self, by: tuple[str, ...], layout: list[str]) -> None:
        self.key = [1 + layout.index(dim) for dim in by]
        self.day = 1 + layout.index("day")
        first_name = 1 + len(layout)
        self.names = {dim: first_name + n for n, dim in enumerate(_NAMED) if dim in by}
        self.measures = first_name + len(_NAMED)
        self.widths = {dim: self.measures + 8 + n for n, dim in enumerate(_NAMED)}
        self.line = self.measures + 8 + len(_NAMED) + 1  # after rn
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
