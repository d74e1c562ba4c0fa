"""Usage-report benchmark: `magent usage report --by model --by day` over 10 million entries, 30 days, warm.

    python benchmarks/bench_usage_report.py [--entries 10000000] [--runs 7] [--keep DIR]

Generates the entries with `generate_series` in SQL on an embedded Postgres in a temporary data directory
(20 agents, 8 models, one of them unpriced, conversations of 20 entries spread over the last 30 UTC days),
builds the rollups (daily; by day and conversation) with the store's own `rebuild_usage_daily` (what the
export maintains incrementally), then times, warm, as the median of --runs runs:

  1. the whole command, `magent usage report --by model --by day` (a new process each run: Python start-up,
     imports, connection, query, pricing, Rich rendering)       target < 1 s
  2. the same with `--since 30d`, whose first day is partial and read from the entries
  3. the report's query and pricing alone, in process (default window; and with a first day that is
     half inside the window: 12 h of entries to read, the worst case at an edge)
  4. the baseline: the same report computed straight from conversation_entries with GROUP BY
     (`fetch_usage(..., use_rollup=False)`), in process            → ratio baseline / (3)
  5. every `--by` combination (the 15 sets of model, day, agent, conversation), the whole command, table
     output piped (complete, never truncated), plus `--by conversation` as csv, json, yaml and as a table in
     a terminal (a pseudo-terminal of 160 columns): wall time and peak RSS of the magent process (the
     Postgres server's memory is its own), against the targets at 10 M entries and 500 k conversations:
     ≤ 3 s and ≤ 150 MB                                              → ratio measured / target
     with --before SRC, each also run with the code in SRC (e.g. `git archive <commit> src | tar -x -C /tmp/b`,
     then --before /tmp/b/src) side by side                          → ratio before / now
     then `--by conversation`'s query, pricing and reading of every line in process, from the rollup by
     conversation (`usage_conversation_daily`) and from the entries                    → ratio entries / rollup
     and the same with the lines formatted by Postgres (what csv and a piped table run) → ratio folded / formatted
     and the groups' statement of csv and json alone in Postgres, every line made and none sent: the floor of
     this design, whatever magent does with the lines                                   → ratio / target

--by-runs N times each combination (default 1, the median is printed); --skip-classic runs part 5 only;
--by-only model,day (repeatable) measures just those combinations (the smoke test's tiny run); --case
conversation/json (repeatable) just those cases. Part 5 also prints the CPU seconds of magent and of its
Postgres server: on a shared machine, nearer than the wall time to what an idle one would take.

--keep DIR keeps the generated database in DIR (and reuses it on the next run with the same DIR).

For context: LiteLLM's spend reports were measured at about 30 s for 300 k rows.
Never a timed assert: this prints figures and ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

MODELS = ["mistral-large-2512", "mistral-medium-2604", "mistral-small-2603", "codestral-2508",
          "ministral-8b-2512", "devstral-2512", "magistral-medium-2509", "in-house-finetune"]  # last: unpriced
AGENTS = 20
PER_CONVERSATION = 20
TARGET_S = 1.0
BY_TARGET_S, BY_TARGET_MB = 3.0, 150.0
DIMENSIONS = ("model", "day", "agent", "conversation")
LITELLM = (30.0, 300_000)
TERMINAL = "terminal"  # -o table with stdout a pseudo-terminal
TERMINAL_SIZE = (50, 160)  # rows, columns

CONVERSATIONS_SQL = """
INSERT INTO conversations (id, agent_id, model, name, created_at, updated_at)
SELECT 'c' || c, 'ag_' || (c %% %(agents)s), (%(models)s::text[])[1 + c %% %(n_models)s], NULL,
       %(start)s::timestamptz + make_interval(secs => c::float8 / %(n_conv)s * %(span)s),
       %(start)s::timestamptz + make_interval(secs => c::float8 / %(n_conv)s * %(span)s + 300)
  FROM generate_series(0, %(n_conv)s - 1) AS c
"""

# Position p of conversation c = g / 20: even p is the user's turn, odd p a model output (every other one a
# function call). Prompt tokens of an output grow with its position, as the re-sent context does.
ENTRIES_SQL = """
INSERT INTO conversation_entries (id, conversation_id, position, type, role, content, token_count,
                                  token_count_method, prompt_tokens, created_at, agent_id, model)
