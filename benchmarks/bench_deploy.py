"""Deploy and rollback benchmarks against the Kubernetes simulator, with `magent` run as a real process.

    python benchmarks/bench_deploy.py [--intervals 1,2,5] [--rounds 3] [--rollbacks 5]

1. Fault onset → canary at zero replicas. A deploy runs with the `web` analysis provider pointed at a health
   endpoint this script controls; mid-step the endpoint starts answering 500 (the fault onset) and the
   simulator is watched (every 10 ms) until the canary Deployment asks for 0 replicas. Target: ≤ interval + 2 s.
2. `magent rollback` start → rollback request sent. The process is launched and the simulator watched until
   the request has landed (the canary at 0 replicas, or the stable template undone). Target: ≤ 0.5 s. The
   command's own figure (from its first line of code to the API's answer, event `rollback_requested`) is shown
   beside it: the difference is interpreter start-up and imports (the official kubernetes client alone
   takes 0.3-0.6 s to import on these machines).
3. `magent rollback` against `kubectl rollout undo` + `kubectl rollout status` on an identical twin Deployment
   (same image history, one namespace each), from launch to exit, in alternating order. Target: ratio of the
   medians ≤ 1.3. The time to magent's "ROLLED BACK" line is shown beside its exit: the gap is what the
   audit trail and the interpreter's exit cost after the rollback was done. CPU seconds (user + system, of the
   processes) are shown too: on a busy machine they vary less than wall time. Both sides run warm: kubectl's
   discovery cache and magent's bytecode cache are filled by a first, uncounted run.
   Beside them, the floor of the stack magent is built on: a Python process that imports Typer, pydantic, PyYAML
   and the kubernetes client's AppsV1Api (as lazily as magent does) and sends nothing. Every rollback on that
   stack pays it before its first request, so magent's exit cannot come earlier than kubectl's time plus the
   floor less kubectl's own start-ups: the line prints that bound as a ratio, next to the target's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fixtures.deploy import Cluster, plant_canary_in_progress  # noqa: E402

from magent.sandbox.kube import KubeSimulator  # noqa: E402
from magent.sandbox.server import ServerThread  # noqa: E402

ROLLBACK_TARGET_S = 0.5
TWIN_TARGET_RATIO = 1.3


class Health:
    """A /health endpoint that answers 200 {"status": "ok"} until `fail()`, then 500."""

    def __init__(self) -> None:
        self.failing = False

    def app(self):
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def health(request):
            if self.failing:
                return JSONResponse({"status": "error"}, status_code=500)
            return JSONResponse({"status": "ok"})

        return Starlette(routes=[Route("/health", health)])


def _env(home: Path, kubeconfig: Path, config: Path | None = None) -> dict[str, str]:
    # magent's bytecode is cached (in its __pycache__) as an installed magent's is: with PYTHONDONTWRITEBYTECODE in
    # the environment, every run would compile magent's ~50 modules from source again (0.1 s), which no user pays
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MAGENT_", "KUBECONFIG", "MISTRAL_", "PYTHONDONTWRITEBYTECODE"))}
    env.update(KUBECONFIG=str(kubeconfig), XDG_CONFIG_HOME=str(home / "config"), MAGENT_DATA_DIR=str(home / "data"),
               PYTHONUNBUFFERED="1", NO_COLOR="1")
    if config is not None:
        env["MAGENT_CONFIG"] = str(config)
    return env


def _watch(predicate, timeout: float = 60.0, every: float = 0.01) -> float:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out watching the simulator")
        time.sleep(every)
    return time.monotonic()


def _canary_replicas(cluster: Cluster) -> int:
    """The canary's desired replicas; 0 once it is gone.

    `magent rollback` scales the canary to 0 and then deletes it (and a deploy's abort may delete it too):
    a watcher polling every 10 ms can miss the 0 and only see it gone. Like magent's own services
    (`find_deployment` → None, `_scale_canary_to_zero` treating "already gone" as done), a canary that no
    longer exists counts as scaled to zero.
    """
    canary = cluster.deployment("web-canary")
    return 0 if canary is None else canary["spec"]["replicas"]


def _failed(what: str, process: subprocess.Popen, stderr: Path) -> SystemExit:
    """Stop the benchmark, naming the command's own error: a figure measured after it failed would be a lie."""
    lines = stderr.read_text().strip().splitlines() or ["(nothing on stderr)"]
    return SystemExit(f"{what} (magent exited {process.wait(timeout=60)}): {' | '.join(lines[-3:])}")


def _cluster(sim: KubeSimulator, home: Path, name: str) -> Cluster:
    sim.create_namespace(name)
    cluster = Cluster(sim, name, sim.write_kubeconfig(home / f"{name}.kubeconfig", namespace=name))
    cluster.create()
    return cluster


def fault_to_zero(sim: KubeSimulator, home: Path, interval: float, round_no: int) -> float:
    """One deploy; the health endpoint fails mid-step; seconds from the failure to the canary's scale to 0."""
    cluster = _cluster(sim, home, f"fault-{str(interval).replace('.', '-')}-{round_no}")
    health = Health()
    with ServerThread(health.app()) as server:
        config = home / f"{cluster.namespace}.yaml"
        config.write_text(json.dumps({"deploy": {"analysis": {"web": {"url": f"{server.url}/health"}}}}))
        command = [sys.executable, "-m", "magent", "deploy", "app:v2", "-d", "web", "--steps", "50",
                   "--pause", "120s", "--interval", f"{interval}s", "--yes", "-o", "json"]
        stderr = home / f"{cluster.namespace}.stderr"
        with stderr.open("w") as errors:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True,
                                       env=_env(home, cluster.kubeconfig, config))
        analyses = 0
        for line in process.stdout:
            if json.loads(line)["event"] == "analysis":
                analyses += 1
                if analyses == 2:
                    break
        if analyses < 2:
            raise _failed("`magent deploy` ended before its second analysis", process, stderr)
        if _canary_replicas(cluster) == 0:
            raise _failed("the canary was not running when the fault was to start", process, stderr)
        time.sleep(interval * (0.3 + 0.4 * (round_no % 3) / 2))  # onset at a different phase of the interval
        health.failing = True
        onset = time.monotonic()
        zero = _watch(lambda: _canary_replicas(cluster) == 0)
        process.wait(timeout=60)
    sim.delete("v1", "Namespace", None, cluster.namespace)
    return zero - onset


