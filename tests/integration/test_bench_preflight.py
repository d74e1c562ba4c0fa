"""benchmarks/bench_preflight.py runs once at its smallest size, so it cannot rot (the ratio is its own job)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_preflight.py"


def test_bench_preflight_runs_and_prints_its_ratio(tmp_path):
    env = {**os.environ, "NO_COLOR": "1", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, str(BENCH), "--runs", "1"], capture_output=True, text=True,
                          timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"^whole checklist \(\d+ checks\)\s+median\s+[\d.]+ ms$", done.stdout, re.M), done.stdout
    assert re.search(r"^ratio whole / slowest\s+[\d.]+\s+\(target <= 1.20\)$", done.stdout, re.M), done.stdout
