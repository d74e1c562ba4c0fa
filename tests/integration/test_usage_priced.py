"""The report priced by Postgres (`usage_priced`) gives exactly what `core.cost.price_usage` gives in Python.

On a mixed data set (sample_usage + 48 generated conversations): models priced directly and through an alias,
unpriced ones, entries without a model or an agent, conversations that switch model half-way (partial groups),
names with non-ASCII characters, three UTC days, windows whose edges are read from the entries or subtracted
from the rollup. The shipped price table has no dated prices (`as_of` records when a price was taken), so
there are no price changes over time to follow.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fixtures.usage import DAY1, load_sample_usage, sample_pricing

from magent.core.cost import CostLine, plan_window, price_usage
from magent.core.pricing import load_pricing
from magent.services.store.rollup import rebuild_usage_daily
from magent.services.store.usage import fetch_usage
from magent.services.store.usage_priced import priced_usage

MODELS = ["mistral-large-latest", "mistral-large-2512", "codestral-2508", "my-finetune", None, "zz-ünïcode-model"]
AGENTS = [("ag_support", "Support bot"), ("ag_code", None), (None, None), ("ag_é", "Agént 日本")]
BY = [("model",), ("agent",), ("day",), ("conversation",), ("day", "model"), ("agent", "model"),
      ("conversation", "model"), ("model", "day", "agent", "conversation")]
WINDOWS = [
    (DAY1, DAY1 + timedelta(days=3)),  # whole days: the rollup
    (DAY1 + timedelta(hours=3), DAY1 + timedelta(days=2, hours=20)),  # a long partial start, a short partial end
    (DAY1 + timedelta(hours=14), DAY1 + timedelta(days=1, hours=6)),  # two short partial days
    (DAY1 + timedelta(hours=1), None),  # open-ended
]


def load_mixed_usage(conn) -> None:
    load_sample_usage(conn)
    conn.execute("INSERT INTO agents (id, name) VALUES ('ag_é', 'Agént 日本') ON CONFLICT DO NOTHING")
    conversations, entries = [], []
    for n in range(48):
        agent = AGENTS[n % len(AGENTS)][0]
        start = DAY1 + timedelta(hours=5 * n + 1, minutes=7 * n)
        conversations.append((f"mix_{n:02d}", agent, MODELS[n % 6], f"Mixed « {n} »" if n % 3 else None, start))
        for position in range(8):
            output = position % 2 == 1
            model = MODELS[(n + position // 4) % 6]  # half-way through, the next model
            entries.append((f"mix_{n:02d}_{position}", f"mix_{n:02d}", position,
                            ("message.output" if position % 4 == 1 else "function.call") if output else "message.input",
                            "assistant" if output else "user", "x", 1_000 + 37 * n + position,
                            "estimated" if n % 5 == 0 else "counted", 5_000 * position + n if output else None,
                            start + timedelta(minutes=40 * position), agent, model))
    conn.cursor().executemany("INSERT INTO conversations (id, agent_id, model, name, created_at, updated_at) "
                              "VALUES (%s, %s, %s, %s, %s, %s)", [(*c, c[-1]) for c in conversations])
    conn.cursor().executemany(
        "INSERT INTO conversation_entries (id, conversation_id, position, type, role, content, token_count, "
        "token_count_method, prompt_tokens, created_at, agent_id, model) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", entries)
    rebuild_usage_daily(conn)


@pytest.fixture(scope="module")
def mixed_url(pg_server) -> Iterator[str]:
    from magent.core.config import StoreSettings
    from magent.services.store import open_store

    name = pg_server.create_database()
    store = open_store(StoreSettings(database_url=pg_server.url(name)))
    with store.connection() as conn:
        load_mixed_usage(conn)
    store.close()
    yield pg_server.url(name)
    pg_server.drop_database(name)


def fields(line: CostLine) -> tuple:
    return (line.key, line.outputs, line.estimated_outputs, line.prompt_tokens, line.completion_tokens,
            line.input_cost, line.output_cost, line.unpriced_prompt_tokens, line.unpriced_completion_tokens,
            line.priced_models, line.unpriced_models, line.status, line.cost)


@pytest.mark.parametrize("since,until", WINDOWS)
def test_sql_pricing_equals_python_pricing(mixed_url, tmp_path, since, until):
    import psycopg

    table = load_pricing(sample_pricing(tmp_path))
    plan = plan_window(since, until)
    with psycopg.connect(mixed_url) as conn:
        for by in BY:
            data = fetch_usage(conn, by, plan)
            expected = price_usage(data.rows, table, by)
            with priced_usage(conn, by, plan, table, label_widths=True) as priced:
                report = priced.report
                lines = list(report.lines)
            assert [fields(line) for line in lines] == [fields(line) for line in expected.lines], by
            assert fields(report.total) == fields(expected.total), by
            assert [fields(line) for line in report.daily] == [fields(line) for line in expected.daily], by
            assert (report.prices_used, report.unpriced_models) == (expected.prices_used, expected.unpriced_models)
            assert priced.data.sources == data.sources
            # the rollups (daily, by conversation) give what the raw entries give
            raw = price_usage(fetch_usage(conn, by, plan, use_rollup=False).rows, table, by)
            assert [fields(line) for line in raw.lines] == [fields(line) for line in expected.lines], by
            assert fields(raw.total) == fields(expected.total), by
            if plan.rollup_days is not None:
                rollup = "usage_conversation_daily" if "conversation" in by else "usage_daily"
                assert data.sources[0].startswith(f"{rollup} (whole UTC days)"), by
            for dim, names in (("agent", data.agent_names), ("conversation", data.conversation_names)):
                if dim in by:
                    at = by.index(dim)
                    assert {line.key[at]: line.names[dim] for line in lines if dim in line.names} == names, by
    assert expected.total.status == "partial" and "" in expected.unpriced_models  # the mix the test is about
    assert any(line.status == "partial" for line in price_usage(data.rows, table, ("conversation",)).lines)


def test_groups_stream_from_the_server_and_widest_labels_are_measured(mixed_url, tmp_path):
    import psycopg

    table = load_pricing(sample_pricing(tmp_path))
    plan = plan_window(DAY1, DAY1 + timedelta(days=3))
    with psycopg.connect(mixed_url) as conn, \
            priced_usage(conn, ("agent", "conversation"), plan, table, label_widths=True) as priced:
        assert not isinstance(priced.report.lines, list)  # a generator over the server-side cursor
        first = next(iter(priced.report.lines))
        assert first.key == ("", "conv_c")  # '' (no agent) first, as price_usage sorts
        assert priced.label_widths == {"agent": len("Support bot (ag_support)"),
                                       "conversation": len("Refund question (conv_a)")}


def test_an_empty_window_is_empty_and_says_whether_the_store_has_entries(mixed_url, store, tmp_path):
    import psycopg

    table = load_pricing(sample_pricing(tmp_path))
    plan = plan_window(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC))
    with psycopg.connect(mixed_url) as conn, priced_usage(conn, ("conversation",), plan, table) as priced:
        assert priced.report.is_empty and list(priced.report.lines) == [] and priced.report.daily == []
        assert priced.report.total.cost == 0 and priced.data.store_has_entries
    with store.connection() as conn, priced_usage(conn, ("model",), plan, table) as priced:
        assert priced.report.is_empty and not priced.data.store_has_entries
