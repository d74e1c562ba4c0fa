"""The groups of `usage report` as Postgres formats them (`usage_lines`): the very bytes Python wrote.

The piped table, the CSV and the JSON of every --by set tested in `test_usage_priced` (plus awkward names: quotes,
commas, line breaks, tabs, backslashes, wide characters, control characters; a model name with a comma; a
free group; a cost on a half-even tie) come out byte for byte as the Python writers print them from the
fold of `priced_usage` (the path YAML still takes, and the reference here). So does the JSON.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from fixtures.usage import DAY1, sample_pricing
from hypothesis import given, settings
from hypothesis import strategies as st
from test_usage_priced import BY, WINDOWS, load_mixed_usage

AWKWARD = [
    ("awk_comma", 'Refund, "urgent"'), ("awk_newline", "two\nlines"), ("awk_tab", "a\ttab"),
    ("awk_backslash", "C:\\path\\x"), ("awk_wide", "日本語の会話"), ("awk_control", "bell\x07"),
    ("awk_spaces", "  padded  "), ("awk_pipe", "a | b │ c"),
]


def load_awkward_usage(conn) -> None:
    """Conversations with awkward names, a model with a comma, a free output and a cost tie at 4 places."""
    load_mixed_usage(conn)
    start = DAY1 + timedelta(hours=9)
    rows = [(cid, name, "mistral-large-2512", 1_000 + n, 2_000 * n) for n, (cid, name) in enumerate(AWKWARD)]
    rows += [("awk_free", None, "mistral-large-2512", 0, 0),  # $0.00
             ("awk_tie", None, "mistral-large-2512", 0, 500),  # 500 × 0.5 / 1e6 = 0.00025 → $0.0002 (half-even)
             ("awk_model", "odd model", "odd,model \"x\"", 10, 20)]
    for cid, name, model, completion, prompt in rows:
        conn.execute("INSERT INTO conversations (id, agent_id, model, name, created_at, updated_at) "
                     "VALUES (%s, NULL, %s, %s, %s, %s)", (cid, model, name, start, start))
        conn.execute(
            "INSERT INTO conversation_entries (id, conversation_id, position, type, role, content, token_count, "
            "token_count_method, prompt_tokens, created_at, agent_id, model) "
            "VALUES (%s, %s, 1, 'message.output', 'assistant', 'x', %s, 'counted', %s, %s, NULL, %s)",
            (f"{cid}_1", cid, completion, prompt, start, model))
    from magent.services.store.rollup import rebuild_usage_daily

    rebuild_usage_daily(conn)


@pytest.fixture(scope="module")
def awkward_url(pg_server):
    from magent.core.config import StoreSettings
    from magent.services.store import open_store

    name = pg_server.create_database()
    store = open_store(StoreSettings(database_url=pg_server.url(name)))
    with store.connection() as conn:
        load_awkward_usage(conn)
    store.close()
    yield pg_server.url(name)
    pg_server.drop_database(name)


def _window_args(since, until) -> list[str]:
    from magent.core.timeutil import isoformat

    return ["--since", isoformat(since), *(["--until", isoformat(until)] if until else [])]


@pytest.mark.parametrize(("since", "until", "bys"), [
    (*WINDOWS[0], [*BY, ("agent", "conversation"), ("model", "agent", "conversation")]),  # the rollups
    (*WINDOWS[1], [("conversation",), ("day", "conversation"), ("agent", "model")]),  # + the entries at the edges
])
def test_store_formatted_groups_are_the_python_writers_bytes(cli, awkward_url, tmp_path, monkeypatch, since, until,
                                                             bys):
    from magent.cli import usage_view
    from magent.core import timeutil

    prices = str(sample_pricing(tmp_path))
    formatted = usage_view.formatted_lines
    now = timeutil.utcnow()
    monkeypatch.setattr(timeutil, "utcnow", lambda: now)  # JSON's generated_at
    for by in bys:
        # JSON and YAML for the sets that hold every kind of field (their rows are made field by field)
        rich_set = by in (("conversation",), ("agent", "model"), ("model", "day", "agent", "conversation"))
        for fmt in ("csv", "table", *(("json", "yaml") if rich_set else ())):
            args = ["usage", "report", *_window_args(since, until), "--pricing", prices, "--by", ",".join(by),
                    "-o", fmt]
            monkeypatch.setattr(usage_view, "formatted_lines", formatted)
            fast = cli(*args, env={"MAGENT_DATABASE_URL": awkward_url})
            monkeypatch.setattr(usage_view, "formatted_lines", lambda state, fmt: None)  # the fold, in Python
            slow = cli(*args, env={"MAGENT_DATABASE_URL": awkward_url})
            assert fast.exit_code == slow.exit_code == 0, (fast.stderr, slow.stderr)
            assert fast.stdout == slow.stdout, (by, fmt)
            if by == ("conversation",) and fmt == "table":  # what the data is about: the tie, Rich's wide rows
                assert "$0.0002 " in fast.stdout and "日本語の会話 (awk_wide)" in fast.stdout
            if by == ("conversation",) and fmt == "json":
                import json

                rows = {row["conversation_id"]: row for row in json.loads(fast.stdout)["rows"]}
                assert [rows[cid]["conversation_name"] for cid, _ in AWKWARD] == [name for _, name in AWKWARD]
                assert rows["awk_tie"]["cost_usd"] == 0.00025 and '"cost_usd": 0.00025,' in fast.stdout
            if by == ("conversation",) and fmt == "csv":
                names = {row["conversation_id"]: row["conversation_name"] for row in csv.DictReader(io.StringIO(
                    fast.stdout))}
                assert [names[cid] for cid, _ in AWKWARD] == [name for _, name in AWKWARD]


def test_groups_come_as_lines_from_the_store(awkward_url, tmp_path):
    """The CLI no longer folds or formats the groups: `priced_usage(lines=…)` hands it text."""
    import psycopg

    from magent.core.cost import plan_window
    from magent.core.pricing import load_pricing
    from magent.services.store.usage_lines import TableBox
    from magent.services.store.usage_priced import priced_usage

    table = load_pricing(sample_pricing(tmp_path))
    plan = plan_window(DAY1, DAY1 + timedelta(days=3))
    with psycopg.connect(awkward_url) as conn:
        with priced_usage(conn, ("conversation",), plan, table, lines="csv") as priced:
            lines = list(priced.formatted)
            assert list(priced.report.lines) == [] and priced.report.total.outputs > 0
        assert len(lines) == 1 and lines[0].count("\n") > 20  # one text of up to prefetch.BATCH_ROWS lines
        assert '"Refund, ""urgent"""' in "".join(lines) and '"two\nlines"' in "".join(lines)
        box = TableBox("│ ", " │ ", " │\n")
        with priced_usage(conn, ("conversation",), plan, table, lines=box, label_widths=True) as priced:
            rows = list(priced.formatted)
        # a terminal's table of up to `cells_up_to` groups comes as cells only, for Rich to fit to the terminal
        terminal = TableBox("│ ", " │ ", " │\n", cells_up_to=1_000)
        with priced_usage(conn, ("conversation",), plan, table, lines=terminal, label_widths=True) as priced:
            cells = list(priced.formatted)
    assert isinstance(rows[0], tuple) and isinstance(rows[-1], tuple)  # drawn by Rich, with header and footer
    assert all(isinstance(row, tuple) for row in cells) and len(cells) == len(list(csv.reader(io.StringIO(lines[0]))))
    # runs of plain lines in one text; rows apart as cells: names with « », é, 日本…, a line break
    assert sum(row.count("\n") for row in rows if isinstance(row, str)) > 10
    wide = [row for row in rows if isinstance(row, tuple) and row[0].startswith("日本語")]
    assert wide and wide[0][-1] == "$0.0055"  # (8,000 × 0.5 + 1,004 × 1.5) / 1e6, as cells for Rich


