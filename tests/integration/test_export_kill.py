"""`magent conversations export` killed with SIGKILL at random moments, then run again: an exact copy."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import psycopg
from fixtures.mistral import SIM_API_KEY
from test_export_reliability import assert_store_equals_simulator

from magent.core.config import StoreSettings
from magent.sandbox.mistral import FaultConfig
from magent.services.store import open_store

CONVERSATIONS = 60
TRIALS = 3


def start_export(sim_url: str, database_url: str, tmp_path) -> subprocess.Popen:
    env = {**os.environ, "MISTRAL_API_KEY": SIM_API_KEY, "MAGENT_DATABASE_URL": database_url, "NO_COLOR": "1"}
    command = [sys.executable, "-m", "magent", "conversations", "export", "--base-url", sim_url,
               "--batch-size", "3", "--concurrency", "2", "-o", "json"]
    return subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def checkpoints(database_url: str) -> int:
    try:
        with psycopg.connect(database_url) as conn:
            return conn.execute("SELECT count(*) FROM export_checkpoints").fetchone()[0]
    except psycopg.Error:  # the first run has not created the tables yet
        return 0


def kill_when(process: subprocess.Popen, database_url: str, target: int, deadline_s: float = 60) -> int:
    """SIGKILL the export once `target` conversations are committed (0: at a random moment before any)."""
    started = time.monotonic()
    if target == 0:
        time.sleep(random.uniform(0.2, 1.5))
    else:
        while checkpoints(database_url) < target and process.poll() is None:
            assert time.monotonic() - started < deadline_s, "the export made no progress"
            time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    return checkpoints(database_url)


def test_sigkill_at_random_points_then_rerun_gives_an_exact_copy(make_mistral_sim, pg_url, tmp_path):
    rng = random.Random(int(os.environ.get("MAGENT_KILL_SEED", "7")))
    sim = make_mistral_sim(agents=3, conversations=CONVERSATIONS, seed=21, faults=FaultConfig(latency_ms=15))
    committed = []
    for trial in range(TRIALS):
        done = checkpoints(pg_url)
        # the first trial dies at a random moment, the others after a random number of committed batches
        target = 0 if trial == 0 else done + rng.randint(1, (CONVERSATIONS - done) // (TRIALS - trial + 1))
        process = start_export(sim.url, pg_url, tmp_path)
        committed.append(kill_when(process, pg_url, target))
        assert process.returncode == -signal.SIGKILL
    assert committed[-1] < CONVERSATIONS, f"an export finished before it could be killed: {committed}"
    final = start_export(sim.url, pg_url, tmp_path)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()
    assert f'"conversations": {CONVERSATIONS - committed[-1]}' in out.decode()  # only what was missing
    store = open_store(StoreSettings(database_url=pg_url))
    assert_store_equals_simulator(store, sim)
    with store.connection() as conn:
        duplicates = conn.execute("SELECT count(*) - count(DISTINCT (conversation_id, position)) "
                                  "FROM conversation_entries").fetchone()[0]
        statuses = [s for (s,) in conn.execute("SELECT status FROM export_runs ORDER BY id").fetchall()]
    assert duplicates == 0
    assert statuses[-1] == "succeeded" and set(statuses[:-1]) <= {"interrupted"}