def rollback_request(sim: KubeSimulator, home: Path, kind: str, round_no: int) -> tuple[float, float]:
    """(launch → request landed, the command's own start → request answered), for a canary abort or an undo."""
    cluster = _cluster(sim, home, f"rb-{kind}-{round_no}")
    if kind == "canary":
        plant_canary_in_progress(cluster)

        def landed() -> bool:
            return _canary_replicas(cluster) == 0
    else:
        cluster.set_image("app:v2")

        def landed() -> bool:
            return cluster.image() == "app:v1"

    command = [sys.executable, "-m", "magent", "rollback", "-d", "web", "--yes", "-o", "json"]
    started = time.monotonic()
    stderr = home / f"{cluster.namespace}.stderr"
    with stderr.open("w") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True,
                                   env=_env(home, cluster.kubeconfig))
    seen = _watch(lambda: landed() or process.poll() is not None)
    if not landed():
        raise _failed(f"`magent rollback` ({kind}) ended before its request landed", process, stderr)
    out, _ = process.communicate(timeout=60)
    own = next((json.loads(line)["seconds"] for line in out.splitlines() if '"rollback_requested"' in line), None)
    if own is None:
        raise _failed(f"`magent rollback` ({kind}) printed no rollback_requested event", process, stderr)
    sim.delete("v1", "Namespace", None, cluster.namespace)
    return seen - started, own