@settings(max_examples=60)
@given(value=st.decimals(min_value=0, max_value=10**7, places=12, allow_nan=False),
       text=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12))
def test_rounding_and_quoting_expressions_match_python(awkward_url, value, text):
    import psycopg

    from magent.services.store import usage_values as values

    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([text, "x"])
    with psycopg.connect(awkward_url) as conn:
        four, nine, quoted = conn.execute(
            f"SELECT {values.half_even('%(v)s::numeric', 4)}::text, {values.exact('%(v)s::numeric')}, "
            f"{values.csv_quoted('%(t)s::text')}",
            {"v": value, "t": text}).fetchone()
    assert Decimal(four) == value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
    exact = value.quantize(Decimal("0.000000001"), rounding=ROUND_HALF_EVEN).normalize()
    assert nine == format(exact, "f")
    assert quoted + ",x\n" == out.getvalue()


def test_yaml_keeps_non_ascii_names_as_pyyaml_writes_them_with_allow_unicode(cli, awkward_url, tmp_path, monkeypatch):
    """-o yaml wrote "\\u65E5\\u672C…" where -o json keeps 日本…; the store-made lines and PyYAML must agree."""
    import json

    import yaml

    from magent.core import timeutil

    now = timeutil.utcnow()
    monkeypatch.setattr(timeutil, "utcnow", lambda: now)  # the same generated_at in both documents
    args = ["usage", "report", *_window_args(*WINDOWS[0]), "--pricing", str(sample_pricing(tmp_path)),
            "--by", "conversation"]
    as_yaml = cli(*args, "-o", "yaml", env={"MAGENT_DATABASE_URL": awkward_url})
    as_json = cli(*args, "-o", "json", env={"MAGENT_DATABASE_URL": awkward_url})
    assert as_yaml.exit_code == as_json.exit_code == 0, (as_yaml.stderr, as_json.stderr)
    assert as_yaml.stdout == yaml.safe_dump(json.loads(as_json.stdout), sort_keys=False, allow_unicode=True)
    assert "conversation_name: 日本語の会話\n" in as_yaml.stdout


