"""benchmarks/bench_keyscan.py runs at a tiny size, so it cannot rot (the speed itself is the benchmark's job)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_TOOLS_VAR

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_keyscan.py"


def require_module(name: str, hint: str) -> None:
    """Like `require_tool`, for a Python package: skip locally, fail when MAGENT_REQUIRE_TOOLS is set."""
    if importlib.util.find_spec(name) is None:
        reason = f"{name} is not installed: {hint}"
        if os.environ.get(REQUIRE_TOOLS_VAR):
            pytest.fail(f"{reason} ({REQUIRE_TOOLS_VAR} is set, so this is a failure)")
        pytest.skip(reason)


def test_bench_keyscan_tiny():
    require_module("detect_secrets", "pip install detect-secrets (in the test extra)")
    done = subprocess.run([sys.executable, str(BENCH), "--files", "6", "--runs", "1"], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "6 files" in out and "3 planted keys" in out
    assert re.search(r"^magent\s+[\d.]+ MB/s .*3 Mistral keys\)$", out, re.MULTILINE), out
    assert re.search(r"^detect-secrets\s+[\d.]+ MB/s", out, re.MULTILINE), out
    assert re.search(r"^ratio\s+[\d.]+\s+\(target >= 5.00\)$", out, re.MULTILINE), out
