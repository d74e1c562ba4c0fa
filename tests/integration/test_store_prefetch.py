"""`prefetched_texts`: a server-side cursor read a batch ahead in a thread, on a real Postgres."""

from __future__ import annotations

import threading

import psycopg
import pytest

from magent.services.store.prefetch import prefetched_texts


def _lines(conn, count: int):
    cursor = conn.cursor(name="lines")
    cursor.execute("SELECT 'line ' || n || E'\\n' FROM generate_series(1, %s) AS n ORDER BY n", [count])
    return cursor


@pytest.mark.parametrize(("count", "batch"), [(0, 3), (1, 3), (7, 3), (9, 3), (10, 100)])
def test_every_row_in_order_in_texts_of_a_batch(pg_url, count, batch):
    with psycopg.connect(pg_url) as conn, conn.transaction():
        texts = list(prefetched_texts(_lines(conn, count), "", batch_rows=batch))
    assert "".join(texts) == "".join(f"line {n}\n" for n in range(1, count + 1))
    assert len(texts) == -(-count // batch)  # no empty text at the end


def test_the_separator_joins_the_rows_of_a_text(pg_url):
    with psycopg.connect(pg_url) as conn, conn.transaction():
        texts = list(prefetched_texts(_lines(conn, 5), ",", batch_rows=2))
    assert texts == ["line 1\n,line 2\n", "line 3\n,line 4\n", "line 5\n"]


def test_closing_early_stops_the_thread_and_leaves_the_connection_usable(pg_url):
    with psycopg.connect(pg_url) as conn:
        with conn.transaction():
            texts = prefetched_texts(_lines(conn, 100_000), "", batch_rows=10)
            assert next(texts) == "".join(f"line {n}\n" for n in range(1, 11))
            texts.close()  # a reader that left: `usage report | head`
            assert not [t for t in threading.enumerate() if t.name == "magent-prefetch"]
        assert conn.execute("SELECT 42").fetchone() == (42,)


def test_a_server_error_reaches_the_reader(pg_url):
    with psycopg.connect(pg_url) as conn, conn.transaction():
        cursor = conn.cursor(name="failing")
        cursor.execute("SELECT (1 / (3 - n))::text FROM generate_series(1, 5) AS n")
        with pytest.raises(psycopg.errors.DivisionByZero):
            list(prefetched_texts(cursor, "", batch_rows=1))
