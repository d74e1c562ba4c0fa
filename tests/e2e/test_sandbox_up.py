"""`magent sandbox up / status / down`: the whole sandbox in the background, used through the environment it prints.

One sandbox is started per module by a real `magent sandbox up` process (as a person or a CI job would);
the lifecycle tests (stale state, down, a failed start, moto missing) start sandboxes of their own.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fixtures.postgres import private_tmp_dir

from magent.sandbox.daemon import pid_alive
from magent.services.store.embedded import running_uri, stop_embedded

COMPONENTS = {"mistral", "kubernetes", "agent-app", "aws", "ecs", "prometheus", "postgres"}
ENV_NAMES = {"KUBECONFIG", "MAGENT_MISTRAL_URL", "MISTRAL_API_KEY", "MISTRAL_API_KEY_NEXT", "AWS_ENDPOINT_URL", "MAGENT_DATABASE_URL",
             "MAGENT_CONFIG", "MAGENT_DATA_DIR", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
             "MAGENT_SANDBOX_DIR"}


def _magent(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real CLI in a process of its own, with a clean environment (no developer variables)."""
    base = {name: value for name, value in os.environ.items()
            if not name.startswith(("MAGENT_", "MISTRAL_", "AWS_", "KUBECONFIG"))}
    return subprocess.run([sys.executable, "-m", "magent", *args], capture_output=True, text=True, timeout=timeout,
                          env={**base, "NO_COLOR": "1", **(env or {})})


def _exports(stdout: str) -> dict[str, str]:
    env = {}
    for line in stdout.splitlines():
        words = shlex.split(line)
        assert words[0] == "export" and len(words) == 2, line
        name, _, value = words[1].partition("=")
        env[name] = value
    return env