SELECT 'e' || g, 'c' || (g / 20), (g %% 20)::int,
       CASE WHEN g %% 2 = 0 THEN 'message.input' WHEN g %% 4 = 3 THEN 'function.call' ELSE 'message.output' END,
       CASE WHEN g %% 2 = 0 THEN 'user' ELSE 'assistant' END,
       'x',
       20 + (g * 7919) %% 400,
       CASE WHEN (g / 20) %% %(n_models)s = %(n_models)s - 1 THEN 'estimated' ELSE 'counted' END,
       CASE WHEN g %% 2 = 1 THEN (g %% 20) * 210 END,
       %(start)s::timestamptz + make_interval(secs => (g / 20)::float8 / %(n_conv)s * %(span)s + (g %% 20) * 15),
       'ag_' || ((g / 20) %% %(agents)s),
       (%(models)s::text[])[1 + (g / 20) %% %(n_models)s]
  FROM generate_series(0::bigint, %(entries)s - 1) AS g
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", metavar="DIR", help="keep (and reuse) the generated database in DIR")
    parser.add_argument("--by-runs", type=int, default=1)
    parser.add_argument("--skip-classic", action="store_true", help="only the --by combinations (part 5)")
    parser.add_argument("--by-only", action="append", metavar="DIMS", help="only these --by combinations")
    parser.add_argument("--before", metavar="SRC", help="also run part 5 with the magent package in SRC")
    parser.add_argument("--case", action="append", metavar="DIMS/FORMAT",
                        help="only these cases of part 5, e.g. conversation/json or model,day/table (repeatable)")
    args = parser.parse_args()
    workdir = Path(args.keep).resolve() if args.keep else Path(tempfile.mkdtemp(prefix="magent-bench-usage-"))
    from magent.services.store.embedded import ensure_running, stop_embedded

    try:
        url, created = _database(ensure_running(workdir / "data"))
        if created:
            _generate(url, args.entries)
        else:
            print(f"  reusing the database in {workdir}")
            _step("migrations (a kept database may be older)", lambda: _migrate(url))
        if not args.skip_classic:
            _measure(url, args.runs, workdir)
        _measure_by(url, args.by_runs, workdir, args.by_only, args.before, args.case)
    finally:
        stop_embedded(workdir / "data")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _database(admin_url: str) -> tuple[str, bool]:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'bench'").fetchone()
        if not exists:
            conn.execute("CREATE DATABASE bench")
    return admin_url.replace("/postgres?", "/bench?", 1), not exists


