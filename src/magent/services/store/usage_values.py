"""The text of one value in a line of `usage_lines`, as an SQL expression: written as magent's Python writers
write it (csv's quoting, `json.dumps`, PyYAML's plain scalars and floats, Decimal's half-even rounding), so that
a line formatted by Postgres is the line Python would have printed (tested value for value against them).
"""

from __future__ import annotations


def day(column: str) -> str:
    """A date as YYYY-MM-DD: its text under DateStyle ISO, which `usage_priced` sets for the statement (to_char
    costs ~5× more, for each of up to a million lines)."""
    return f"{column}::text"


def half_even(value: str, places: int) -> str:
    """`value` rounded half to even at `places` decimals, as Python's Decimal rounds (round() rounds half up)."""
    scaled = f"({value}) * 1e{places}"
    return (f"(CASE WHEN {scaled} - trunc({scaled}) = 0.5 AND mod(trunc({scaled}), 2) = 0 "
            f"THEN trunc({scaled}) ELSE round({scaled}) END / 1e{places})")


def exact(value: str) -> str:
    """`usage_view._number` then `_csv_cell`: half-even at 1e-9, no trailing zeros, no exponent.

    A cost has the scale of its price + 6: with prices of up to 3 decimals there is nothing to round."""
    return f"trim_scale(CASE WHEN scale({value}) <= 9 THEN {value} ELSE {half_even(value, 9)} END)::text"


def csv_quoted(value: str) -> str:
    """Python's csv.QUOTE_MINIMAL with lineterminator '\\n': quote a field holding , " or a newline."""
    return (f"CASE WHEN strpos({value}, ',') > 0 OR strpos({value}, '\"') > 0 OR strpos({value}, E'\\n') > 0 "
            f"THEN '\"' || replace({value}, '\"', '\"\"') || '\"' ELSE {value} END")


def literal(text: str) -> str:
    """A string constant (standard_conforming_strings, on since Postgres 9.1): the box's few characters."""
    return "'" + text.replace("'", "''") + "'::text"


def json_text(value: str) -> str:
    """A string (or null) as `json` writes it without `ensure_ascii`: Postgres escapes the same characters
    (`"`, `\\`, and below U+0020: \\b \\f \\n \\r \\t, else \\u00xx in lower case)."""
    return f"coalesce(to_json({value})::text, 'null')"


def json_number(value: str) -> str:
    """`usage_view._number` as `json` prints it: half-even at 1e-9, an int when whole, else the float's
    shortest repr. Postgres prints a float8 alike (shortest round trip, an exponent below 1e-4) but for a
    whole float (Python adds ".0") and from 1e15, where Python keeps fixed notation up to 1e16."""
    rounded = f"(CASE WHEN scale({value}) <= 9 THEN {value} ELSE {half_even(value, 9)} END)"
    near = f"{rounded}::float8"
    # Below 1e6 a number of 9 decimals has at most 15 digits: its float is never whole, and one conversion
    # (the costly part) does; above, the float of a fraction may be whole, and Python then adds ".0"
    return (f"CASE WHEN {rounded} = trunc({rounded}) THEN trunc({rounded})::text WHEN {rounded} < 1e6 THEN {near}::text "
            f"WHEN {rounded} < 1e15 THEN {near}::text || CASE WHEN {near} = trunc({near}) THEN '.0' ELSE '' END "
            f"ELSE {python_float_repr(near)} END")


def python_float_repr(value: str) -> str:
    """Python's repr of a float8 from 1e15: fixed notation below 1e16, from Postgres' d.ddde+15."""
    digits = f"replace(split_part({value}::text, 'e', 1), '.', '')"
    return (f"CASE WHEN {value} >= 1e16 THEN {value}::text "
            f"ELSE rpad(left({digits}, 16), 16, '0') || '.' || coalesce(nullif(substr({digits}, 17), ''), '0') END")


def yaml_plain(value: str) -> str:
    """`value` if PyYAML writes it as is (a word or a few, of letters, digits, _ . -, starting with a letter, not
    one of its booleans or nulls, too short to fold), else NULL (the row then goes to PyYAML)."""
    return (f"CASE WHEN {value} ~ '^[A-Za-z][A-Za-z0-9_.-]*( [A-Za-z0-9_.-]+)*$' AND char_length({value}) <= 40 "
            f"AND lower({value}) NOT IN ('yes', 'no', 'true', 'false', 'on', 'off', 'null') THEN {value} END")


def yaml_number(value: str) -> str:
    """PyYAML's float: repr in lower case, ".0" added to a mantissa without a point ("1e-05" → "1.0e-05")."""
    number = json_number(value)
    return (f"CASE WHEN {value} < 0.0001 OR {value} >= 1e16 THEN "
            f"(SELECT CASE WHEN strpos(t, '.') = 0 AND strpos(t, 'e') > 0 THEN replace(t, 'e', '.0e') ELSE t END "
            f"FROM (SELECT {number} AS t) AS n) ELSE {number} END")
