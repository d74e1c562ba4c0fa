"""The groups of `magent usage report` formatted by Postgres: CSV lines, or the body lines of the piped table.

With hundreds of thousands of groups, folding each group's models and formatting its line in Python was most
of the report's time (~10 µs a group). Here the statement folds them and writes each line as the Python
writers would (`usage_view.write_csv`, `usage_stream._plain_rows`), so that the CLI only copies text:

- CSV: Python's `csv` quoting (a field with `,`, `"` or a line break is quoted, quotes doubled), costs as
  `_number` gives them (rounded half-even to 1e-9, trailing zeros dropped).
- table: every cell padded to its column's width, which the statement computes as `_print_groups` does
  (headings, totals, widest labels); costs as `usd` gives them (rounded half-even to 4 places). The first and
  last rows, and rows whose labels are not printable ASCII (wide characters, line breaks), come as their
  cells instead (a line of CELLS_MARK + JSON), for Rich to draw: the first and last with the header and
  footer, the others as Rich would lay them out.

The lines come joined in texts of CHUNK_LINES: a few hundred rows to fetch rather than one a group.

The same figures as the fold in `usage_priced` (exact `numeric` sums; tested line for line against it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from magent.services.store.usage import column_name

# Python's `f"{n:,}"` and `f"{d:,.4f}"`; 'FM' drops the padding to_char would add
_INTEGER = "'FM999,999,999,999,999,999,999,990'"
_FOUR_PLACES = "'FM999,999,999,999,999,999,990.0000'"
_HEADINGS = {"model": "Model", "agent": "Agent", "day": "Day (UTC)", "conversation": "Conversation"}
_MEASURE_HEADINGS = ("Outputs", "Prompt tokens", "Completion tokens", "Total tokens")
_NAMED = {"agent": "agents", "conversation": "conversations"}
CHUNK_LINES = 2_000  # lines per fetched row
CELLS_MARK = "\x1e"  # starts a line of cells as JSON: never in a formatted line (printable ASCII and box)


@dataclass(frozen=True)
class TableBox:
    """The separators of a body row as Rich draws it: `left` cell `middle` cell … `right` (with the newline)."""

    left: str
    middle: str
    right: str


def groups_lines_query(by: Sequence[str], layout: Sequence[str], *, box: TableBox | None,
                       label_widths: bool) -> str:
    """A groups level for `usage_priced._report_query`: one row a group, its line (or cells) and its rank.

    CSV lines when `box` is None. Each cell is computed once (a materialised CTE), the column widths once
    (a one-row aggregate of it): formatting is most of the statement's time.
    """
    cells = _csv_cells(by) if box is None else _table_cells(by)
    groups = _groups_cte(by, cells, with_names_of_models=box is None)
    head = (f"SELECT 2 AS level, {', '.join(_null(dim) for dim in layout)}, "
            f"{', '.join(f'NULL::text AS {dim}_name' for dim in _NAMED)}, "
            "NULL::text AS model, NULL::numeric AS outputs, NULL::numeric AS estimated_outputs, "
            "NULL::numeric AS prompt_tokens, NULL::numeric AS completion_tokens, NULL::bool AS priced, "
            "NULL::numeric AS input_cost, NULL::numeric AS output_cost")
    order = ", ".join(f"{column_name(dim)}" + ("" if dim == "day" else ' COLLATE "C"') for dim in by)
    ranked = f"(SELECT *, row_number() OVER (ORDER BY {order}) AS rn FROM lines_groups) AS g"
    if box is None:
        line = " || ',' || ".join(f"g.c{n}" for n in range(len(cells))) + " || E'\\n'"
        numbered = f"SELECT g.rn, {line} AS line, NULL::int AS agent_width, NULL::int AS conversation_width FROM {ranked}"
        return f"WITH {groups} {head}, {_chunked(numbered)}"
    label_columns = ", ".join(
        (f"max(char_length(c{by.index(dim)}))" if label_widths and dim in by else "NULL::int") + f" AS {dim}_width"
        for dim in _NAMED)
    line = _table_line(len(by), len(cells), box)
    numbered = f"SELECT g.rn, {line} AS line, w.agent_width, w.conversation_width FROM {ranked} CROSS JOIN lines_widths AS w"
    return (
        f"WITH {groups}, lines_widths AS (SELECT count(*) AS n, {label_columns}, "
        + ", ".join(f"{width} AS w{n}" for n, width in enumerate(_table_widths(by)))
        + f" FROM lines_groups) {head}, {_chunked(numbered)}"
    )


def _groups_cte(by: Sequence[str], cells: list[str], *, with_names_of_models: bool) -> str:
    """`lines_groups`: a row a group (its models folded), with its names and its cells c0, c1…"""
    keys = ", ".join(column_name(dim) for dim in by)
    joins = " ".join(
        f"LEFT JOIN (SELECT id, name FROM {table} WHERE name <> '') AS n_{dim} ON n_{dim}.id = f.{column_name(dim)}"
        for dim, table in _NAMED.items() if dim in by
    )
    names = "".join(f", n_{dim}.name AS {dim}_name" for dim in _NAMED if dim in by)
    fold = (
        f"SELECT {keys}, sum(outputs) AS outputs, sum(estimated_outputs) AS estimated, "
        "sum(prompt_tokens) AS prompt, sum(completion_tokens) AS completion, "
        "bool_or(priced) AS any_priced, bool_or(NOT priced) AS any_unpriced, "
        "coalesce(sum(input_micro) FILTER (WHERE priced), 0) * 0.000001 AS input_cost, "
        "coalesce(sum(output_micro) FILTER (WHERE priced), 0) * 0.000001 AS output_cost, "
        "coalesce(sum(input_micro + output_micro) FILTER (WHERE priced), 0) * 0.000001 AS cost"
        # unordered: an ordered aggregate sorts each group apart; the few lists of several models sort below
        + (", string_agg(model, E'\\x1f') FILTER (WHERE NOT priced) AS unpriced_models, max(priced_as) AS priced_as"
           if with_names_of_models else "")
        + f" FROM priced GROUP BY {keys}"
    )
    named = f"SELECT f.*{names} FROM ({fold}) AS f {joins}"
    return ("lines_groups AS MATERIALIZED (SELECT g.*, "
            + ", ".join(f"{cell} AS c{n}" for n, cell in enumerate(cells)) + f" FROM ({named}) AS g)")


def _null(dim: str) -> str:
    return f"NULL::{'date' if dim == 'day' else 'text'} AS {column_name(dim)}"


def _chunked(numbered: str) -> str:
    """The lines of `numbered` (rn, line, widths) joined in order into texts of CHUNK_LINES lines (`rn`: the
    text's number): a few hundred rows to fetch instead of one a group."""
    return (f"max(c.agent_width) AS agent_width, max(c.conversation_width) AS conversation_width, "
            f"(c.rn - 1) / {CHUNK_LINES} AS rn, string_agg(c.line, '' ORDER BY c.rn) AS line, NULL::text AS cells "
            f"FROM ({numbered}) AS c GROUP BY (c.rn - 1) / {CHUNK_LINES}")


def _label(dim: str, prefix: str = "") -> str:
    """The table's label of a dimension value (`usage_view._label`)."""
    column = prefix + column_name(dim)
    if dim == "day":
        return f"to_char({column}, 'YYYY-MM-DD')"
    if dim == "model":
        return f"CASE WHEN {column} = '' THEN '(unknown)' ELSE {column} END"
    name = f"{prefix}{dim}_name"
    return (f"CASE WHEN {column} = '' THEN '(none)' WHEN {name} IS NOT NULL "
            f"THEN {name} || ' (' || {column} || ')' ELSE {column} END")


def _half_even(value: str, places: int) -> str:
    """`value` rounded half to even at `places` decimals, as Python's Decimal rounds (round() rounds half up)."""
    scaled = f"({value}) * 1e{places}"
    return (f"(CASE WHEN {scaled} - trunc({scaled}) = 0.5 AND mod(trunc({scaled}), 2) = 0 "
            f"THEN trunc({scaled}) ELSE round({scaled}) END / 1e{places})")


def _usd(value: str) -> str:
    """`usage_view.usd`."""
    return (f"CASE WHEN {value} = 0 THEN '$0.00' WHEN {value} < 0.0001 THEN '<$0.0001' "
            f"ELSE '$' || to_char({_half_even(value, 4)}, {_FOUR_PLACES}) END")


def _cost_cell(priced: str, unpriced: str, cost: str) -> str:
    """`usage_view._cost_cell`: nothing priced → 'unpriced'; priced and unpriced models → partial."""
    return (f"CASE WHEN NOT {priced} THEN 'unpriced' WHEN {unpriced} THEN '≥ ' || {_usd(cost)} || ' (partial)' "
            f"ELSE {_usd(cost)} END")


def _integer(value: str) -> str:
    return f"to_char({value}, {_INTEGER})"


def _table_cells(by: Sequence[str]) -> list[str]:
    """A group's cells in the table: labels, then outputs, prompt, completion and total tokens, and cost."""
    return [_label(dim, "g.") for dim in by] + [
        _integer("g.outputs"), _integer("g.prompt"), _integer("g.completion"), _integer("g.prompt + g.completion"),
        _cost_cell("g.any_priced", "g.any_unpriced", "g.cost"),
    ]


def _table_widths(by: Sequence[str]) -> list[str]:
    """The widths `_print_groups` gives the measure columns (the totals are the widest numbers): aggregates."""
    totals = [_integer("sum(outputs)"), _integer("sum(prompt)"), _integer("sum(completion)"),
              _integer("sum(prompt + completion)")]
    widths = [f"greatest({len(heading)}, char_length({total}))"
              for heading, total in zip(_MEASURE_HEADINGS, totals, strict=True)]
    priced, unpriced = "bool_or(any_priced)", "bool_or(any_unpriced)"
    total_cost = _cost_cell(priced, unpriced, "sum(cost)")
    widths.append(f"greatest({len('Cost (USD)')}, {len('<$0.0001')}, char_length({total_cost}), "
                  f"CASE WHEN {priced} AND {unpriced} THEN {len('≥ <$0.0001 (partial)')} ELSE 0 END)")
    return [f"greatest({len(_HEADINGS[dim])}, max(char_length(c{n})))" for n, dim in enumerate(by)] + widths


def _table_line(labels: int, count: int, box: TableBox) -> str:
    """The body line of a plain row, else CELLS_MARK and its cells as JSON (for Rich), from the columns c0…"""
    padded = []
    for n in range(count):
        gap = f"repeat(' ', w.w{n} - char_length(g.c{n}))"
        padded.append(f"g.c{n} || {gap}" if n < labels else f"{gap} || g.c{n}")
    line = _literal(box.left) + " || " + f" || {_literal(box.middle)} || ".join(padded) + " || " + _literal(box.right)
    # A label of printable ASCII is one cell per character: padding by characters is what Rich does
    plain = " AND ".join(f"g.c{n} ~ '^[ -~]*$'" for n in range(labels)) or "true"
    drawn_here = f"g.rn > 1 AND g.rn < w.n AND {plain}"
    cells = f"json_build_array({', '.join(f'g.c{n}' for n in range(count))})::text"
    return f"CASE WHEN {drawn_here} THEN {line} ELSE {_literal(CELLS_MARK)} || {cells} || E'\\n' END"


def _csv_cells(by: Sequence[str]) -> list[str]:
    """`usage_view.write_csv`'s fields of a group."""
    fields: list[str] = []
    for dim in by:
        column = "g." + column_name(dim)
        if dim == "day":
            fields.append(f"to_char({column}, 'YYYY-MM-DD')")
        elif dim == "model":
            fields += [_quoted(column), _quoted("coalesce(g.priced_as, '')")]
        else:
            fields += [_quoted(column), _quoted(f"coalesce(g.{dim}_name, '')")]
    unpriced = "NOT g.any_priced"
    fields += [
        "g.outputs::text", "g.estimated::text", "g.prompt::text", "g.completion::text", "(g.prompt + g.completion)::text",
        f"CASE WHEN {unpriced} THEN '' ELSE {_exact('g.input_cost')} END",
        f"CASE WHEN {unpriced} THEN '' ELSE {_exact('g.output_cost')} END",
        f"CASE WHEN {unpriced} THEN '' ELSE {_exact('g.cost')} END",
        "CASE WHEN NOT g.any_priced THEN 'unpriced' WHEN g.any_unpriced THEN 'partial' ELSE 'priced' END",
        _quoted("CASE WHEN g.unpriced_models IS NULL THEN '' WHEN strpos(g.unpriced_models, E'\\x1f') = 0 "
                "THEN g.unpriced_models ELSE (SELECT string_agg(DISTINCT m COLLATE \"C\", ';' ORDER BY m COLLATE \"C\") "
                "FROM string_to_table(g.unpriced_models, E'\\x1f') AS m) END"),
    ]
    return fields


def _exact(value: str) -> str:
    """`usage_view._number` then `_csv_cell`: half-even at 1e-9, no trailing zeros, no exponent.

    A cost has the scale of its price + 6: with prices of up to 3 decimals there is nothing to round."""
    return f"trim_scale(CASE WHEN scale({value}) <= 9 THEN {value} ELSE {_half_even(value, 9)} END)::text"


def _quoted(value: str) -> str:
    """Python's csv.QUOTE_MINIMAL with lineterminator '\\n': quote a field holding , " or a newline."""
    return (f"CASE WHEN strpos({value}, ',') > 0 OR strpos({value}, '\"') > 0 OR strpos({value}, E'\\n') > 0 "
            f"THEN '\"' || replace({value}, '\"', '\"\"') || '\"' ELSE {value} END")


def _literal(text: str) -> str:
    """A string constant (standard_conforming_strings, on since Postgres 9.1): the box's few characters."""
    return "'" + text.replace("'", "''") + "'::text"