def _kubectl(home: Path, kubeconfig: Path, *args: str) -> None:
    done = subprocess.run(["kubectl", *args], capture_output=True, text=True, env={**_env(home, kubeconfig),
                                                                                    "HOME": str(home)})
    if done.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")


def _twin(sim: KubeSimulator, home: Path, name: str) -> Cluster:
    """`web` with revisions app:v1 → app:v2, ready: one rollback to do."""
    cluster = _cluster(sim, home, name)
    cluster.set_image("app:v2")
    return cluster


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def kubectl_undo(sim: KubeSimulator, home: Path, round_no: int, cpu: list[float]) -> float:
    """Seconds for `kubectl rollout undo` then `kubectl rollout status`, as a person types them."""
    twin = _twin(sim, home, f"twin-kubectl-{round_no}")
    cpu_before = _children_cpu()
    started = time.monotonic()
    _kubectl(home, twin.kubeconfig, "rollout", "undo", "deployment/web")
    _kubectl(home, twin.kubeconfig, "rollout", "status", "deployment/web")
    ended = time.monotonic()
    cpu.append(_children_cpu() - cpu_before)
    if twin.image() != "app:v1":
        raise SystemExit("kubectl rollout undo did not put app:v1 back")
    sim.delete("v1", "Namespace", None, twin.namespace)
    return ended - started


def magent_undo(sim: KubeSimulator, home: Path, round_no: int, cpu: list[float]) -> tuple[float, float]:
    """(launch → "ROLLED BACK" on stderr, launch → exit) for `magent rollback -d web --yes`."""
    twin = _twin(sim, home, f"twin-magent-{round_no}")
    command = [sys.executable, "-m", "magent", "rollback", "-d", "web", "--yes"]
    cpu_before = _children_cpu()
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env=_env(home, twin.kubeconfig))
    said, lines = None, []
    for line in process.stderr:
        lines.append(line.strip())
        if said is None and "ROLLED BACK" in line:
            said = time.monotonic()
    code = process.wait(timeout=60)
    ended = time.monotonic()
    cpu.append(_children_cpu() - cpu_before)
    if code != 0 or said is None or twin.image() != "app:v1":
        raise SystemExit(f"`magent rollback` failed (exit {code}): {' | '.join(lines[-3:])}")
    sim.delete("v1", "Namespace", None, twin.namespace)
    return said - started, ended - started


# what any rollback built on magent's stack imports before its first request (kube: as lazily as magent does)
STACK_FLOOR = ("import typer, pydantic, yaml; from magent.services.kube.lazy_import import install; install(); "
               "from magent.services.kube.deferred_imports import connection_modules; connection_modules(); "
               "from kubernetes.client import AppsV1Api")


def stack_floor(home: Path, cpu: list[float]) -> float:
    """Seconds for a Python process to import STACK_FLOOR and exit."""
    cpu_before = _children_cpu()
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", STACK_FLOOR], check=True, env=_env(home, home / "none.kubeconfig"))
    ended = time.monotonic()
    cpu.append(_children_cpu() - cpu_before)
    return ended - started


