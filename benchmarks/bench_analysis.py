"""Analysis benchmark: `collect()` time against the analysis interval, and fault onset → FAIL verdict.

    python benchmarks/bench_analysis.py [--interval 5] [--rounds 8] [--faults 3] [--min-window 10]

Runs a real Prometheus (Debian's `prometheus`, scrape every 1 s) over synthetic canary/stable traffic, the
Mistral API simulator and moto (CloudWatch), with all four providers enabled, and prints:

- collect() wall time (cold, then warm median and max) as a share of the interval (target <= 0.5, so the
  verdict is ready long before the next analysis);
- fault onset (the canary starts answering 50 % 5xx at a random moment) → first FAIL verdict of an analysis
  loop run every interval, as a ratio of `interval + 2 s` (the deploy target, where scaling to zero follows).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fixtures.aws import aws_client  # noqa: E402
from fixtures.mistral import SIM_API_KEY, sim_keys  # noqa: E402
from fixtures.prometheus import SyntheticTraffic, TrafficProfile, _start  # noqa: E402

from magent.core.analysis_config import AnalysisTarget, parse_analysis  # noqa: E402
from magent.core.judge import Verdict, analyse  # noqa: E402
from magent.sandbox.server import ServerThread  # noqa: E402
from magent.services.metrics import PROVIDERS, collect, prepare  # noqa: E402

HEALTHY = TrafficProfile(rps=50)
FAULTY = TrafficProfile(rps=50, ratio_5xx=0.5)


def traffic_app(apps: dict[str, SyntheticTraffic]):
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    async def metrics(request):
        return PlainTextResponse(apps[request.path_params["name"]].render())

    async def health(request):
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/{name}/metrics", metrics), Route("/health", health)])


def start_prometheus(server: ServerThread, names: list[str], workdir: Path):
    binary = shutil.which("prometheus")
    if binary is None:
        sys.exit("prometheus is not installed: apt-get install -y --no-install-recommends prometheus")
    jobs = "".join(
        f"  - job_name: {name}\n    metrics_path: /{name}/metrics\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{server.port}'], labels: {{run: {name}}}}}]\n"
        for name in names
    )
    config = workdir / "prometheus.yml"
    config.write_text(f"global: {{scrape_interval: 1s}}\nscrape_configs:\n{jobs}")
    return _start(binary, config, workdir)


def settings_for(run: str, prometheus_url: str, health_url: str, moto_url: str, min_window_s: float):
    return parse_analysis({
        "timeout": "5s",
        "web": {"url": health_url},
        "prometheus": {"url": prometheus_url, "selector": f'run="{run}"', "min_window": f"{min_window_s:g}s"},
        "cloudwatch": {"namespace": "Bench", "region": "us-east-1", "endpoint_url": moto_url,
                       "metrics": [{"name": "errors", "metric_name": "Errors", "max": 0}]},
        "mistral": {"enabled": True},
        "statistics": {"min_requests": 50},
    })


def time_collect(settings, target, interval: float, rounds: int) -> None:
    started = time.perf_counter()
    collect(settings, target, interval_s=interval)
    cold = time.perf_counter() - started
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        outcome = analyse(collect(settings, target, interval_s=interval))  # the last verdict is printed below
        times.append(time.perf_counter() - started)
    median, worst = statistics.median(times), max(times)
    for name in settings.enabled_providers():
        alone = []
        for _ in range(rounds):
            started = time.perf_counter()
            PROVIDERS[name](settings, target, interval / 2)
            alone.append(time.perf_counter() - started)
        print(f"  {name:<12} alone median {statistics.median(alone) * 1000:7.0f} ms")
    print(f"collect() cold              {cold * 1000:7.0f} ms  ({cold / interval:.2f} of the {interval:g} s interval)")
    print(f"collect() warm median       {median * 1000:7.0f} ms  ({median / interval:.2f} of the interval)")
    print(f"collect() warm max          {worst * 1000:7.0f} ms  ({worst / interval:.2f}; target <= 0.50)"
          f"   verdict {outcome.summary()}")


def detection_lag(app: SyntheticTraffic, settings, target, interval: float, rng: random.Random) -> float:
    """Analyses every `interval` (as deploy does); the fault starts at a random moment between two."""
    onset: dict[str, float] = {}

    def fault() -> None:
        app.set_profile("canary", FAULTY)
        onset["at"] = time.monotonic()

    threading.Timer(rng.uniform(0.5, interval + 0.5), fault).start()
    next_analysis = time.monotonic()
    while True:
        verdict = analyse(collect(settings, target, interval_s=interval)).verdict
        if "at" in onset and verdict is Verdict.FAIL:
            return time.monotonic() - onset["at"]
        next_analysis += interval
        time.sleep(max(0.0, next_analysis - time.monotonic()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--faults", type=int, default=3)
    parser.add_argument("--min-window", type=float, default=10.0,
                        help="Prometheus min_window, seconds (the script first waits for this much traffic + 3 s)")
    args = parser.parse_args()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")  # moto accepts any credentials
    from moto.server import ThreadedMotoServer

    from magent.sandbox.mistral import MistralSimulator, SimulatorConfig

    names = ["steady"] + [f"fault{i}" for i in range(args.faults)]
    apps = {name: SyntheticTraffic({"stable": ("v1", HEALTHY), "canary": ("v2", HEALTHY)}) for name in names}
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    aws_client(moto_url, "cloudwatch").put_metric_data(Namespace="Bench", MetricData=[{"MetricName": "Errors", "Value": 0}])
    with tempfile.TemporaryDirectory() as tmp, ServerThread(traffic_app(apps)) as server, \
            MistralSimulator(SimulatorConfig(keys=sim_keys())) as sim:
        process, prometheus_url = start_prometheus(server, names, Path(tmp))
        try:
            target = AnalysisTarget("bench", "agent", "agent-canary", "v1", "v2", window_s=args.interval,
                                    mistral_base_url=sim.url, mistral_api_key=SIM_API_KEY)
            settings = {name: settings_for(name, prometheus_url, f"{server.url}/health", moto_url, args.min_window)
                        for name in names}
            prepare(settings["steady"]).join()
            wait = args.min_window + 3  # + Prometheus start-up and its first scrapes
            print(f"waiting {wait:g} s for Prometheus to hold {args.min_window:g} s of traffic …", file=sys.stderr)
            time.sleep(wait)
            time_collect(settings["steady"], target, args.interval, args.rounds)
            rng = random.Random(1)
            lags = [detection_lag(apps[name], settings[name], target, args.interval, rng) for name in names[1:]]
            budget = args.interval + 2
            print(f"fault onset → FAIL verdict  median {statistics.median(lags):5.2f} s, max {max(lags):5.2f} s "
                  f"over {len(lags)} faults")
            print(f"ratio to interval + 2 s     {max(lags) / budget:7.2f}  (target <= 1.00, before the scale-down)")
        finally:
            process.terminate()
            process.wait(10)
            moto.stop()


if __name__ == "__main__":
    main()
