"""Start-up benchmark: `magent --help` wall time against `python -c "import typer, rich"`, side by side.

    python benchmarks/bench_startup.py [--runs 20]

Target: ratio ≤ 1.3. Runs alternate between the two commands so machine noise hits both alike.
Also checks that no heavy SDK (mistralai, kubernetes, boto3, psycopg) is imported by `--help`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

HEAVY = ("mistralai", "kubernetes", "boto3", "botocore", "psycopg")


def wall_time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def heavy_imports() -> list[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "magent", "--help"], capture_output=True, text=True, check=True
    )
    modules = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    return sorted(modules.intersection(HEAVY))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    magent = [sys.executable, "-m", "magent", "--help"]
    baseline = [sys.executable, "-c", "import typer, rich"]
    wall_time(magent), wall_time(baseline)  # warm the page cache and .pyc files
    magent_times, baseline_times = [], []
    for _ in range(runs):
        magent_times.append(wall_time(magent))
        baseline_times.append(wall_time(baseline))
    m, b = statistics.median(magent_times), statistics.median(baseline_times)
    print(f"magent --help           median {m * 1000:7.1f} ms over {runs} runs")
    print(f"import typer, rich      median {b * 1000:7.1f} ms over {runs} runs")
    print(f"ratio                   {m / b:7.2f}  (target <= 1.30)")
    heavy = heavy_imports()
    print(f"heavy SDKs imported     {', '.join(heavy) if heavy else 'none'}")


if __name__ == "__main__":
    main()
