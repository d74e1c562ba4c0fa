"""Export workers (`conversations export --plan`, then `--worker` processes) against a rate limit as the bound.

    python benchmarks/bench_export_workers.py [--conversations 1500] [--rate-limit 1200] [--workers 1 2 4]
                                              [--latency-ms 20] [--concurrency 8]

The Mistral simulator runs in its own process with a requests-per-minute limit (one key per worker count, so
that each run starts with an empty 60-second window); Postgres is a fresh embedded server. For 1, 2 and 4
worker processes (`JOB_COMPLETION_INDEX` set, as the pods of an Indexed Job) against one plan of as many
shards, prints the throughput (conversations, one history request each, per second) against the bound (the
limit / 60), and the share of requests answered 429 (target: ≥ 85 % of the bound, 429s < 5 %).

Throughput is measured from the first conversation claimed to the last written, the processes' start-up (interpreter,
SDK, tokenizer: seconds, paid once per pod) left out; give the run more than a minute of work (the default:
75 s at 1,200/min) so that the sliding window fills and the pacing is tested in its steady state.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIMULATOR = """
import sys
from magent.sandbox.mistral import FaultConfig, KeySpec, MistralSimulator, SimulatorConfig
keys, conversations, latency_ms, rpm = sys.argv[1].split(","), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
config = SimulatorConfig(keys=[KeySpec(key, rpm=rpm, tpm=10**12) for key in keys], agents=10,
                         conversations=conversations, seed=1, faults=FaultConfig(latency_ms=latency_ms))
sim = MistralSimulator(config).start()
for conversation in sim.data.conversations:  # generate every history now, not while being measured
    sim.data.history(conversation["id"])
print(sim.url, flush=True)
sys.stdin.read()
"""


def bench_key(index: int) -> str:
    return f"BenchWorkerKey{index:02d}pQ2vX9mR4tL8wZ3"  # the real shape: 32 alphanumeric characters


def start_simulator(keys: list[str], conversations: int, latency_ms: float, rpm: int) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-c", SIMULATOR, ",".join(keys), str(conversations), str(latency_ms),
                                str(rpm)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return process, process.stdout.readline().strip()


def fresh_database(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.replace("/postgres?", f"/{name}?")


def magent(env: dict[str, str], *args: str, index: int | None = None) -> subprocess.Popen:
    extra = {} if index is None else {"JOB_COMPLETION_INDEX": str(index)}
    return subprocess.Popen([sys.executable, "-m", "magent", "conversations", "export", *args, "-o", "json"],
                            env={**env, **extra}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def progress(conn) -> tuple[int, int]:
    """(rows ever claimed, rows settled)."""
    return conn.execute("SELECT count(*) FILTER (WHERE attempts > 0), count(*) FILTER (WHERE state <> 'todo') "
                        "FROM export_work").fetchone()


def run_workers(env: dict[str, str], database_url: str, workers: int, concurrency: int) -> dict[str, float]:
    import psycopg

    plan = magent(env, "--plan", "--shards", str(workers))
    out, err = plan.communicate(timeout=600)
    if plan.returncode != 0:
        sys.exit(f"--plan failed: {err[-2000:]}")
    total = json.loads(out)["total"]
    processes = [magent(env, "--worker", "--concurrency", str(concurrency), index=i) for i in range(workers)]
    first = last = None
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            (claimed, done), now = progress(conn), time.monotonic()
            if first is None and claimed:
                first = now
            if done >= total:
                last = now
                break
            if all(p.poll() is not None for p in processes):
                sys.exit("the workers stopped before the plan was done: "
                         + " | ".join(p.stderr.read()[-1000:] for p in processes))
            time.sleep(0.05)
        for process in processes:
            out, err = process.communicate(timeout=120)
            if process.returncode != 0:
                sys.exit(f"a worker failed (exit {process.returncode}): {err[-2000:]}")
        requests, refused = conn.execute(
            "SELECT sum(requests), sum(refused) FROM export_workers").fetchone()
    elapsed = max(last - first, 1e-9)
    return {"total": total, "rate": total / elapsed, "elapsed": elapsed,
            "requests": int(requests), "refused": int(refused)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1500)
    parser.add_argument("--rate-limit", type=int, default=1200, help="requests/minute allowed per key (the bound)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8, help="histories fetched at once by each worker")
    args = parser.parse_args()

    from magent.services.store.embedded import ensure_running, stop_embedded

    keys = [bench_key(i) for i in range(len(args.workers))]
    sim, url = start_simulator(keys, args.conversations, args.latency_ms, args.rate_limit)
    server_dir = Path(tempfile.mkdtemp(prefix="magent-bench-workers-"))
    server_dir.chmod(0o755)  # as root, the server's own user must reach its data directory
    bound = args.rate_limit / 60
    try:
        admin_url = ensure_running(server_dir / "data")
        print(f"export workers: {args.conversations:,} conversations, limit {args.rate_limit:,} requests/min "
              f"(bound {bound:.1f} req/s), {args.latency_ms:g} ms latency, concurrency {args.concurrency} per worker")
        for key, workers in zip(keys, args.workers):
            env = {**os.environ, "MISTRAL_API_KEY": key, "MAGENT_MISTRAL_URL": url, "NO_COLOR": "1",
                   "MAGENT_DATABASE_URL": fresh_database(admin_url, f"bench_workers_{workers}")}
            result = run_workers(env, env["MAGENT_DATABASE_URL"], workers, args.concurrency)
            share = 100 * result["refused"] / max(result["requests"], 1)
            print(f"  {workers} worker(s): {result['rate']:6.1f} conv/s of {bound:.1f} req/s = "
                  f"{100 * result['rate'] / bound:5.1f}% of the bound (target ≥ 85 %), 429s {share:.1f}% of "
                  f"{result['requests']:,} requests (target < 5 %), {result['elapsed']:.1f} s", flush=True)
    finally:
        sim.stdin.close()
        sim.wait(timeout=30)
        stop_embedded(server_dir / "data")
        shutil.rmtree(server_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
