"""The groups of `magent usage report` formatted by Postgres: CSV lines, JSON objects, or a table's body lines.

With hundreds of thousands of groups, folding each group's models and formatting its line in Python was most
of the report's time (~10 µs a group). Here the statement folds them and writes each line as the Python
writers would (`usage_view.write_csv`, `usage_stream._plain_rows`), so that the CLI only copies text:

- CSV: Python's `csv` quoting (a field with `,`, `"` or a line break is quoted, quotes doubled), costs as
  `_number` gives them (rounded half-even to 1e-9, trailing zeros dropped).
- JSON: each group's object as `usage_stream.write_json` writes it (`json.dumps(indent=2)` two levels down:
  strings escaped as `json` escapes them without `ensure_ascii`, costs as `float(_number(…))` prints them).
- YAML: each group as PyYAML's block style writes it, when its strings are plain words (else the group as one
  line of JSON after CELLS_MARK, for PyYAML to write).
- table: every cell padded to its column's width, which the statement computes as `_print_groups` does
  (headings, totals, widest labels); costs as `usd` gives them (rounded half-even to 4 places). The first and
  last rows, and rows whose labels are not printable ASCII (wide characters, line breaks), come as their
  cells instead (a line of CELLS_MARK + JSON), for Rich to draw: the first and last with the header and
  footer, the others as Rich would lay them out. So does every row of a table of at most
  `TableBox.cells_up_to` groups (a terminal's, which Rich fits to the terminal's width).

A table's lines come joined in texts of CHUNK_LINES (a few hundred rows to fetch rather than one a group); CSV,
JSON and YAML come a row a group, streamed (`streamed_lines_query`): the server formats a batch while the CLI
writes the one before, and no sort or aggregate over half a million lines waits for the last group.

The same figures as the fold in `usage_priced` (exact sums; tested line for line against it). The groups are
grouped and ordered by their keys in byte order (collation "C", Python's order), which is also several times
cheaper to sort than the database's collation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from magent.services.store.usage import column_name
from magent.services.store.usage_values import (
    csv_quoted,
    day,
    exact,
    half_even,
    json_number,
    json_text,
    literal,
    yaml_number,
    yaml_plain,
)

# Python's `f"{n:,}"` and `f"{d:,.4f}"`; 'FM' drops the padding to_char would add
_INTEGER = "'FM999,999,999,999,999,999,999,990'"
_FOUR_PLACES = "'FM999,999,999,999,999,999,990.0000'"
_HEADINGS = {"model": "Model", "agent": "Agent", "day": "Day (UTC)", "conversation": "Conversation"}
_MEASURE_HEADINGS = ("Outputs", "Prompt tokens", "Completion tokens", "Total tokens")
_NAMED = {"agent": "agents", "conversation": "conversations"}
CHUNK_LINES = 2_000  # lines per fetched row
CELLS_MARK = "\x1e"  # starts a line of cells as JSON: never in a formatted line (printable ASCII and box)
CSV, JSON, YAML = "csv", "json", "yaml"
JSON_ROW_SEPARATOR = ",\n    "  # between two rows of `write_json`'s list (and between two fetched texts)


@dataclass(frozen=True)
class TableBox:
    """The separators of a body row as Rich draws it: `left` cell `middle` cell … `right` (with the newline).

    `cells_up_to`: a table of at most this many groups comes as cells only (for Rich to lay out in a terminal).
    """

    left: str
    middle: str
    right: str
    cells_up_to: int = 0


def streamed_lines_query(by: Sequence[str], *, lines: str, scale: int | None = None) -> str:
    """For `usage_priced`: the CTE `lines_groups` then a statement of one row a group, its CSV line, JSON object or
    YAML entry, in the report's order. Nothing over the lines is sorted or aggregated, so the server formats the
    groups as they are fetched: while the CLI writes one batch, the next is being formatted.

    `scale`: the unit of the costs of `priced` (`usage_priced_sql.priced_units`): 10^-(6 + scale) USD.
    """
    if lines in (JSON, YAML):
        row = _json_object(by) if lines == JSON else _yaml_object(by)
        groups, line = _groups_cte(by, [row], details=JSON, scale=scale), "g.c0"
    else:
        cells = _csv_cells(by)
        groups = _groups_cte(by, cells, details=CSV, scale=scale)
        line = " || ',' || ".join(f"g.c{n}" for n in range(len(cells))) + " || E'\\n'"
    order = ", ".join(f"g.{column_name(dim)}" for dim in by)  # of collation "C" (`_groups_cte`)
    return f"{groups} SELECT {line} AS line FROM lines_groups AS g ORDER BY {order}"


def groups_lines_query(by: Sequence[str], layout: Sequence[str], *, lines: TableBox,
                       label_widths: bool, scale: int | None = None) -> str:
    """A groups level of a table for `usage_priced_sql._report_query`: one row a group, its line (or cells), its rank.

    `scale`: as for `streamed_lines_query`. Each cell is computed once (a materialised CTE), the column widths
    once (a one-row aggregate of it): formatting is most of the statement's time.
    """
    head = (f"SELECT 2 AS level, {', '.join(_null(dim) for dim in layout)}, "
            f"{', '.join(f'NULL::text AS {dim}_name' for dim in _NAMED)}, "
            "NULL::text AS model, NULL::numeric AS outputs, NULL::numeric AS estimated_outputs, "
            "NULL::numeric AS prompt_tokens, NULL::numeric AS completion_tokens, NULL::bool AS priced, "
            "NULL::numeric AS input_cost, NULL::numeric AS output_cost")
    cells = _table_cells(by)
    groups = _groups_cte(by, cells, details=None, scale=scale)
    label_columns = ", ".join(
        (f"max(char_length(c{by.index(dim)}))" if label_widths and dim in by else "NULL::int") + f" AS {dim}_width"
        for dim in _NAMED)
    line = _table_line(len(by), len(cells), lines)
    numbered = (f"SELECT g.rn, {line} AS line, w.agent_width, w.conversation_width FROM {_ranked(by)} "
                "CROSS JOIN lines_widths AS w")
    return (
        f"WITH {groups}, lines_widths AS (SELECT count(*) AS n, {label_columns}, "
        + ", ".join(f"{width} AS w{n}" for n, width in enumerate(_table_widths(by)))
        + f" FROM lines_groups) {head}, {_chunked(numbered)}"
    )


def _key(dim: str, prefix: str = "") -> str:
    """A group key as it is grouped and sorted: text in byte order (= code points, Python's order: '' first),
    which is also much cheaper to compare than the database's collation."""
    return prefix + column_name(dim) + ("" if dim == "day" else ' COLLATE "C"')


def _ranked(by: Sequence[str]) -> str:
    order = ", ".join(column_name(dim) for dim in by)  # already of collation "C" (`_groups_cte`)
    return f"(SELECT *, row_number() OVER (ORDER BY {order}) AS rn FROM lines_groups) AS g"


def _groups_cte(by: Sequence[str], cells: list[str], *, details: str | None, scale: int | None) -> str:
    """`lines_groups`: a row a group (its models folded), with its names and its cells c0, c1…

    `details`: CSV or JSON, which also show the group's unpriced models and the name its model is priced as,
    JSON its unpriced tokens too (None: the table, which shows none of them)."""
    keys = ", ".join(f"{_key(dim)} AS {column_name(dim)}" for dim in by)
    grouping = ", ".join(str(n + 1) for n in range(len(by)))
    joins = " ".join(
        f"LEFT JOIN (SELECT id COLLATE \"C\" AS id, name FROM {table} WHERE name <> '') AS n_{dim} "
        f"ON n_{dim}.id = f.{column_name(dim)}"
        for dim, table in _NAMED.items() if dim in by
    )
    names = "".join(f", n_{dim}.name AS {dim}_name" for dim in _NAMED if dim in by)
    # an unpriced model's costs are NULL, which sum() skips; the cost is the sum of the two (exact numerics)
    unit = f"0.{'0' * (5 + (scale or 0))}1"
    input_sum = "(coalesce(sum(input_fast), 0) + coalesce(sum(input_slow), 0))"
    output_sum = "(coalesce(sum(output_fast), 0) + coalesce(sum(output_slow), 0))"
    costs = (f"{input_sum} * {unit} AS input_cost, {output_sum} * {unit} AS output_cost, "
             f"({input_sum} + {output_sum}) * {unit} AS cost" if details else
             f"({input_sum} + {output_sum}) * {unit} AS cost")
    fold = (
        # token sums as bigint: printed and added faster than numeric, and far from overflowing
        f"SELECT {keys}, sum(outputs)::bigint AS outputs, sum(estimated_outputs)::bigint AS estimated, "
        "sum(prompt_tokens)::bigint AS prompt, sum(completion_tokens)::bigint AS completion, "
        f"bool_or(priced) AS any_priced, bool_or(NOT priced) AS any_unpriced, {costs}"
        # unordered: an ordered aggregate sorts each group apart; the few lists of several models sort below
        + (", string_agg(model, E'\\x1f') FILTER (WHERE NOT priced) AS unpriced_models" if details else "")
        # the one model of a group by model: any of its rows has its name (max() would compare by locale)
        + (", min(priced_as COLLATE \"C\") AS priced_as" if details and "model" in by else "")
        + (", coalesce(sum(prompt_tokens) FILTER (WHERE NOT priced), 0)::bigint AS unpriced_prompt, "
           "coalesce(sum(completion_tokens) FILTER (WHERE NOT priced), 0)::bigint AS unpriced_completion"
           if details == JSON else "")
        + f" FROM priced GROUP BY {grouping}"
    )
    named = f"SELECT f.*{names} FROM ({fold}) AS f {joins}"
    # Materialised for the table only, whose widths are measured over every group before its lines are made
    return (f"lines_groups AS {'MATERIALIZED ' if not details else ''}(SELECT g.*, "
            + ", ".join(f"{cell} AS c{n}" for n, cell in enumerate(cells)) + f" FROM ({named}) AS g)")


def _null(dim: str) -> str:
    return f"NULL::{'date' if dim == 'day' else 'text'} AS {column_name(dim)}"


def _chunked(numbered: str) -> str:
    """The lines of `numbered` (rn, line, widths) joined in order into texts of CHUNK_LINES lines (`rn`: the
    text's number): a few hundred rows to fetch instead of one a group."""
    return (f"max(c.agent_width) AS agent_width, max(c.conversation_width) AS conversation_width, "
            f"(c.rn - 1) / {CHUNK_LINES} AS rn, string_agg(c.line, '' ORDER BY c.rn) AS line, "
            f"NULL::text AS cells FROM ({numbered}) AS c GROUP BY (c.rn - 1) / {CHUNK_LINES}")


def _label(dim: str, prefix: str = "") -> str:
    """The table's label of a dimension value (`usage_view._label`)."""
    column = prefix + column_name(dim)
    if dim == "day":
        return day(column)
    if dim == "model":
        return f"CASE WHEN {column} = '' THEN '(unknown)' ELSE {column} END"
    name = f"{prefix}{dim}_name"
    return (f"CASE WHEN {column} = '' THEN '(none)' WHEN {name} IS NOT NULL "
            f"THEN {name} || ' (' || {column} || ')' ELSE {column} END")


def _usd(value: str) -> str:
    """`usage_view.usd`."""
    return (f"CASE WHEN {value} = 0 THEN '$0.00' WHEN {value} < 0.0001 THEN '<$0.0001' "
            f"ELSE '$' || to_char({half_even(value, 4)}, {_FOUR_PLACES}) END")


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
    line = literal(box.left) + " || " + f" || {literal(box.middle)} || ".join(padded) + " || " + literal(box.right)
    # A label of printable ASCII is one cell per character: padding by characters is what Rich does
    plain = " AND ".join(f"g.c{n} ~ '^[ -~]*$'" for n in range(labels)) or "true"
    drawn_here = f"g.rn > 1 AND g.rn < w.n AND w.n > {int(box.cells_up_to)} AND {plain}"
    cells = f"json_build_array({', '.join(f'g.c{n}' for n in range(count))})::text"
    return f"CASE WHEN {drawn_here} THEN {line} ELSE {literal(CELLS_MARK)} || {cells} || E'\\n' END"


def _csv_cells(by: Sequence[str]) -> list[str]:
    """`usage_view.write_csv`'s fields of a group."""
    fields: list[str] = []
    for dim in by:
        column = "g." + column_name(dim)
        if dim == "day":
            fields.append(day(column))
        elif dim == "model":
            fields += [csv_quoted(column), csv_quoted("coalesce(g.priced_as, '')")]
        else:
            fields += [csv_quoted(column), csv_quoted(f"coalesce(g.{dim}_name, '')")]
    unpriced = "NOT g.any_priced"
    fields += [
        "g.outputs::text", "g.estimated::text", "g.prompt::text", "g.completion::text", "(g.prompt + g.completion)::text",
        f"CASE WHEN {unpriced} THEN '' ELSE {exact('g.input_cost')} END",
        f"CASE WHEN {unpriced} THEN '' ELSE {exact('g.output_cost')} END",
        f"CASE WHEN {unpriced} THEN '' ELSE {exact('g.cost')} END",
        "CASE WHEN NOT g.any_priced THEN 'unpriced' WHEN g.any_unpriced THEN 'partial' ELSE 'priced' END",
        csv_quoted("CASE WHEN g.unpriced_models IS NULL THEN '' WHEN strpos(g.unpriced_models, E'\\x1f') = 0 "
                "THEN g.unpriced_models ELSE (SELECT string_agg(DISTINCT m COLLATE \"C\", ';' ORDER BY m COLLATE \"C\") "
                "FROM string_to_table(g.unpriced_models, E'\\x1f') AS m) END"),
    ]
    return fields


def _row_fields(by: Sequence[str]) -> list[tuple[str, str, str]]:
    """`usage_view._row`'s fields of a group: (key, kind, SQL value)."""
    fields: list[tuple[str, str, str]] = []
    for dim in by:
        column = "g." + column_name(dim)
        if dim == "day":
            fields.append(("day", "day", column))
        elif dim == "model":
            fields += [("model", "text", f"nullif({column}, '')"), ("priced_as", "text", "g.priced_as")]
        elif dim == "agent":
            fields += [("agent_id", "text", f"nullif({column}, '')"), ("agent_name", "text", "g.agent_name")]
        else:
            fields += [("conversation_id", "text", column), ("conversation_name", "text", "g.conversation_name")]
    return fields + [
        ("outputs", "int", "g.outputs"), ("estimated_outputs", "int", "g.estimated"),
        ("counted_outputs", "int", "(g.outputs - g.estimated)"), ("prompt_tokens", "int", "g.prompt"),
        ("completion_tokens", "int", "g.completion"), ("total_tokens", "int", "(g.prompt + g.completion)"),
        ("input_cost_usd", "cost", "g.input_cost"), ("output_cost_usd", "cost", "g.output_cost"),
        ("cost_usd", "cost", "g.cost"), ("pricing", "pricing", ""),
        ("unpriced_prompt_tokens", "int", "g.unpriced_prompt"),
        ("unpriced_completion_tokens", "int", "g.unpriced_completion"),
        ("unpriced_models", "models", "g.unpriced_models"),
    ]


_PRICING = "CASE WHEN NOT g.any_priced THEN 'unpriced' WHEN g.any_unpriced THEN 'partial' ELSE 'priced' END"


def _json_object(by: Sequence[str], *, compact: bool = False) -> str:
    """`usage_stream._json_row` of `usage_view._row`: a group's object, two levels down in `json.dumps(indent=2)`
    (`compact`: on one line, the same values)."""
    indent = "" if compact else "\n      "
    values = {
        "day": lambda v: f"'\"' || {day(v)} || '\"'",
        "text": json_text,
        "int": lambda v: f"{v}::text",
        "cost": lambda v: f"CASE WHEN NOT g.any_priced THEN 'null' ELSE {json_number(v)} END",
        "pricing": lambda v: f"'\"' || {_PRICING} || '\"'",
        "models": lambda v: _json_models(v, compact=compact),
    }
    body = f" || ',{indent}' || ".join(f"'\"{key}\": ' || {values[kind](value)}" for key, kind, value in _row_fields(by))
    return f"'{{{indent}' || " + body + " || '" + ("" if compact else "\n    ") + "}'"


def _yaml_object(by: Sequence[str]) -> str:
    """`usage_stream.write_yaml`'s text of a group (PyYAML's block style), or when a string of it is not one
    that PyYAML writes plain (see `_yaml_plain`), CELLS_MARK and the group as one line of JSON, for PyYAML."""
    values = {
        "day": lambda v: f"{literal(chr(39))} || {day(v)} || {literal(chr(39))}",  # a date-like string is quoted
        "text": lambda v: f"CASE WHEN {v} IS NULL THEN 'null' ELSE {yaml_plain(v)} END",
        "int": lambda v: f"{v}::text",
        "cost": lambda v: f"CASE WHEN NOT g.any_priced THEN 'null' ELSE {yaml_number(v)} END",
        "pricing": lambda v: _PRICING,
        "models": _yaml_models,
    }
    lines = [f"'{key}:' || " + (values[kind](value) if kind == "models" else f"' ' || {values[kind](value)}")
             for key, kind, value in _row_fields(by)]
    text = "'- ' || " + " || E'\\n  ' || ".join(lines) + " || E'\\n'"
    return f"coalesce({text}, {literal(CELLS_MARK)} || {_json_object(by, compact=True)} || E'\\n')"


def _yaml_models(models: str) -> str:
    """The sorted unpriced models as a block sequence under the key (or " []")."""
    items = (f"(SELECT CASE WHEN bool_and({yaml_plain('m')} IS NOT NULL) "
             f"THEN string_agg(m, E'\\n  - ' ORDER BY m COLLATE \"C\") END "
             f"FROM (SELECT DISTINCT m FROM string_to_table({models}, E'\\x1f') AS m) AS d)")
    return (f"CASE WHEN {models} IS NULL THEN ' []' ELSE E'\\n  - ' || CASE WHEN strpos({models}, E'\\x1f') = 0 "
            f"THEN {yaml_plain(models)} ELSE {items} END END")


def _json_models(models: str, *, compact: bool = False) -> str:
    """The sorted unpriced models (\\x1f-separated, maybe repeated) as a JSON list three levels down."""
    indent, close = ("", "") if compact else ("\n        ", "\n      ")
    many = (f"(SELECT string_agg(to_json(m)::text, ',{indent}' ORDER BY m COLLATE \"C\") "
            f"FROM (SELECT DISTINCT m FROM string_to_table({models}, E'\\x1f') AS m) AS d)")
    return (f"CASE WHEN {models} IS NULL THEN '[]' ELSE '[{indent}' || CASE WHEN strpos({models}, E'\\x1f') = 0 "
            f"THEN {json_text(models)} ELSE {many} END || '{close}]' END")
