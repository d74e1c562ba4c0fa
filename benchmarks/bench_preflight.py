"""Preflight benchmark: the whole checklist's wall time against its slowest single check, side by side.

    python benchmarks/bench_preflight.py [--runs 3]

Runs on the sandbox (`magent demo`'s stack: Mistral and Kubernetes simulators, the sample agent app, the
sample repository), served by a child process as remote systems would be: servers in this process would
compete with the checks for its GIL. Each run times the whole checklist once, then every check alone; the
ratio of the whole to the slowest check shows whether the checks really run side by side. Target: ≤ 1.2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(checklist, settings, options_factory, only: list[str] | None = None):
    from magent.checks import CheckContext
    from magent.workflows.preflight import RunOptions, run_preflight

    started = time.perf_counter()
    report = run_preflight(checklist, CheckContext(settings, options_factory()), RunOptions(only=only or ()))
    return time.perf_counter() - started, report


_SERVE = """
import json, sys, time
from pathlib import Path
from magent.sandbox.stack import SandboxStack
with SandboxStack(Path(sys.argv[1])) as stack:
    (Path(sys.argv[1]) / "env.json").write_text(json.dumps(stack.env))
    while True:
        time.sleep(3600)
"""


@contextlib.contextmanager
def sandbox_process(root: Path):
    """The sandbox served by a child process; yields its environment (the throwaway key included)."""
    child = subprocess.Popen([sys.executable, "-c", _SERVE, str(root)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (root / "env.json").is_file():
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.05)
        time.sleep(0.1)  # the file is written in one call; let it land
        yield json.loads((root / "env.json").read_text())
    finally:
        child.terminate()
        child.wait(timeout=30)


def measure(runs: int) -> dict[str, float]:
    from magent.checks import PreflightOptions, validate_item
    from magent.core.checklist import load_checklist
    from magent.core.config import load_settings

    with tempfile.TemporaryDirectory(prefix="magent-bench-") as root, sandbox_process(Path(root)) as env:
        os.environ.update(env)
        settings, _, _ = load_settings()
        config = settings.preflight
        checklist = load_checklist(config.checklist, validate_check=validate_item)

        def options() -> PreflightOptions:
            return PreflightOptions(repo=Path(config.repo), deployment=config.deployment,
                                    model_config=config.model_config_globs, tests_cmd=config.tests_cmd,
                                    health_url=config.health_url, timeout_s=60)

        automatic = [p.item.id for p in checklist.items if not p.item.manual]
        run_once(checklist, settings, options)  # warm imports and connections
        wholes, slowest, names = [], [], []
        for _ in range(runs):
            whole, report = run_once(checklist, settings, options)
            singles = {item: run_once(checklist, settings, options, [item])[0] for item in automatic}
            name, single = max(singles.items(), key=lambda pair: pair[1])
            wholes.append(whole), slowest.append(single), names.append(name)
        return {"whole": statistics.median(wholes), "slowest": statistics.median(slowest),
                "slowest_item": max(set(names), key=names.count), "checks": len(automatic),
                "sum": sum(singles.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    figures = measure(parser.parse_args().runs)
    ratio = figures["whole"] / figures["slowest"]
    print(f"whole checklist ({figures['checks']} checks)  median {figures['whole'] * 1000:8.1f} ms")
    print(f"slowest single check ({figures['slowest_item']})  median {figures['slowest'] * 1000:8.1f} ms")
    print(f"sum of the single checks (last run)   {figures['sum'] * 1000:8.1f} ms")
    print(f"ratio whole / slowest                 {ratio:8.2f}  (target <= 1.20)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    main()