@pytest.fixture
def sandbox_dir() -> Iterator[Path]:
    """Outside pytest's basetemp, which a concurrent pytest run makes private again, locking out the server's
    own user when Postgres runs as root."""
    parent = private_tmp_dir("magent-test-sandbox-")
    yield parent / "sbx"
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="module")
def sandbox():
    """(directory, printed environment, stdout+stderr of `up`) of a sandbox running for the whole module."""
    parent = private_tmp_dir("magent-test-sandbox-")
    root = parent / "sbx"
    result = _magent("sandbox", "up", "--dir", str(root))
    assert result.returncode == 0, result.stderr + (root / "sandbox.log").read_text()
    try:
        yield root, _exports(result.stdout), result.stdout + result.stderr
    finally:
        stopped = _magent("sandbox", "down", "--dir", str(root))
        shutil.rmtree(parent, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stderr


def _state(root: Path) -> dict:
    return json.loads((root / "sandbox.json").read_text())


def _kube_token(root: Path) -> str:
    return yaml.safe_load((root / "kubeconfig").read_text())["users"][0]["user"]["token"]


def test_up_prints_every_variable_as_export_lines(sandbox):
    root, env, output = sandbox
    assert set(env) == ENV_NAMES
    assert env["KUBECONFIG"] == str(root / "kubeconfig") and env["MAGENT_SANDBOX_DIR"] == str(root)
    assert env["MAGENT_MISTRAL_URL"].startswith("http://127.0.0.1:")
    assert len(env["MISTRAL_API_KEY"]) == 32  # the simulator's own key, printed on purpose
    # the lines are shell-safe: a shell that evaluates them gets exactly the values (the URL has ? and &)
    script = "\n".join(f"export {name}={shlex.quote(value)}" for name, value in env.items())
    echoed = subprocess.run(["sh", "-c", 'eval "$(cat)"; printf %s "$MAGENT_DATABASE_URL"'], input=script,
                            capture_output=True, text=True, check=True).stdout
    assert echoed == env["MAGENT_DATABASE_URL"]
    log = (root / "sandbox.log").read_text()
    assert _kube_token(root) not in output + log, "the kubeconfig's token is a secret"
    assert "Traceback" not in log
    assert oct((root / "sandbox.json").stat().st_mode & 0o777) == "0o600"


def test_the_printed_key_verifies_against_the_simulator(sandbox, cli):
    _, env, _ = sandbox
    result = cli("key", "verify", env=env)
    assert result.exit_code == 0, result.output
    # and the same key, read from moto's Secrets Manager
    result = cli("key", "verify", "--key-from", "aws:sandbox/mistral#api_key", "--no-spend", env=env)
    assert result.exit_code == 0, result.output


def test_kubectl_sees_the_sample_deployment(sandbox, tmp_path):
    from conftest import require_tool

    kubectl = require_tool("kubectl", "install kubectl to run the kubectl oracle tests")
    _, env, _ = sandbox
    result = subprocess.run([kubectl, "get", "deploy", "-n", "shop", "-o", "json", "--cache-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=30, env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    items = {item["metadata"]["name"]: item for item in json.loads(result.stdout)["items"]}
    assert items["agent"]["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.local/agent:v1"


def test_boto3_reads_the_key_from_secrets_manager(sandbox, monkeypatch):
    import boto3

    _, env, _ = sandbox
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("secretsmanager")  # endpoint, region and credentials all from the printed environment
    secret = client.get_secret_value(SecretId="sandbox/mistral", VersionStage="AWSCURRENT")
    assert json.loads(secret["SecretString"]) == {"api_key": env["MISTRAL_API_KEY"]}


def test_postgres_accepts_connections_at_the_printed_url(sandbox):
    import psycopg

    _, env, _ = sandbox
    with psycopg.connect(env["MAGENT_DATABASE_URL"], connect_timeout=5) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)


def test_prometheus_scrapes_the_agent_app(sandbox):
    import httpx
    from conftest import require_tool

    require_tool("prometheus", "apt-get install -y --no-install-recommends prometheus")
    root, _, _ = sandbox
    url = next(c["url"] for c in _state(root)["components"] if c["name"] == "prometheus")
    deadline = time.monotonic() + 15
    while True:
        result = httpx.get(f"{url}/api/v1/query", params={"query": 'up{job="agent"}'}, timeout=5).json()
        if result["data"]["result"] and result["data"]["result"][0]["value"][1] == "1":
            break
        assert time.monotonic() < deadline, result
        time.sleep(0.3)


def test_each_app_s_series_carry_its_own_namespace_and_magent_yaml_selects_by_it(sandbox):
    """The Deployment's app and the ECS service's app are scraped by one Prometheus: with one label for both, a
    deploy's stable series summed the other target's stable traffic too."""
    import httpx
    from conftest import require_tool

    require_tool("prometheus", "apt-get install -y --no-install-recommends prometheus")
    root, env, _ = sandbox
    url = next(c["url"] for c in _state(root)["components"] if c["name"] == "prometheus")
    config = yaml.safe_load(Path(env["MAGENT_CONFIG"]).read_text())["deploy"]
    assert config["analysis"]["prometheus"]["selector"] == 'namespace="$namespace"'
    expected = {"shop", config["ecs"]["cluster"]}
    deadline = time.monotonic() + 15
    while True:
        result = httpx.get(f"{url}/api/v1/query", params={"query": 'count by (namespace) (up{job="agent"} == 1)'},
                           timeout=5).json()
        namespaces = {series["metric"].get("namespace") for series in result["data"]["result"]}
        if namespaces == expected:
            break
        assert time.monotonic() < deadline, (namespaces, expected)
        time.sleep(0.3)


def test_the_readme_drill_promotes_a_healthy_canary_and_aborts_a_5xx_one(sandbox):
    """README: `magent deploy registry.local/agent:v2-5xx -d agent --yes   # a drill: watch it abort`. The
    canary's 5xx show only in its traffic (its /health answers 200), so the sandbox's magent.yaml must judge
    the Prometheus the sandbox runs; it once judged /health alone and promoted the faulty image."""
    from conftest import require_tool

    require_tool("prometheus", "apt-get install -y --no-install-recommends prometheus")
    root, env, _ = sandbox
    prometheus = next(c["url"] for c in _state(root)["components"] if c["name"] == "prometheus")
    analysis = yaml.safe_load(Path(env["MAGENT_CONFIG"]).read_text())["deploy"]["analysis"]
    assert analysis["prometheus"]["url"] == prometheus
    healthy = _magent("deploy", "registry.local/agent:v2", "-d", "agent", "--yes", "-o", "json", env=env)
    assert healthy.returncode == 0, healthy.stdout[-2000:] + healthy.stderr  # judged on traffic, and promoted
    result = _magent("deploy", "registry.local/agent:v2-5xx", "-d", "agent", "--yes", "-o", "json", env=env)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1, result.stderr
    assert events[-1]["event"] == "aborted", events[-1]
    last = [event for event in events if event["event"] == "analysis"][-1]
    assert "errors_5xx_per_min" in {m["name"] for m in last["metrics"] if m["verdict"] == "fail"}, last
    images = _magent("status", "-d", "agent", "-o", "json", env=env)
    assert json.loads(images.stdout)["images"] == ["registry.local/agent:v2"], images.stdout


def test_the_readme_ecs_deploy_promotes_on_prometheus_too(sandbox):
    """README: with the sandbox, `magent deploy IMAGE --target ecs --yes` works. magent.yaml's Prometheus analysis
    judges every target, so the ECS canary's traffic must be in it: it once had no series there and every ECS
    deploy was aborted as inconclusive; a faulty image still fails there."""
    from conftest import require_tool

    require_tool("prometheus", "apt-get install -y --no-install-recommends prometheus")
    _, env, _ = sandbox
    healthy = _magent("deploy", "registry.local/agent:v2", "--target", "ecs", "--yes", "-o", "json", env=env)
    assert healthy.returncode == 0, healthy.stdout[-2000:] + healthy.stderr
    judged = {(m["name"], m["verdict"]) for line in healthy.stdout.splitlines() for e in [json.loads(line)]
              if e["event"] == "analysis" for m in e["metrics"] if m["provider"] == "prometheus"}
    assert ("errors_5xx_per_min", "pass") in judged, judged  # the ECS canary's own series, not "no data"
    faulty = _magent("deploy", "registry.local/agent:v2-5xx", "--target", "ecs", "--yes", "-o", "json", env=env)
    events = [json.loads(line) for line in faulty.stdout.splitlines()]
    assert faulty.returncode == 1 and events[-1]["event"] == "aborted", faulty.stdout[-2000:] + faulty.stderr
    assert events[-1]["reason"].startswith("fail: "), events[-1]  # judged faulty, not inconclusive


def test_up_again_prints_the_same_environment(sandbox, cli):
    root, env, _ = sandbox
    pid = _state(root)["pid"]
    again = cli("sandbox", "up", "--dir", str(root))
    assert again.exit_code == 0, again.output
    assert _exports(again.stdout) == env
    assert "already running" in again.stderr
    as_json = cli("sandbox", "up", "--dir", str(root), "-o", "json")
    assert as_json.exit_code == 0
    data = json.loads(as_json.stdout)
    assert {"already_running", "pid", "started_at", "dir", "log", "env", "components", "child_pids"} <= set(data)
    assert data["already_running"] is True and data["pid"] == pid and data["env"] == env
    assert data["started_at"].endswith("Z") and data["dir"] == str(root)
    assert {c["name"] for c in data["components"]} == COMPONENTS
    assert all(set(c) == {"name", "url", "note"} for c in data["components"])


def test_status_probes_every_component(sandbox, cli):
    root, _, _ = sandbox
    result = cli("sandbox", "status", "--dir", str(root), "-o", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["state"] == "running" and report["pid"] == _state(root)["pid"] and report["uptime_s"] >= 0
    healthy = {c["name"] for c in report["components"] if c["healthy"]}
    assert healthy == {c["name"] for c in report["components"] if c["url"]} >= COMPONENTS - {"prometheus"}
    table = cli("sandbox", "status", "--dir", str(root))
    assert table.exit_code == 0
    assert f"Sandbox in {root}: running" in table.stdout
    postgres_url = next(c["url"] for c in report["components"] if c["name"] == "postgres")
    assert postgres_url in table.stdout, "a URL must not be folded when stdout is not a terminal"


def test_nothing_running(cli, tmp_path):
    status = cli("sandbox", "status", "--dir", str(tmp_path / "none"))
    assert status.exit_code == 1 and "not running" in status.stdout
    assert json.loads(cli("sandbox", "status", "--dir", str(tmp_path / "none"), "-o", "json").stdout)["state"] == \
        "not running"
    down = cli("sandbox", "down", "--dir", str(tmp_path / "none"))
    assert down.exit_code == 0 and "No sandbox running" in down.stderr


def _processes_of(root: Path) -> list[str]:
    """Command lines that mention the sandbox directory (the sandbox itself, Prometheus, Postgres)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if str(root) in command:
            found.append(command)
    return found


def _wait_dead(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive"
        time.sleep(0.1)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="lists processes through /proc")
def test_a_dead_sandbox_is_stale_then_replaced_then_down_stops_everything(cli, sandbox_dir):
    root = sandbox_dir
    first = cli("sandbox", "up", "--dir", str(root), "-o", "json")
    assert first.exit_code == 0, first.output
    dead = json.loads(first.stdout)
    os.kill(dead["pid"], signal.SIGKILL)  # a crash: nothing cleaned up
    _wait_dead(dead["pid"])

    status = cli("sandbox", "status", "--dir", str(root), "-o", "json")
    assert status.exit_code == 1 and json.loads(status.stdout)["state"] == "stale"

    second = cli("sandbox", "up", "--dir", str(root))
    assert second.exit_code == 0, second.output
    assert "replaced the state of a sandbox that had died" in second.stderr
    state = _state(root)
    assert state["pid"] != dead["pid"] and pid_alive(state["pid"])
    assert all(not pid_alive(child, "prometheus") for child in dead["child_pids"])
    assert running_uri(root / "data") is not None

    stop_embedded(root / "data")  # one component goes down under a live sandbox
    degraded = cli("sandbox", "status", "--dir", str(root))
    assert degraded.exit_code == 1 and f"Sandbox in {root}: degraded" in degraded.stdout
    assert [line.split()[1] for line in degraded.stdout.splitlines() if "DOWN" in line] == ["postgres"]

    down = cli("sandbox", "down", "--dir", str(root))
    assert down.exit_code == 0 and f"Sandbox stopped (pid {state['pid']})" in down.stderr
    assert not pid_alive(state["pid"])
    assert running_uri(root / "data") is None, "the embedded Postgres is stopped with the sandbox"
    assert not (root / "sandbox.json").exists()
    assert _processes_of(root) == []
    assert "No sandbox running" in cli("sandbox", "down", "--dir", str(root)).stderr


def test_a_failed_start_names_the_reason_and_leaves_nothing_running(cli, sandbox_dir):
    root = sandbox_dir
    root.mkdir()
    (root / "data").write_text("not a directory")  # the embedded Postgres cannot start here
    result = cli("sandbox", "up", "--dir", str(root))
    assert result.exit_code == 3
    assert "the sandbox stopped while starting" in result.stderr and "cannot create the data directory" in result.stderr
    assert f"Hint: see {root / 'sandbox.log'}" in result.stderr
    assert result.stdout == ""
    assert not (root / "sandbox.json").exists()
    assert _processes_of(root) == []


def test_without_moto_everything_else_starts_and_says_how_to_install_it(cli, tmp_path, sandbox_dir, monkeypatch):
    shadow = tmp_path / "no-moto" / "moto"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named moto')\n")
    monkeypatch.setenv("PYTHONPATH", str(shadow.parent))  # the sandbox process cannot import moto
    root = sandbox_dir
    try:
        result = cli("sandbox", "up", "--dir", str(root), "-o", "json")
        assert result.exit_code == 0, result.output + (root / "sandbox.log").read_text()
        data = json.loads(result.stdout)
        aws = next(c for c in data["components"] if c["name"] == "aws")
        assert aws["url"] is None and "pip install 'magent[sandbox]'" in aws["note"]
        assert "AWS_ENDPOINT_URL" not in data["env"] and "MAGENT_DATABASE_URL" in data["env"]
        status = cli("sandbox", "status", "--dir", str(root))
        assert status.exit_code == 0, status.output  # a component that is not installed does not degrade it
        assert "skipped" in status.stdout
    finally:
        forced = cli("sandbox", "down", "--dir", str(root), "--timeout", "0")  # SIGKILL for the whole group
    assert forced.exit_code == 0 and "killed after --timeout" in forced.stderr
    assert running_uri(root / "data") is None and _processes_of(root) == []


def test_bad_dir_is_a_usage_error(cli, tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("")
    result = cli("sandbox", "up", "--dir", str(a_file))
    assert result.exit_code == 2 and "is a file" in result.stderr
    result = cli("sandbox", "up", "--dir", str(a_file / "below"))
    assert result.exit_code == 2 and "cannot use" in result.stderr and "Hint:" in result.stderr
