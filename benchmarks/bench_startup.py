"""Start-up benchmark: help and shell completion wall time against `python -c "import typer, rich"`, side by side.

    python benchmarks/bench_startup.py [--runs 15] [--no-cluster] [--baseline OTHER_CHECKOUT/src]

The floor is `python -c "import typer, rich"`: what any Typer + Rich CLI pays before its first line. Each case runs
the installed `magent` entry point as the shell does (completions with the environment bash's completion function
sets) and prints its median wall time beside the floor's median and the ratio, then its median CPU time (user +
system, steadier on a loaded machine) and that ratio. Target: ratio <= 1.3 for `--help`, `deploy --help`,
`key verify --help` and the completions of command names, `--by` values, profile names and Deployment names.
Rounds run the floor and every case in turn, so machine noise hits all alike; bytecode is cached (in a folder of
the benchmark's own), as in an installed magent.

`deploy -d <TAB>` asks a Kubernetes simulator started here for its Deployments, as a live cluster would be asked:
over plain http with a bearer token (the simulator's kubeconfig), and over https with a client certificate (a TLS
front with its own CA, as a real API server; TLS costs the `ssl` import and a handshake). `kubectl __complete get
deployments ''` on the same kubeconfig is printed beside them. Each line also names the heavy packages the case
imported (pydantic, the SDKs, http.client's email package, yaml, ssl) and what it completed.

--baseline runs every case a second time with PYTHONPATH set to another checkout's src (e.g. `git worktree add
/tmp/before HEAD~1`), in the same rounds, and prints its ratios under each case's: before and after, one run.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # fixtures.tls_front

HEAVY = ("pydantic", "mistralai", "kubernetes", "boto3", "botocore", "psycopg", "yaml", "http", "email", "ssl")
TARGET = 1.3
FLOOR = [sys.executable, "-c", "import typer, rich"]


@dataclass
class Case:
    label: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    target: bool = True  # whether the 1.3x target applies
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    completes: str = ""
    heavy: str = ""
    baseline: Case | None = None  # the same case on the --baseline checkout


def magent_argv() -> list[str]:
    script = Path(sys.executable).with_name("magent")
    return [str(script)] if script.exists() else [sys.executable, "-m", "magent"]


def completing(words: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment bash's completion function gives `magent` for the command line WORDS (cursor at the end)."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    return {"COMP_WORDS": words, "COMP_CWORD": str(cword), "_MAGENT_COMPLETE": "complete_bash", **(env or {})}


def cases(workdir: Path, kubeconfigs: dict[str, Path]) -> list[Case]:
    magent = magent_argv()
    config = workdir / "magent.yaml"
    config.write_text("default_profile: staging\nprofiles:\n  staging: {}\n  prod: {}\n")
    found = [
        Case("magent --help", [*magent, "--help"]),
        Case("magent deploy --help", [*magent, "deploy", "--help"]),
        Case("magent key verify --help", [*magent, "key", "verify", "--help"]),
        Case("magent de<TAB>", magent, completing("magent de")),
        Case("magent usage report --by <TAB>", magent, completing("magent usage report --by ")),
        Case("magent --profile <TAB>", magent, completing("magent --profile ", {"MAGENT_CONFIG": str(config)})),
    ]
    kubectl = shutil.which("kubectl")
    for how, kubeconfig in kubeconfigs.items():
        kube_env = {"KUBECONFIG": str(kubeconfig)}
        found.append(Case(f"magent deploy -d <TAB> ({how})", magent, completing("magent deploy -d ", kube_env)))
        if kubectl:
            found.append(Case(f"kubectl __complete get deploy ({how})",
                              [kubectl, "__complete", "get", "deployments", ""], kube_env, target=False))
    return found


def start_cluster(workdir: Path, stack: contextlib.ExitStack) -> dict[str, Path]:
    """A Kubernetes simulator holding two Deployments, and kubeconfigs for it: "http" (a bearer token) and
    "https+cert" (a client certificate, through a TLS front); none when the simulator cannot start."""
    try:
        from magent.sandbox.kube import KubeSimulator, kubeconfig_document
        from magent.sandbox.kube.manifests import deployment_manifest
    except ImportError:
        return {}
    sim = stack.enter_context(KubeSimulator())
    for name in ("agent-api", "agent-worker"):
        sim.create(deployment_manifest(name, "registry.example/agent:v1", replicas=1, namespace="default"))
    found = {"http": sim.write_kubeconfig(workdir / "kubeconfig")}
    try:
        import yaml
        from fixtures.tls_front import TlsFront
    except ImportError:
        return found
    front = stack.enter_context(TlsFront(int(sim.url.rsplit(":", 1)[1])))
    document = kubeconfig_document(f"https://127.0.0.1:{front.port}", "")
    document["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(front.ca_pem).decode()
    document["users"][0]["user"] = {"client-certificate-data": base64.b64encode(front.client_cert_pem).decode(),
                                    "client-key-data": base64.b64encode(front.client_key_pem).decode()}
    (workdir / "kubeconfig-tls").write_text(yaml.safe_dump(document, sort_keys=False))
    found["https+cert"] = workdir / "kubeconfig-tls"
    return found


def run(argv: list[str], env: dict[str, str], base: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run; CPU (user + system) is less sensitive to a loaded machine than wall time."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(argv, env={**base, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def warm_up(case: Case, base: dict[str, str]) -> None:
    """A first run (discarded) that fills the bytecode cache, records what the case completes and imports."""
    done = subprocess.run(case.argv, env={**base, **case.env, "PYTHONPROFILEIMPORTTIME": "1"},
                          capture_output=True, text=True, check=False)
    if "_MAGENT_COMPLETE" in case.env or case.argv[1:2] == ["__complete"]:
        case.completes = " ".join(line for line in done.stdout.split() if not line.startswith(":"))
    if case.argv[0] != shutil.which("kubectl"):
        modules = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
        case.heavy = ", ".join(sorted(modules.intersection(HEAVY))) or "none"


def report(case: Case, floor: float, floor_cpu: float) -> str:
    median, cpu = statistics.median(case.times), statistics.median(case.cpu)
    ratio = median / floor
    verdict = f"(target <= {TARGET:.2f}) {'ok' if ratio <= TARGET else 'OVER'}" if case.target else "(no target)"
    extra = f"  cpu {cpu * 1000:6.1f} ms ({cpu / floor_cpu:.2f}x)"
    extra += f"  imports: {case.heavy}" if case.heavy else ""
    extra += f"  completes: {case.completes or '-'}" if case.completes or "COMP_WORDS" in case.env else ""
    line = f"{case.label:38} median {median * 1000:7.1f} ms  ratio {ratio:5.2f} {verdict}{extra}"
    if case.baseline is not None:
        line += "\n" + report(case.baseline, floor, floor_cpu)
    return line


def with_baselines(measured: list[Case], source: str) -> list[Case]:
    """Each magent case twice: as installed, then on the checkout whose src is SOURCE (in the same rounds)."""
    for case in measured:
        if case.argv[0] != shutil.which("kubectl"):
            case.baseline = Case("  before (--baseline)", case.argv, {**case.env, "PYTHONPATH": source}, case.target)
    return [*measured, *(case.baseline for case in measured if case.baseline is not None)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-cluster", action="store_true", help="leave out the Deployment-name completion")
    parser.add_argument("--baseline", metavar="SRC", help="also run every case on another checkout's src folder")
    args = parser.parse_args()
    runs = args.runs
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        # as installed: bytecode cached, here in a folder of our own so the source tree stays clean
        base = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
        base["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        kubeconfigs = {} if args.no_cluster else start_cluster(Path(tmp), stack)
        shown = cases(Path(tmp), kubeconfigs)
        measured = with_baselines(shown, str(Path(args.baseline).resolve())) if args.baseline else shown
        run(FLOOR, {}, base)
        for case in measured:
            warm_up(case, base)
        floor_times, floor_cpu = [], []
        for _ in range(runs):
            wall, cpu = run(FLOOR, {}, base)
            floor_times.append(wall), floor_cpu.append(cpu)
            for case in measured:
                wall, cpu = run(case.argv, case.env, base)
                case.times.append(wall), case.cpu.append(cpu)
    floor, cpu = statistics.median(floor_times), statistics.median(floor_cpu)
    print(f"{'import typer, rich (floor)':38} median {floor * 1000:7.1f} ms  over {runs} runs  cpu {cpu * 1000:6.1f} ms")
    for case in shown:
        print(report(case, floor, cpu))


if __name__ == "__main__":
    main()