def _generate(url: str, entries: int) -> None:
    from magent.core.config import StoreSettings
    from magent.core.cost import default_since
    from magent.core.timeutil import utcnow
    from magent.services.store import open_store
    from magent.services.store.rollup import rebuild_usage_daily

    store = open_store(StoreSettings(database_url=url))  # the real schema, migrated
    now = utcnow()
    start = default_since(now)
    n_conv = -(-entries // PER_CONVERSATION)
    params = {"agents": AGENTS, "models": MODELS, "n_models": len(MODELS), "start": start, "n_conv": n_conv,
              "span": (now - start).total_seconds() - 600, "entries": entries}
    with store.connection() as conn:
        conn.execute("SET session_replication_role = replica")  # no per-row FK checks while bulk loading
        conn.execute("SET maintenance_work_mem = '512MB'")
        indexes = _secondary_indexes(conn)
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        _step(f"{n_conv:,} conversations", lambda: conn.execute(CONVERSATIONS_SQL, params))
        _step(f"{entries:,} entries (generate_series)", lambda: conn.execute(ENTRIES_SQL, params))
        _step(f"{len(indexes)} secondary indexes", lambda: [conn.execute(sql) for _, sql in indexes])
        conn.execute("INSERT INTO agents (id, name) SELECT 'ag_' || a, 'Agent ' || a FROM generate_series(0, %s) a",
                     (AGENTS - 1,))
        _step("rollups (rebuild_usage_daily)", lambda: rebuild_usage_daily(conn))
    with store.connection(autocommit=True) as conn:
        _step("VACUUM ANALYZE", lambda: conn.execute("VACUUM ANALYZE"))
        rollup_rows = conn.execute("SELECT count(*) FROM usage_daily").fetchone()[0]
        by_conversation = conn.execute("SELECT count(*) FROM usage_conversation_daily").fetchone()[0]
    print(f"  rollup rows: {rollup_rows:,} (30 days × {len(MODELS)} models × {AGENTS} agents at most); "
          f"by conversation: {by_conversation:,}")


def _migrate(url: str) -> None:
    from magent.core.config import StoreSettings
    from magent.services.store import open_store

    open_store(StoreSettings(database_url=url)).close()


def _secondary_indexes(conn) -> list[tuple[str, str]]:
    """Indexes of conversation_entries that back no constraint: rebuilt after the load, which is faster."""
    return conn.execute("""
        SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE i.indrelid = 'conversation_entries'::regclass
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
    """).fetchall()


def _step(label: str, action) -> None:
    started = time.perf_counter()
    action()
    print(f"  {label:<40} {time.perf_counter() - started:8.1f} s", flush=True)


def _measure(url: str, runs: int, workdir: Path) -> None:
    import psycopg

    from magent.core.cost import default_since
    from magent.core.timeutil import isoformat, utcnow

    with psycopg.connect(url) as conn:
        entries = conn.execute("SELECT count(*) FROM conversation_entries").fetchone()[0]
    env = {**os.environ, "MAGENT_DATABASE_URL": url, "COLUMNS": "160", "XDG_CONFIG_HOME": str(workdir / "config")}
    command = [sys.executable, "-m", "magent", "usage", "report", "--by", "model", "--by", "day"]
    since = default_since(utcnow())
    worst = since + timedelta(hours=12)  # the longest span read from the entries (more: rollup minus the rest)
    cli, cli_min = _median(lambda: _run(command, env), runs)
    cli_partial, _ = _median(lambda: _run([*command, "--since", "30d"], env), runs)
    query, _ = _median(lambda: _in_process(url, since, use_rollup=True), runs)
    query_worst, _ = _median(lambda: _in_process(url, worst, use_rollup=True), runs)
    baseline, _ = _median(lambda: _in_process(url, since, use_rollup=False), max(3, runs // 2))
    seconds, rows = LITELLM
    print(f"\nmagent usage report --by model --by day over {entries:,} entries, 30 days, warm (median of {runs}):")
    print(f"  whole command, default window (30 whole UTC days)   {cli:7.3f} s (best {cli_min:.3f} s)   "
          f"target < {TARGET_S:.0f} s: {'met' if cli < TARGET_S else 'NOT met'}")
    print(f"  whole command, --since 30d (a partial first day)    {cli_partial:7.3f} s")
    print(f"  query + pricing in process (rollup plan)            {query:7.3f} s")
    print(f"  same, first day half in the window (--since {isoformat(worst)})  {query_worst:7.3f} s")
    print(f"  baseline: same report from conversation_entries     {baseline:7.3f} s")
    print(f"  ratio baseline / rollup plan                        {baseline / query:7.1f} ×")
    print(f"  context: LiteLLM spend reports ~{seconds:.0f} s at {rows:,} rows; this command does "
          f"{entries / rows:.0f}× the rows in {cli:.2f} s ({seconds / cli:.0f}× less time)")


def _measure_by(url: str, runs: int, workdir: Path, only: list[str] | None = None, before: str | None = None,
                chosen: list[str] | None = None) -> None:
    import itertools

    import psycopg

    with psycopg.connect(url) as conn:
        entries, conversations = conn.execute(
            "SELECT (SELECT count(*) FROM conversation_entries), (SELECT count(*) FROM conversations)").fetchone()
    env = {**os.environ, "MAGENT_DATABASE_URL": url, "XDG_CONFIG_HOME": str(workdir / "config")}
    cases = [(dims, "table") for size in range(1, len(DIMENSIONS) + 1)
             for dims in itertools.combinations(DIMENSIONS, size)]
    cases += [(("conversation",), fmt) for fmt in ("csv", "json", "yaml", TERMINAL)]
    if only:
        wanted = {tuple(part.strip() for part in dims.split(",")) for dims in only}
        cases = [(dims, fmt) for dims, fmt in cases if dims in wanted and fmt == "table"]
    if chosen:
        cases = [(tuple(dims.split(",")), fmt) for dims, fmt in (case.split("/") for case in chosen)]
    print(f"\nevery --by combination over {entries:,} entries and {conversations:,} conversations, whole command, "
          f"default window, output piped unless 'terminal' (median of {runs}); targets at 10 M entries / 500 k "
          f"conversations: {BY_TARGET_S:.0f} s, {BY_TARGET_MB:.0f} MB")
    then = f" {'before s':>9} {'cpu s':>6} {'before MB':>9} {'before/now':>10}" if before else ""
    print("  (cpu s: CPU seconds of magent and of its Postgres server, what the wall time would be on an idle "
          "machine, about)")
    print(f"  {'--by':<32} {'-o':<9} {'lines':>9} {'seconds':>8} {'cpu s':>6} {'× target':>8} {'peak MB':>8} "
          f"{'× target':>8}{then}")
    worst_s = worst_mb = 0.0
    for dims, fmt in cases:
        command = [sys.executable, "-m", "magent", "usage", "report", "-o", "table" if fmt == TERMINAL else fmt,
                   *itertools.chain.from_iterable(("--by", dim) for dim in dims)]
        seconds, cpu, peak_mb, lines = _measured(command, env, runs, url, tty=fmt == TERMINAL)
        worst_s, worst_mb = max(worst_s, seconds), max(worst_mb, peak_mb)
        side = ""
        if before:
            old_s, old_cpu, old_mb, _ = _measured(command, {**env, "PYTHONPATH": before}, runs, url,
                                                  tty=fmt == TERMINAL)
            side = f" {old_s:9.2f} {old_cpu:6.2f} {old_mb:9.0f} {old_s / seconds:9.1f}× (cpu {old_cpu / cpu:.1f}×)"
        print(f"  {','.join(dims):<32} {fmt:<9} {lines:>9,} {seconds:8.2f} {cpu:6.2f} {seconds / BY_TARGET_S:8.2f} "
              f"{peak_mb:8.0f} {peak_mb / BY_TARGET_MB:8.2f}{side}", flush=True)
    print(f"  worst: {worst_s:.2f} s ({worst_s / BY_TARGET_S:.2f}× the target), {worst_mb:.0f} MB "
          f"({worst_mb / BY_TARGET_MB:.2f}× the target)")
    # The store's share of --by conversation: the rest of the command's time is Python formatting the lines.
    rollup, _ = _median(lambda: _streamed(url, ("conversation",), use_rollup=True), max(1, runs))
    entries_only, _ = _median(lambda: _streamed(url, ("conversation",), use_rollup=False), max(1, runs))
    print(f"  --by conversation, query + pricing + reading every line, in process: "
          f"{rollup:.2f} s from usage_conversation_daily, {entries_only:.2f} s from the entries "
          f"({entries_only / rollup:.1f}×)")
    # What the CLI runs for csv and a piped table: the groups folded and formatted by Postgres, read as text.
    from magent.services.store.usage_lines import TableBox

    for label, lines in (("csv", "csv"), ("json", "json"), ("piped table", TableBox("│ ", " │ ", " │\n"))):
        formatted, _ = _median(lambda lines=lines: _streamed(url, ("conversation",), use_rollup=True, lines=lines),
                               max(1, runs))
        print(f"  --by conversation, the same with the lines formatted by Postgres ({label}): {formatted:.2f} s "
              f"(reading the folded lines / this: {rollup / formatted:.1f}×)")
    # The floor of this design: what Postgres alone spends on the statement of the groups' lines.
    for lines in ("csv", "json"):
        alone, _ = _median(lambda lines=lines: _statement_alone(url, lines), max(1, runs))
        print(f"  --by conversation, the groups' statement alone in Postgres ({lines}: every line made, none sent): "
              f"{alone:.2f} s ({alone / BY_TARGET_S:.2f}× the target)")


def _statement_alone(url: str, lines: str) -> None:
    import psycopg
    from psycopg import sql

    from magent.core.cost import default_since, plan_window
    from magent.core.pricing import load_pricing
    from magent.core.timeutil import utcnow
    from magent.services.store.usage_priced import set_up_transaction
    from magent.services.store.usage_priced_sql import price_arrays, streamed_statement

    plan, table = plan_window(default_since(utcnow()), None), load_pricing()
    body, params = streamed_statement(("conversation",), plan, table, True, lines)
    with psycopg.connect(url) as conn, conn.transaction():
        set_up_transaction(conn, lines, one_snapshot=False)
        total = conn.execute(sql.SQL("SELECT sum(octet_length(line)) FROM ({}) AS s").format(body),
                             [*price_arrays(table), *params]).fetchone()[0]
    assert total


def _streamed(url: str, by: tuple[str, ...], *, use_rollup: bool, lines=None) -> None:
    import psycopg

    from magent.core.cost import default_since, plan_window
    from magent.core.pricing import load_pricing
    from magent.core.timeutil import utcnow
    from magent.services.store.usage_priced import priced_usage

    plan = plan_window(default_since(utcnow()), None)
    with psycopg.connect(url) as conn, priced_usage(conn, by, plan, load_pricing(), use_rollup=use_rollup,
                                                    label_widths=lines is not None, lines=lines) as priced:
        assert sum(1 for _ in (priced.report.lines if lines is None else priced.formatted)) > 0


def _measured(command: list[str], env: dict[str, str], runs: int, url: str, *, tty: bool
              ) -> tuple[float, float, float, int]:
    """(median seconds, median CPU seconds of the command and the server, highest peak MB, lines) of `runs` runs."""
    results = []
    for _ in range(max(1, runs)):
        server = _server_cpu(url)
        started = os.times()
        seconds, peak_mb, lines = _run_measured(command, env, tty=tty)
        ended = os.times()
        time.sleep(0.3)  # for the postmaster to reap the command's backend, whose CPU time it then counts
        cpu = ended.children_user + ended.children_system - started.children_user - started.children_system
        results.append((seconds, cpu + _server_cpu(url) - server, peak_mb, lines))
    return (statistics.median(r[0] for r in results), statistics.median(r[1] for r in results),
            max(r[2] for r in results), results[-1][3])


def _server_cpu(url: str) -> float:
    """CPU seconds of the embedded server so far: its postmaster and the backends it reaped."""
    from urllib.parse import parse_qs, urlsplit

    pgdata = Path(parse_qs(urlsplit(url).query)["host"][0])
    pid = (pgdata / "postmaster.pid").read_text().split()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _run_measured(command: list[str], env: dict[str, str], *, tty: bool = False) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB of that process, lines of output) of one run, output through a pipe
    (or a pseudo-terminal of TERMINAL_SIZE)."""
    started = time.perf_counter()
    if tty:
        return _run_in_terminal(command, env, started)
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = sum(1 for _ in process.stdout)  # read as it comes, as `| cat` would
    stderr = process.stderr.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed: {stderr.strip()}")
    return seconds, usage.ru_maxrss / 1024, lines


def _run_in_terminal(command: list[str], env: dict[str, str], started: float) -> tuple[float, float, int]:
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", *TERMINAL_SIZE, 0, 0))
    process = subprocess.Popen(command, env={**env, "COLUMNS": str(TERMINAL_SIZE[1])}, stdout=follower,
                               stderr=subprocess.PIPE)
    os.close(follower)
    lines = 0
    while True:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        lines += chunk.count(b"\n")
    os.close(leader)
    stderr = process.stderr.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed: {stderr.strip()}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, lines


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")


def _in_process(url: str, since: datetime, *, use_rollup: bool) -> None:
    import psycopg

    from magent.core.cost import plan_window, price_usage
    from magent.core.pricing import load_pricing
    from magent.services.store.usage import fetch_usage

    by = ("model", "day")
    with psycopg.connect(url) as conn:
        data = fetch_usage(conn, by, plan_window(since, None), use_rollup=use_rollup)
    report = price_usage(data.rows, load_pricing(), by)
    assert report.total.outputs > 0


def _median(action, runs: int) -> tuple[float, float]:
    """(median, best) wall time of `runs` runs, after one warm-up run."""
    action()  # warm: caches, .pyc files, the server's buffers
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)


if __name__ == "__main__":
    main()
