"""The sandbox's optional components: AWS (moto in server mode) and a Prometheus scraping the sample agent app.

Both are context managers that `SandboxStack` enters when asked. moto comes with the `magent[sandbox]` extra and
Prometheus is a system package; when one is missing, `Missing` says how to get it and the rest of the stack runs.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

AWS_REGION = "us-east-1"
# moto accepts any credentials; these are its documented dummies, exported so boto3 works on a bare machine.
AWS_DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
SECRET_ID = "sandbox/mistral"
MOTO_INSTALL_HINT = "pip install 'magent[sandbox]' (moto in server mode)"
PROMETHEUS_INSTALL_HINT = ("install Prometheus (Debian/Ubuntu: apt-get install prometheus; "
                           "macOS: brew install prometheus)")
_SCRAPE_INTERVAL_S = 1
_PROMETHEUS_READY_S = 20


class Missing(Exception):
    """An optional component that cannot run here; the message says how to install it."""


@dataclass(frozen=True)
class Moto:
    url: str
    secret_id: str


@dataclass(frozen=True)
class Prometheus:
    url: str
    pid: int


@contextlib.contextmanager
def serve_moto(api_key: str) -> Iterator[Moto]:
    """moto in server mode on a free loopback port, holding `api_key` as {"api_key": …} in Secrets Manager."""
    import logging

    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise Missing(f"moto is not installed: {MOTO_INSTALL_HINT}") from None
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one INFO line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        _create_secret(url, api_key)
        yield Moto(url, SECRET_ID)
    finally:
        server.stop()


def _create_secret(url: str, api_key: str) -> None:
    import boto3

    client = boto3.client("secretsmanager", endpoint_url=url, region_name=AWS_REGION,
                          **{name.lower(): value for name, value in AWS_DUMMY_CREDENTIALS.items()})
    value = json.dumps({"api_key": api_key})
    try:
        client.create_secret(Name=SECRET_ID, SecretString=value,
                             Description="the Mistral API simulator's key (magent sandbox)")
    except client.exceptions.ResourceExistsException:
        # moto keeps its state per process, not per server: a second sandbox in one process finds the first's
        client.put_secret_value(SecretId=SECRET_ID, SecretString=value)


@contextlib.contextmanager
def run_prometheus(workdir: Path, targets: Mapping[str, str]) -> Iterator[Prometheus]:
    """A Prometheus child process scraping every target (host:port → the `namespace` label its series get, as a
    cluster's service discovery would label them) every second; stopped on exit."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise Missing(f"prometheus is not on PATH: {PROMETHEUS_INSTALL_HINT}")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    static = ", ".join(f"{{targets: [{target!r}], labels: {{namespace: {namespace!r}}}}}"
                       for target, namespace in targets.items())
    config.write_text(
        f"global: {{scrape_interval: {_SCRAPE_INTERVAL_S}s, evaluation_interval: {_SCRAPE_INTERVAL_S}s}}\n"
        "scrape_configs:\n"
        f"  - job_name: agent\n    static_configs: [{static}]\n"
    )
    process, url = _start_prometheus(binary, config, workdir)
    try:
        yield Prometheus(url, process.pid)
    finally:
        process.terminate()
        try:
            # its data is the sandbox's, thrown away: no reason to wait out a slow TSDB shutdown, which under load
            # took `sandbox down` past its 20-s --timeout together with the servers' own stops
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _start_prometheus(binary: str, config: Path, workdir: Path, attempts: int = 3) -> tuple[subprocess.Popen, str]:
    """Start on a free port, retrying when another process takes the port first; wait until /-/ready."""
    import httpx

    for _ in range(attempts):
        port = free_port()
        with open(workdir / "prometheus.log", "ab") as log:
            process = subprocess.Popen(
                [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
                 f"--storage.tsdb.path={workdir / 'data'}", "--log.level=warn"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + _PROMETHEUS_READY_S
        while process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    return process, url
            time.sleep(0.1)
        process.kill()
        process.wait()
    raise RuntimeError(f"Prometheus did not start; see {workdir / 'prometheus.log'}")


def _die_with_parent() -> None:
    """Linux: the kernel sends SIGTERM to Prometheus when the sandbox process dies, even by SIGKILL (no orphan)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
