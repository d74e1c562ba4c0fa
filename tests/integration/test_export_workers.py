"""The export as an Indexed Job, its pods played by local processes: `--plan`, then three `--worker` processes
with JOB_COMPLETION_INDEX set against a rate-limited simulator, one SIGKILLed mid-way and replaced (as the Job
controller would), one stopped with SIGTERM (a deleted pod): the store equals the simulator's truth, nothing
duplicated, the plan done."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psycopg
from fixtures.mistral import SIM_API_KEY
from test_export_reliability import assert_store_equals_simulator

from magent.core.config import StoreSettings
from magent.sandbox.mistral import FaultConfig, KeySpec
from magent.services.store import open_store

CONVERSATIONS = 60
SHARDS = 3
RPM = 900  # the bound: 60 histories take ~4.5 s, time enough to kill a worker mid-way
LEASE_S = 5


def magent(env: dict[str, str], *args: str, index: int | None = None) -> subprocess.Popen:
    extra = {} if index is None else {"JOB_COMPLETION_INDEX": str(index)}
    return subprocess.Popen([sys.executable, "-m", "magent", "conversations", "export", *args, "-o", "json"],
                            env={**env, **extra}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def written_by(database_url: str, pid: int) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM export_work WHERE state = 'done' AND claimed_by LIKE %s",
                            (f"%/{pid}",)).fetchone()[0]


def held_by(database_url: str, pid: int) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM export_work WHERE state = 'todo' AND claimed_by LIKE %s "
                            "AND lease_until IS NOT NULL",
                            (f"%/{pid}",)).fetchone()[0]


def test_workers_one_killed_and_replaced_export_exactly_the_simulator(cli, make_mistral_sim, pg_url):
    sim = make_mistral_sim(keys=[KeySpec(SIM_API_KEY, rpm=RPM, tpm=10**12)], agents=3, conversations=CONVERSATIONS,
                           seed=5, faults=FaultConfig(latency_ms=10))
    env = {**os.environ, "MISTRAL_API_KEY": SIM_API_KEY, "MAGENT_DATABASE_URL": pg_url,
           "MAGENT_MISTRAL_URL": sim.url, "NO_COLOR": "1"}
    planned = cli("conversations", "export", "--plan", "--shards", str(SHARDS), "-o", "json", env=env)
    assert planned.exit_code == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert (plan["total"], plan["shards"], plan["agents"]) == (CONVERSATIONS, [20, 20, 20], 3)

    worker_args = ("--worker", "--plan-id", str(plan["plan_id"]), "--lease", str(LEASE_S), "--batch-size", "4",
                   "--concurrency", "2")  # as the Job's pods run: a pod started after the plan is done exits 0
    # Started one after another, each once the one before is at work: on a loaded machine, workers started at once
    # may find the plan drained by the others before they claim anything, and there would be nothing to kill.
    deadline = time.monotonic() + 120  # loaded CI machines start processes slowly
    victim = magent(env, *worker_args, index=0)
    while written_by(pg_url, victim.pid) < 4 or held_by(pg_url, victim.pid) == 0:  # wrote a batch, holds more
        assert victim.poll() is None and time.monotonic() < deadline, victim.stderr.read()
        time.sleep(0.05)
    stopped = magent(env, *worker_args, index=1)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    assert held_by(pg_url, victim.pid) > 0  # claimed, never written: the others must take them over
    replacement = magent(env, *worker_args, index=0)

    # a pod Kubernetes deletes gets SIGTERM: it gives its rows back at once, no lease to wait out
    while held_by(pg_url, stopped.pid) == 0:
        assert stopped.poll() is None and time.monotonic() < deadline, stopped.stderr.read()
        time.sleep(0.05)
    stopped.send_signal(signal.SIGTERM)
    _, err = stopped.communicate(timeout=30)
    assert stopped.returncode == 130 and "Traceback" not in err, err
    assert held_by(pg_url, stopped.pid) == 0
    last = magent(env, *worker_args, index=2)

    summaries = []
    for process in (last, replacement):
        out, err = process.communicate(timeout=90)
        assert process.returncode == 0, err
        summaries.append(json.loads(out))
    assert all(s["status"] == "succeeded" and s["failed"] == 0 for s in summaries)
    survivors_wrote = sum(s["conversations"] for s in summaries)
    gone_wrote = written_by(pg_url, victim.pid) + written_by(pg_url, stopped.pid)
    assert survivors_wrote + gone_wrote == CONVERSATIONS  # each written once, by one worker

    store = open_store(StoreSettings(database_url=pg_url))
    assert_store_equals_simulator(store, sim)
    with store.connection() as conn:
        duplicates = conn.execute("SELECT count(*) - count(DISTINCT (conversation_id, position)) "
                                  "FROM conversation_entries").fetchone()[0]
        plan_row = conn.execute("SELECT status, rate_limit_per_min FROM export_plans").fetchone()
        run = conn.execute("SELECT status, conversations, high_water FROM export_runs").fetchone()
        checkpoints = conn.execute("SELECT count(*) FROM export_checkpoints").fetchone()[0]
        states = dict(conn.execute("SELECT state, count(*) FROM export_work GROUP BY state").fetchall())
    assert duplicates == 0 and checkpoints == CONVERSATIONS and states == {"done": CONVERSATIONS}
    assert plan_row == ("done", RPM)  # the limit the workers learned and shared
    assert run[0] == "succeeded" and run[2] is not None