@settings(max_examples=60)
@given(value=st.one_of(st.decimals(min_value=0, max_value=10**7, places=12, allow_nan=False),
                       st.decimals(min_value=0, max_value=10**17, places=9, allow_nan=False),
                       st.sampled_from([Decimal("0.00001"), Decimal("123456789012345.000000001"),
                                        Decimal("1000000000000000.0000001"), Decimal("1234567890123456.5"),
                                        Decimal("25000000000000000.5"), Decimal("0.0000000005"),
                                        Decimal("0.00001"), Decimal("10000000000000000")])),
       text=st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                                          max_size=12),
                      st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,8}( [A-Za-z0-9_.-]{1,5}){0,2}", fullmatch=True),
                      st.sampled_from(["yes", "No", "null", "On", "y", "n", "e1", "a" * 41, "Agent 0", "x-1.5"])))
def test_json_and_yaml_number_and_string_expressions_match_python(awkward_url, value, text):
    """Costs as `json` and PyYAML print `usage_view._number` (an int when whole, else the float's repr) and
    strings as `json` escapes them without ensure_ascii, or as PyYAML writes them when it writes them plain."""
    import json

    import psycopg
    import yaml

    from magent.cli.usage_view import _number
    from magent.services.store import usage_values as values

    with psycopg.connect(awkward_url) as conn:
        number, string, yaml_number, plain = conn.execute(
            f"SELECT {values.json_number('%(v)s::numeric')}, {values.json_text('%(t)s::text')}, "
            f"{values.yaml_number('%(v)s::numeric')}, {values.yaml_plain('%(t)s::text')}",
            {"v": value, "t": text}).fetchone()
    assert number == json.dumps(_number(value))
    assert string == json.dumps(text, ensure_ascii=False)
    assert f"k: {yaml_number}\n" == yaml.safe_dump({"k": _number(value)})
    assert plain is None or f"conversation_name: {plain}\n" == yaml.safe_dump({"conversation_name": text})


