"""`conversations export` fetching in worker processes: same rows, one shared pace, no orphans after SIGKILL."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import time
from pathlib import Path

from fixtures.mistral import SIM_API_KEY
from test_export_kill import checkpoints
from test_export_reliability import assert_store_equals_simulator, export

from magent.core.config import StoreSettings
from magent.core.export_plan import context_for, entry_rows
from magent.sandbox.mistral import FaultConfig
from magent.services.mistral.conversations import open_source
from magent.services.store import open_store
from magent.workflows.export.fetch import ProcessFetcher, ThreadFetcher
from magent.workflows.export.sinks import PostgresSink


def wait_for(condition, timeout_s: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_worker_processes_return_the_rows_threads_would_make(make_mistral_sim):
    sim = make_mistral_sim(agents=3, conversations=16, seed=31)
    source, client = open_source(sim.url, SIM_API_KEY, rate_per_minute=6000)
    results: queue.Queue = queue.Queue()
    with client:
        agents = {agent["id"]: agent for agent in source.agents()}
        conversations = next(source.conversation_pages())
        local = ThreadFetcher(source, agents, False, 2, results.put)
        fetcher = ProcessFetcher(source.spec, agents, False, 2, 2, results.put, local=local)
        wait_for(lambda: fetcher._ready.value == 2, what="the workers to start")  # so that they, not threads, fetch
        for conversation in conversations:
            fetcher.submit(conversation)
        fetcher.close(wait=True)
    fetched = {item.conversation["id"]: item for item in iter_queue(results)}
    assert fetcher.remote_requests == len(conversations) == len(fetched) and local.backlog == 0
    for conversation in conversations:
        expected = entry_rows(sim.data.history(conversation["id"]), context_for(conversation, agents))
        assert fetched[conversation["id"]].rows == expected and fetched[conversation["id"]].error is None


def iter_queue(results: queue.Queue):
    while not results.empty():
        item = results.get_nowait()
        assert not isinstance(item, BaseException), item
        yield item


def test_export_with_processes_equals_the_simulator_despite_faults(make_mistral_sim, store):
    faults = FaultConfig(latency_ms=30, error_rate=0.05, rate_limit_rate=0.03, retry_after_s=1)
    sim = make_mistral_sim(agents=3, conversations=120, seed=32, faults=faults)
    summary = export(sim, PostgresSink(store), concurrency=4, processes=2)
    assert (summary.status, summary.conversations, summary.failed) == ("succeeded", 120, 0)
    # agents, two pages of conversations, one history each, wherever fetched; the faults' retries counted apart
    assert summary.requests - summary.retries == 1 + 2 + 120 and summary.refused <= summary.retries > 0
    assert_store_equals_simulator(store, sim)
    again = export(sim, PostgresSink(store), full=True, processes=2)
    assert (again.conversations, again.rows_changed) == (120, 0)


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (from /proc: workers, and multiprocessing's resource tracker)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if Path(f"/proc/{pid}").exists()
            and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"}


def test_sigkill_of_the_parent_leaves_no_worker_and_the_rerun_is_exact(make_mistral_sim, pg_url, tmp_path):
    conversations = 400
    sim = make_mistral_sim(agents=3, conversations=conversations, seed=33, faults=FaultConfig(latency_ms=30))
    env = {**os.environ, "MISTRAL_API_KEY": SIM_API_KEY, "MAGENT_DATABASE_URL": pg_url, "NO_COLOR": "1"}
    command = [sys.executable, "-m", "magent", "conversations", "export", "--base-url", sim.url,
               "--batch-size", "5", "--concurrency", "2", "--processes", "2", "-o", "json"]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: len(descendants(process.pid)) >= 3 or process.poll() is not None, what="two workers")
        wait_for(lambda: checkpoints(pg_url) >= 20 or process.poll() is not None, what="some batches")
        children = descendants(process.pid)
        assert process.poll() is None, "the export finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        wait_for(lambda: not alive(children), timeout_s=10, what=f"the workers {alive(children)} to exit")
    finally:
        if process.poll() is None:
            process.kill()
    done = checkpoints(pg_url)
    assert done < conversations
    final = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, timeout=180, check=False)
    assert final.returncode == 0, final.stderr.decode()
    assert f'"conversations": {conversations - done}' in final.stdout.decode()
    store = open_store(StoreSettings(database_url=pg_url))
    assert_store_equals_simulator(store, sim)
    with store.connection() as conn:
        duplicates = conn.execute("SELECT count(*) - count(DISTINCT (conversation_id, position)) "
                                  "FROM conversation_entries").fetchone()[0]
    assert duplicates == 0
