"""Mistral simulator benchmark: seeded data generation, and reading it back over HTTP, side by side.

    python benchmarks/bench_mistral_sim.py [--conversations 2000] [--entries 20] [--threads 8] [--chat-calls 800]

Prints:
- generation of N conversations × ~E entries (metadata, then every history) against the 2 s target;
- an export-style read (page the conversation list, fetch every history) with httpx, with the official SDK,
  and straight from memory: the HTTP/memory ratio is the price of the real server;
- chat completions per second from T threads (the server is one asyncio loop).
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fixtures.mistral import SIM_API_KEY, sim_keys  # noqa: E402

from magent.sandbox.mistral import MistralSimulator, SimulatorConfig  # noqa: E402
from magent.sandbox.mistral.data import Dataset  # noqa: E402

PAGE = 100


def generate(conversations: int, entries: int) -> tuple[float, int]:
    started = time.perf_counter()
    data = Dataset(seed=1, agents=20, conversations=conversations, days=90, entries_per_conversation=entries)
    total = sum(len(data.history(c["id"])) for c in data.conversations)
    return time.perf_counter() - started, total


def read_http(url: str) -> int:
    import httpx

    total, page = 0, 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {SIM_API_KEY}"}) as http:
        while True:
            batch = http.get("/v1/conversations", params={"page": page, "page_size": PAGE}).json()
            total += sum(len(http.get(f"/v1/conversations/{c['id']}/history").json()["entries"]) for c in batch)
            if len(batch) < PAGE:
                return total
            page += 1


def read_sdk(url: str) -> int:
    from mistralai.client import Mistral

    client, total, page = Mistral(api_key=SIM_API_KEY, server_url=url), 0, 0
    while True:
        batch = client.beta.conversations.list(page=page, page_size=PAGE)
        total += sum(len(client.beta.conversations.get_history(conversation_id=c.id).entries) for c in batch)
        if len(batch) < PAGE:
            return total
        page += 1


def read_memory(data: Dataset) -> int:
    return sum(len(data.history(c["id"])) for c in data.conversations)


def timed(function, *args) -> tuple[float, int]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def chat_rate(url: str, threads: int, calls: int) -> float:
    import httpx

    body = {"model": "mistral-small-latest", "messages": [{"role": "user", "content": "hi"}]}

    def worker(_: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {SIM_API_KEY}"}) as http:
            for _ in range(calls // threads):
                http.post("/v1/chat/completions", json=body).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    return calls / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--chat-calls", type=int, default=800, help="chat completions sent, shared by the threads")
    args = parser.parse_args()
    seconds, entries = generate(args.conversations, args.entries)
    print(f"generate {args.conversations} conversations, {entries} entries: {seconds:.2f} s "
          f"(target 2 s, ratio {seconds / 2:.2f})")
    config = SimulatorConfig(keys=sim_keys(), agents=20, conversations=args.conversations, days=90,
                             entries_per_conversation=args.entries)
    with MistralSimulator(config) as sim:
        read_memory(sim.data)  # generate every history first: the reads below measure serving only
        memory, n = timed(read_memory, sim.data)
        http, n_http = timed(read_http, sim.url)
        sdk, n_sdk = timed(read_sdk, sim.url)
        assert n == n_http == n_sdk, (n, n_http, n_sdk)
        requests = args.conversations + args.conversations // PAGE + 1
        print(f"read {n} entries: memory {memory:.2f} s, httpx {http:.2f} s ({requests / http:.0f} req/s), "
              f"SDK {sdk:.2f} s; ratio httpx/memory {http / memory:.1f}, SDK/httpx {sdk / http:.2f}")
        rate = chat_rate(sim.url, args.threads, args.chat_calls)
        print(f"chat completions from {args.threads} threads: {rate:.0f}/s")


if __name__ == "__main__":
    main()
