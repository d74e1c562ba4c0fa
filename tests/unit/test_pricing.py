"""The price table: the shipped file, overrides, aliases, and errors that name the bad key."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from magent.core.errors import EXIT_USAGE, ConfigError
from magent.core.pricing import SHIPPED_ORIGIN, load_pricing, parse_price_file

OVERRIDE = """\
models:
  my-finetune:
    input: 1.25
    output: 3
    source: contract 2026-10
    as_of: 2026-10-01
  mistral-large-2512:
    input: 0.4
    output: 1.2
    source: negotiated discount
    as_of: 2026-11-01
"""


def test_shipped_table_prices_current_models_with_source_and_date():
    table = load_pricing()
    assert table.origins == (SHIPPED_ORIGIN,)
    for name in ("mistral-large-2512", "mistral-medium-2604", "mistral-small-2603", "codestral-2508",
                 "ministral-3b-2512", "ministral-8b-2512", "open-mistral-nemo-2407", "pixtral-large-2411",
                 "magistral-medium-2509", "devstral-2512", "mistral-embed"):
        price = table.models[name]
        assert price.source and isinstance(price.as_of, date), name
        assert price.input >= 0 and price.output >= 0
    assert table.models["mistral-large-2512"].input == Decimal("0.5")
    assert table.models["mistral-large-2512"].output == Decimal("1.5")


def test_alias_is_priced_like_its_model_only_when_the_table_says_so():
    table = load_pricing()
    match = table.lookup("mistral-large-latest")
    assert match is not None and match.priced_as == "mistral-large-2512" and match.via_alias
    direct = table.lookup("mistral-large-2512")
    assert direct is not None and not direct.via_alias
    # A plausible-looking name the table does not list stays unpriced: no guessing from prefixes.
    assert table.lookup("mistral-large-2599") is None
    assert table.lookup("open-mixtral-8x22b") is None
    assert table.lookup("") is None and table.lookup(None) is None


def test_override_file_adds_and_replaces_entries(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text(OVERRIDE)
    table = load_pricing(path)
    assert table.origins == (SHIPPED_ORIGIN, str(path))
    assert table.lookup("my-finetune").price.input == Decimal("1.25")
    replaced = table.lookup("mistral-large-2512").price
    assert (replaced.input, replaced.source) == (Decimal("0.4"), "negotiated discount")
    # The replacing entry lists no aliases, so the shipped alias goes with the shipped entry.
    assert table.lookup("mistral-large-latest") is None
    assert table.lookup("mistral-medium-2604") is not None  # untouched shipped entries stay


def test_override_can_price_an_alias_on_its_own(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"models": {"mistral-medium-latest": {
        "input": 2, "output": 8, "source": "invoice", "as_of": "2026-11-01"}}}))
    table = load_pricing(path)
    assert table.lookup("mistral-medium-latest").price.input == Decimal(2)
    assert table.lookup("mistral-medium-latest").priced_as == "mistral-medium-latest"
    assert "mistral-medium-latest" not in table.models["mistral-medium-2604"].aliases
    assert table.lookup("mistral-medium-3-5").priced_as == "mistral-medium-2604"


def test_replace_drops_the_shipped_table(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("replace: true\n" + OVERRIDE)
    table = load_pricing(path)
    assert set(table.models) == {"my-finetune", "mistral-large-2512"}
    assert table.origins == (str(path),)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("models:\n  m:\n    input: -1\n    output: 1\n    source: s\n    as_of: 2026-01-01\n",
         "prices.yaml:3: models.m.input: Input should be greater than or equal to 0"),
        ("models:\n  m:\n    input: 1\n    output: 1\n    as_of: 2026-01-01\n",
         "prices.yaml:2: models.m.source: Field required"),
        ("models:\n  m:\n    input: 1\n    output: 1\n    source: s\n    as_of: someday\n",
         "prices.yaml:6: models.m.as_of: Input should be a valid date"),
        ("models:\n  m:\n    input: 1\n    output: 1\n    source: s\n    as_of: 2026-01-01\n    pirce: 3\n",
         "prices.yaml:7: models.m.pirce: unknown key"),
        ("currency: EUR\nmodels: {}\n", "prices.yaml:1: currency: Input should be 'USD'"),
        ("models: [a, b]\n", "prices.yaml:1: models: Input should be a valid dictionary"),
        ("- just\n- a list\n", "prices.yaml: the top level must be a mapping"),
        ("models:\n  m: {input: 1\n", "prices.yaml:3: not valid YAML"),
    ],
)
def test_invalid_price_file_names_file_line_and_key(tmp_path, text, expected):
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_pricing(path)
    assert info.value.exit_code == EXIT_USAGE
    assert str(info.value).replace(str(tmp_path) + "/", "").startswith(expected)
    assert info.value.hint


def test_alias_conflicts_are_rejected():
    text = ("models:\n"
            "  a: {input: 1, output: 1, source: s, as_of: 2026-01-01, aliases: [x]}\n"
            "  b: {input: 1, output: 1, source: s, as_of: 2026-01-01, aliases: [x]}\n")
    with pytest.raises(ConfigError, match="models.b.aliases: 'x' is already an alias of 'a'"):
        parse_price_file(text, "p.yaml")
    text = ("models:\n"
            "  a: {input: 1, output: 1, source: s, as_of: 2026-01-01, aliases: [b]}\n"
            "  b: {input: 1, output: 1, source: s, as_of: 2026-01-01}\n")
    with pytest.raises(ConfigError, match="'b' is also a model of its own"):
        parse_price_file(text, "p.yaml")


def test_invalid_json_names_the_line(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text('{"models": {\n  "m": }\n}')
    with pytest.raises(ConfigError, match=r"prices.json:2: not valid JSON"):
        load_pricing(path)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the price file .*nope.yaml"):
        load_pricing(tmp_path / "nope.yaml")