def test_bigint_costs_are_exact_and_go_numeric_where_a_bigint_would_overflow(awkward_url):
    """The groups' costs are bigint products in units of 10^-(6 + scale) USD (`usage_priced_sql.priced_units`); a product past
    the bigint range is made in numeric instead of failing, and an unpriced model costs nothing."""
    import psycopg

    from magent.services.store.usage_priced_sql import priced_units

    rows = "SELECT * FROM (VALUES ('m', 9000000000000000000::bigint, 5::bigint), ('m', 7::bigint, 9000000000000::bigint), " \
           "('free', 3::bigint, 4::bigint), ('other', 1::bigint, 1::bigint)) AS v(model, prompt_tokens, completion_tokens)"
    query = ("WITH prices(model, input, output, priced_as) AS (VALUES ('m', 2.5::numeric, 1000000.125::numeric, 'm'), "
             "('free', 0::numeric, 0::numeric, 'free')), "
             f"priced AS ({priced_units(3).format(grouped=rows)}) "
             "SELECT (coalesce(sum(input_fast), 0) + coalesce(sum(input_slow), 0)) * 0.000000001, "
             "(coalesce(sum(output_fast), 0) + coalesce(sum(output_slow), 0)) * 0.000000001, "
             "count(*) FILTER (WHERE input_slow IS NOT NULL), bool_and(priced) FILTER (WHERE model <> 'other') FROM priced")
    with psycopg.connect(awkward_url) as conn:
        input_cost, output_cost, slow, priced = conn.execute(query).fetchone()
    assert input_cost == (9_000_000_000_000_000_000 + 7) * Decimal("2.5") / 10**6
    assert output_cost == (5 + 9_000_000_000_000) * Decimal("1000000.125") / 10**6
    assert slow == 1 and priced is True


def test_price_scale_takes_prices_of_up_to_six_decimals(tmp_path):
    from magent.core.pricing import load_pricing
    from magent.services.store.usage_priced_sql import price_scale

    assert price_scale(load_pricing(sample_pricing(tmp_path))) is not None
    fine = tmp_path / "fine.yaml"
    fine.write_text("models:\n  mistral-large-2512:\n    input: 0.1234567\n    output: 1\n    source: test\n"
                    "    as_of: 2026-11-01\n")
    assert price_scale(load_pricing(fine)) is None


def test_prices_of_many_decimals_take_numeric_costs_with_the_same_bytes(cli, awkward_url, tmp_path, monkeypatch):
    from magent.cli import usage_view
    from magent.core import timeutil

    prices = tmp_path / "fine.yaml"
    prices.write_text("replace: true\nmodels:\n  mistral-large-2512: {input: 0.1234567, output: 1.0000001, "
                      "source: test, as_of: 2026-11-01}\n")
    now = timeutil.utcnow()
    monkeypatch.setattr(timeutil, "utcnow", lambda: now)
    formatted = usage_view.formatted_lines
    for fmt in ("csv", "json"):  # costs of scale 13: CSV rounds them half-even at 1e-9, JSON as floats
        args = ["usage", "report", *_window_args(*WINDOWS[0]), "--pricing", str(prices), "--by", "conversation",
                "-o", fmt]
        monkeypatch.setattr(usage_view, "formatted_lines", formatted)
        fast = cli(*args, env={"MAGENT_DATABASE_URL": awkward_url})
        monkeypatch.setattr(usage_view, "formatted_lines", lambda state, fmt: None)
        slow = cli(*args, env={"MAGENT_DATABASE_URL": awkward_url})
        assert fast.exit_code == slow.exit_code == 0, (fast.stderr, slow.stderr)
        assert fast.stdout == slow.stdout, fmt
        assert "0.001234567" in fast.stdout, fmt  # 10,000 prompt tokens × 0.1234567 / 1e6
