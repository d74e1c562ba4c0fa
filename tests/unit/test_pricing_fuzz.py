"""Price files with bad dates, huge numbers or any odd scalar: a clean `file:line: what` (ConfigError), never a traceback."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from magent.core.errors import ConfigError
from magent.core.pricing import parse_price_file

TEMPLATE = "models:\n  m:\n    input: {input}\n    output: 1\n    source: s\n    as_of: {as_of}\n"


@pytest.mark.parametrize(
    ("fields", "line", "message"),
    [
        ({"as_of": "2026-02-30"}, 6, "day is out of range for month"),
        ({"as_of": "2026-13-01"}, 6, "month must be in 1..12"),
        ({"input": "9" * 5000}, 3, "too large"),
        ({"input": "1e400"}, 3, "less than or equal to"),
        ({"input": "1e30"}, 3, "less than or equal to"),
        ({"input": "[[[[" * 300}, None, ""),
    ],
)
def test_bad_dates_and_huge_numbers_name_file_and_line(fields, line, message):
    values = {"input": "1", "as_of": "2026-01-01", **fields}
    with pytest.raises(ConfigError) as caught:
        parse_price_file(TEMPLATE.format(**values), "p.yaml")
    text = str(caught.value)
    assert text.startswith(f"p.yaml:{line}:" if line else "p.yaml"), text
    assert message in text


def test_huge_integer_in_json_is_a_clean_error():
    with pytest.raises(ConfigError, match="p.json"):
        parse_price_file('{"models": {"m": {"input": ' + "9" * 5000 + "}}}", "p.json", as_json=True)


SCALARS = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"\A-?[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}( [0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2})?\Z"),
    st.integers().map(str),
    st.from_regex(r"\A[0-9]{4000,4400}\Z"),
    st.floats().map(repr),
    st.sampled_from([".inf", "-.inf", ".nan", "1e400", "!!binary aGVsbG8=", "0x_", "1_0", "0o99", "~", "[]", "{}"]),
)


@settings(max_examples=100, deadline=None)
@given(input_value=SCALARS, as_of=SCALARS)
def test_any_scalar_is_valid_or_a_config_error(input_value, as_of):
    text = TEMPLATE.format(input=input_value.replace("\n", " "), as_of=as_of.replace("\n", " "))
    try:
        parse_price_file(text, "p.yaml")
    except ConfigError as exc:
        assert str(exc).startswith("p.yaml")
