"""The statements of `usage_priced`: the usage of `--by` priced by Postgres, as rows of levels (totals, days,
groups) or, with `usage_lines`, as the groups' formatted lines.

One row per (level, group, model), sorted: `usage_priced` folds the models of a group as they stream past,
which is cheaper for the server than aggregating arrays of model names per group. The price table is sent as
arrays (`price_arrays`): one row per model name and alias.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from magent.core.cost import WindowPlan
from magent.core.pricing import PricingTable
from magent.services.store.usage import column_name, grouped_query, query_grain
from magent.services.store.usage_lines import TableBox, groups_lines_query, streamed_lines_query

if TYPE_CHECKING:
    from psycopg.sql import Composable, Composed

TOTALS, DAILY, GROUPS = 0, 1, 2  # the levels of a report's rows
NAMED = {"agent": "agents", "conversation": "conversations"}  # dimensions whose ids have names


def statement(by: tuple[str, ...], layout: list[str], plan: WindowPlan, table: PricingTable, use_rollup: bool,
               label_widths: bool, lines: TableBox | str | None) -> tuple[Composed, list[Any], tuple[str, ...]]:
    """The report's statement, its parameters (but the prices) and where it reads from (`STREAMED` formats: the
    totals and days only; `streamed_statement` reads the groups)."""
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
    scale = price_scale(table)
    groups = groups_lines_query(by, layout, lines=lines, label_widths=label_widths, scale=scale)
    return _report_query(by, layout, grouped, label_widths, groups, per_day, scale), [*params, *daily_params], sources


def streamed_statement(by: tuple[str, ...], plan: WindowPlan, table: PricingTable, use_rollup: bool,
                        lines: str) -> tuple[Composed, list[Any]]:
    """The groups of a `STREAMED` format, a row a group in the report's order, and the parameters but the prices."""
    from psycopg import sql

    grouped, params, _ = grouped_query(tuple(dict.fromkeys([*by, "model"])), plan, use_rollup=use_rollup,
                                       stored_rows=True)
    scale = price_scale(table)
    return sql.SQL("{prices}, priced AS ({priced}), {lines}").format(  # noqa: S608 - fixed expressions
        prices=sql.SQL(_PRICES), priced=sql.SQL(priced_units(scale)).format(grouped=grouped),
        lines=sql.SQL(streamed_lines_query(by, lines=lines, scale=scale))), params


def price_arrays(table: PricingTable) -> tuple[list[str], list[Decimal], list[Decimal], list[str]]:
    """Every name the table prices (models and aliases) with its input and output price, and the entry's name."""
    known = sorted({*table.models, *(alias for price in table.models.values() for alias in price.aliases)})
    matches = [(name, match) for name in known if name and (match := table.lookup(name)) is not None]
    return ([name for name, _ in matches], [m.price.input for _, m in matches], [m.price.output for _, m in matches],
            [m.priced_as for _, m in matches])


def layout_of(by: tuple[str, ...]) -> list[str]:
    """Dimension columns after `level`: the `by` dimensions, + day for the daily lines when `by` lacks it."""
    return [*by, *(() if "day" in by else ("day",))]


_PRICED = ("SELECT g.*, p.input IS NOT NULL AS priced, p.priced_as, g.prompt_tokens * p.input AS input_micro, "
           "g.completion_tokens * p.output AS output_micro FROM ({grouped}) AS g LEFT JOIN prices p ON p.model = g.model")
_MAX_BIGINT = 2**63 - 1
MAX_PRICE_SCALE = 6  # decimals of a price (USD per million tokens) that the bigint costs of `priced_units` take


def price_scale(table: PricingTable) -> int | None:
    """The decimals of the table's most precise price, if every price × 10^that fits a bigint comfortably."""
    prices = [value for match in (table.lookup(name) for name in price_arrays(table)[0]) if match is not None
              for value in (match.price.input, match.price.output)]
    scale = max((max(0, -int(value.as_tuple().exponent)) for value in prices if value.is_finite()), default=0)
    if scale > MAX_PRICE_SCALE or any(not value.is_finite() or abs(value) >= 10**12 for value in prices):
        return None
    return scale


def priced_units(scale: int | None) -> str:
    """`_PRICED` for the groups of `usage_lines`: costs in units of 10^-(6 + scale) USD as bigint products
    (`*_fast`), ~5× cheaper to make and sum than numeric ones, or numeric (`*_slow`) where a bigint could
    overflow (or every price, with no `scale`). Exact either way; `usage_lines._groups_cte` adds them up."""
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
    if grouped is not None:  # else the totals and days only (the groups stream apart: `streamed_statement`)
        levels.append(_groups_query(by, layout, label_widths) if groups is None else sql.SQL(groups))  # noqa: S608
        priced = _PRICED if daily is None else priced_units(scale)
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


_NULL_NAMES = ", ".join(f"NULL::text AS {dim}_name" for dim in NAMED)
_NULL_WIDTHS = ", ".join(f"NULL::int AS {dim}_width" for dim in NAMED)
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
    for dim, table in NAMED.items():
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