def twin_comparison(sim: KubeSimulator, home: Path, runs: int, *, warm_magent: bool) -> None:
    # kubectl's discovery cache, as on a person's machine (magent's .pyc files are as warm as parts 1-2 left them)
    _kubectl(home, sim.write_kubeconfig(home / "warm.kubeconfig"), "get", "deployments")
    if warm_magent:  # and magent's bytecode cache, as on a person's machine (parts 1-2 fill it when they run)
        magent_undo(sim, home, runs, [])
    kubectl_times, said_times, exit_times, kubectl_cpu, magent_cpu = [], [], [], [], []
    floor_times: list[float] = []
    floor_cpu: list[float] = []
    for n in range(runs):  # alternate who goes first, so machine noise hits both alike
        if n % 2:
            kubectl_times.append(kubectl_undo(sim, home, n, kubectl_cpu))
        said, ended = magent_undo(sim, home, n, magent_cpu)
        said_times.append(said)
        exit_times.append(ended)
        floor_times.append(stack_floor(home, floor_cpu))
        if not n % 2:
            kubectl_times.append(kubectl_undo(sim, home, n, kubectl_cpu))
    k = statistics.median(kubectl_times)
    # on a shared machine the ratio follows the load: magent's CPU seconds (imports) wait their turn, kubectl's fewer
    print(f"   machine load (1 min):    {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"   kubectl undo + status:   {_summary(kubectl_times)}")
    print(f"   magent rollback, exit:   {_summary(exit_times)}; ratio {statistics.median(exit_times) / k:.2f} "
          f"(target ≤ {TWIN_TARGET_RATIO})")
    print(f"   CPU, median:             kubectl {statistics.median(kubectl_cpu):.3f} s, "
          f"magent {statistics.median(magent_cpu):.3f} s, the stack's imports {statistics.median(floor_cpu):.3f} s")
    print(f"   magent, ROLLED BACK:     {_summary(said_times)}; ratio {statistics.median(said_times) / k:.2f}")
    floor = statistics.median(floor_times)
    # kubectl's two start-ups (~0.05 s each, Go) are part of its time: the bound keeps them, so it is generous
    print(f"   the stack's floor:       {_summary(floor_times)} (Python + Typer + pydantic + PyYAML + the kubernetes "
          f"client, no request); a rollback on it: ratio ≥ {(k + floor) / k:.2f} at best")


def _summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} s, max {max(values):.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", default="1,2,5", help="analysis intervals to try, in seconds (magent deploy: ≥ 1)")
    parser.add_argument("--rounds", type=int, default=3, help="fault injections per interval")
    parser.add_argument("--rollbacks", type=int, default=5, help="rollbacks per kind (and per side in part 3)")
    parser.add_argument("--parts", default="1,2,3", help="which parts to run")
    args = parser.parse_args()
    parts = {int(value) for value in args.parts.split(",")}
    intervals = [float(value) for value in args.intervals.split(",")]
    with tempfile.TemporaryDirectory() as tmp, KubeSimulator(ready_delay=0.2, tick=0.05) as sim:
        home = Path(tmp)
        if 1 in parts:
            print("1. fault onset → canary at zero replicas (target ≤ interval + 2 s)")
        for interval in intervals if 1 in parts else ():
            figures = [fault_to_zero(sim, home, interval, n) for n in range(args.rounds)]
            target = interval + 2
            print(f"   interval {interval:g} s: {_summary(figures)}; target {target:g} s; "
                  f"ratio max/target {max(figures) / target:.2f}")
        if 2 in parts:
            print(f"2. `magent rollback` start → rollback request sent (target ≤ {ROLLBACK_TARGET_S} s)")
        for kind in ("canary", "undo") if 2 in parts else ():
            pairs = [rollback_request(sim, home, kind, n) for n in range(args.rollbacks)]
            launch, own = [p[0] for p in pairs], [p[1] for p in pairs]
            print(f"   {kind:6}: process launch → landed {_summary(launch)} "
                  f"(ratio median/target {statistics.median(launch) / ROLLBACK_TARGET_S:.2f}); "
                  f"command start → answered {_summary(own)} "
                  f"(ratio {statistics.median(own) / ROLLBACK_TARGET_S:.2f})")
        if 3 not in parts:
            return
        if shutil.which("kubectl") is None:
            print("3. skipped: kubectl is not installed (apt-get install kubectl, or see kubernetes.io)")
            return
        print(f"3. `magent rollback` against `kubectl rollout undo` + `kubectl rollout status` on a twin, "
              f"{args.rollbacks} runs each (target ratio ≤ {TWIN_TARGET_RATIO})")
        twin_comparison(sim, home, args.rollbacks, warm_magent=not parts & {1, 2})


if __name__ == "__main__":
    threading.excepthook = lambda hook_args: None  # uvicorn threads at shutdown
    main()
