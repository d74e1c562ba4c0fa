"""The groups of `usage report` as Postgres formats them (`usage_lines`): the very bytes Python wrote.

The piped table and the CSV of every --by set tested in `test_usage_priced` (plus awkward names: quotes,
commas, line breaks, tabs, backslashes, wide characters, control characters; a model name with a comma; a
free group; a cost on a half-even tie) come out byte for byte as the Python writers print them from the
fold of `priced_usage` (the path JSON and YAML still take, and the reference here).
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

    prices = str(sample_pricing(tmp_path))
    formatted = usage_view.formatted_lines
    for by in bys:
        for fmt in ("csv", "table"):
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
        assert len(lines) == 1 and lines[0].count("\n") > 20  # one text of up to CHUNK_LINES lines
        assert '"Refund, ""urgent"""' in "".join(lines) and '"two\nlines"' in "".join(lines)
        box = TableBox("│ ", " │ ", " │\n")
        with priced_usage(conn, ("conversation",), plan, table, lines=box, label_widths=True) as priced:
            rows = list(priced.formatted)
    assert isinstance(rows[0], tuple) and isinstance(rows[-1], tuple)  # drawn by Rich, with header and footer
    # runs of plain lines in one text; rows apart as cells: names with « », é, 日本…, a line break
    assert sum(row.count("\n") for row in rows if isinstance(row, str)) > 10
    wide = [row for row in rows if isinstance(row, tuple) and row[0].startswith("日本語")]
    assert wide and wide[0][-1] == "$0.0055"  # (8,000 × 0.5 + 1,004 × 1.5) / 1e6, as cells for Rich


@settings(max_examples=60)
@given(value=st.decimals(min_value=0, max_value=10**7, places=12, allow_nan=False),
       text=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12))
def test_rounding_and_quoting_expressions_match_python(awkward_url, value, text):
    import psycopg

    from magent.services.store.usage_lines import _exact, _half_even, _quoted

    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([text, "x"])
    with psycopg.connect(awkward_url) as conn:
        four, nine, quoted = conn.execute(
            f"SELECT {_half_even('%(v)s::numeric', 4)}::text, {_exact('%(v)s::numeric')}, {_quoted('%(t)s::text')}",
            {"v": value, "t": text}).fetchone()
    assert Decimal(four) == value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
    exact = value.quantize(Decimal("0.000000001"), rounding=ROUND_HALF_EVEN).normalize()
    assert nine == format(exact, "f")
    assert quoted + ",x\n" == out.getvalue()
