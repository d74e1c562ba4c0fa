"""Every benchmark without a smoke test of its own runs once at a tiny size, so none can rot.

The figures themselves are each benchmark's job (never a timed assert here): this checks that the script
runs to the end (exit 0) and prints its ratio/figure lines. bench_preflight and bench_keyscan have their own
files (test_bench_preflight.py, test_bench_keyscan.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import require_tool

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@dataclass(frozen=True)
class Smoke:
    script: str
    args: list[str]
    lines: list[str]  # regexes, each matching one whole line of stdout
    tools: list[tuple[str, str]] = field(default_factory=list)  # (executable, how to install it)


SMOKES = [
    Smoke("bench_startup.py", ["--runs", "1", "--no-cluster"], [
        r"import typer, rich \(floor\)\s+median\s+[\d.]+ ms  over 1 runs  cpu\s+[\d.]+ ms",
        *(rf"{case}\s+median\s+[\d.]+ ms  ratio\s+[\d.]+ \(target <= 1\.30\) (ok|OVER)  cpu\s+[\d.]+ ms "
          rf"\([\d.]+x\)  imports: none" for case in ("magent --help", "magent deploy --help", "magent key verify --help")),
        r"magent de<TAB>\s+median\s+[\d.]+ ms  ratio\s+[\d.]+ \(target <= 1\.30\) (ok|OVER)  cpu\s+[\d.]+ ms "
        r"\([\d.]+x\)  imports: none  completes: deploy demo",
    ]),
    Smoke("bench_deploy.py", ["--intervals", "1", "--rounds", "1", "--rollbacks", "1"], [
        r"   interval 1 s: median [\d.]+ s, max [\d.]+ s; target 3 s; ratio max/target [\d.]+",
        *(rf"   {kind:6}: process launch → landed median [\d.]+ s, max [\d.]+ s \(ratio median/target [\d.]+\); "
          rf"command start → answered median [\d.]+ s, max [\d.]+ s \(ratio [\d.]+\)" for kind in ("canary", "undo")),
        r"   kubectl undo \+ status:   median [\d.]+ s, max [\d.]+ s",
        r"   magent rollback, exit:   median [\d.]+ s, max [\d.]+ s; ratio [\d.]+ \(target ≤ 1\.3\)",
        r"   magent, ROLLED BACK:     median [\d.]+ s, max [\d.]+ s; ratio [\d.]+",
        r"   CPU, median:             kubectl [\d.]+ s, magent [\d.]+ s, the stack's imports [\d.]+ s",
        r"   the stack's floor:       median [\d.]+ s, max [\d.]+ s \(Python \+ Typer \+ pydantic \+ PyYAML \+ the "
        r"kubernetes client, no request\); a rollback on it: ratio ≥ [\d.]+ at best",
    ], tools=[("kubectl", "see https://kubernetes.io/docs/tasks/tools/")]),
    Smoke("bench_analysis.py", ["--interval", "1", "--rounds", "1", "--faults", "1", "--min-window", "2"], [
        r"collect\(\) warm median\s+\d+ ms\s+\([\d.]+ of the interval\)",
        r"collect\(\) warm max\s+\d+ ms\s+\([\d.]+; target <= 0\.50\)\s+verdict \w+: .+",
        r"fault onset → FAIL verdict  median\s+[\d.]+ s, max\s+[\d.]+ s over 1 faults",
        r"ratio to interval \+ 2 s\s+[\d.]+\s+\(target <= 1\.00, before the scale-down\)",
    ], tools=[("prometheus", "apt-get install -y --no-install-recommends prometheus")]),
    Smoke("bench_export.py", ["--conversations", "30", "--concurrency", "2", "--processes", "1",
                              "--baseline-sample", "5", "--ingest-entries", "1000"], [
        r"  the floor, 30 histories at concurrency 2, fetched and parsed, nothing else: CPU [\d.]+ ms/request through "
        r"the SDK's httpx2 client alone, [\d.]+ through magent's reader .*; the 2-ms target leaves -?[\d.]+ ms .*",
        r"  sequential baseline: 5 conversations in [\d.]+ s = [\d.]+ conv/s .*",
        r"    concurrency  2, processes 1: +[\d.]+ req/s of +100 = +[\d.]+% \(target 85 %: [\d.]+×\) \| +[\d.]+× "
        r"the baseline, ceiling +[\d.]+× \(target 20× = [\d.]+× the ceiling\)",
        r"  ceiling: 2 in flight at 20 ms = 100 req/s against the baseline's [\d.]+ conv/s bounds the ratio to "
        r"[\d.]+×; the 20× target is (within|out of) reach at these settings \(it needs concurrency ≥ \d+\).*",
        r"  paced by .*bound 100 req/s  →  +[\d.]+% \(target ≥ 85 %\)",
        r"ingest: 1,000 entries in [\d.]+ s  →  [\d,]+ entries/s \(target ≥ 50,000/s; [\d.]+× the target\)",
    ]),
    Smoke("bench_export_workers.py", ["--conversations", "30", "--rate-limit", "6000", "--workers", "1"], [
        r"export workers: 30 conversations, limit 6,000 requests/min \(bound 100\.0 req/s\), .*",
        r"  1 worker\(s\): +[\d.]+ conv/s of 100\.0 req/s = +[\d.]+% of the bound \(target ≥ 85 %\), 429s "
        r"[\d.]+% of [\d,]+ requests \(target < 5 %\), [\d.]+ s",
    ]),
    Smoke("bench_usage_report.py", ["--entries", "2000", "--runs", "1", "--by-only", "conversation"], [
        r"  whole command, default window \(30 whole UTC days\) +[\d.]+ s \(best [\d.]+ s\)   "
        r"target < 1 s: (met|NOT met)",
        r"  query \+ pricing in process \(rollup plan\) +[\d.]+ s",
        r"  ratio baseline / rollup plan +[\d.]+ ×",
        r"  conversation +table +[\d,]+ +[\d.]+ +[\d.]+ +[\d.]+ +\d+ +[\d.]+",  # lines, s, cpu s, ×, MB, ×
        r"  worst: [\d.]+ s \([\d.]+× the target\), \d+ MB \([\d.]+× the target\)",
        r"  --by conversation, query \+ pricing \+ reading every line, in process: [\d.]+ s from "
        r"usage_conversation_daily, [\d.]+ s from the entries \([\d.]+×\)",
        *(rf"  --by conversation, the same with the lines formatted by Postgres \({label}\): [\d.]+ s \(reading "
          r"the folded lines / this: [\d.]+×\)" for label in ("csv", "json", "piped table")),
        *(rf"  --by conversation, the groups' statement alone in Postgres \({lines}: every line made, none sent\): "
          r"[\d.]+ s \([\d.]+× the target\)" for lines in ("csv", "json")),
    ]),
    Smoke("bench_mistral_sim.py", ["--conversations", "50", "--threads", "2", "--chat-calls", "20"], [
        r"generate 50 conversations, \d+ entries: [\d.]+ s \(target 2 s, ratio [\d.]+\)",
        r"read \d+ entries: memory [\d.]+ s, httpx [\d.]+ s \(\d+ req/s\), SDK [\d.]+ s; "
        r"ratio httpx/memory [\d.]+, SDK/httpx [\d.]+",
        r"chat completions from 2 threads: \d+/s",
    ]),
]


@pytest.mark.parametrize("smoke", SMOKES, ids=[s.script.removesuffix(".py") for s in SMOKES])
def test_benchmark_runs_at_a_tiny_size(smoke: Smoke, tmp_path):
    for tool, hint in smoke.tools:
        require_tool(tool, hint)
    env = {**os.environ, "NO_COLOR": "1", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, str(BENCHMARKS / smoke.script), *smoke.args], capture_output=True,
                          text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    for line in smoke.lines:
        assert re.search(f"^{line}$", done.stdout, re.MULTILINE), f"no line matching {line!r} in:\n{done.stdout}"


def test_every_benchmark_has_a_smoke_test():
    """A new benchmark fails here until it is smoke-tested, in this file or in a test_bench_NAME.py of its own."""
    own_files = {p.name.removeprefix("test_") for p in Path(__file__).parent.glob("test_bench_*.py")}
    covered = {s.script for s in SMOKES} | own_files
    missing = sorted(p.name for p in BENCHMARKS.glob("bench_*.py") if p.name not in covered)
    assert not missing, f"benchmarks without a smoke test: {missing}"
