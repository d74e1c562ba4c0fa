"""`magent sandbox kube`: a real process serving the simulator until interrupted."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys

import httpx
import pytest
import yaml


def _start(tmp_path, *extra: str) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "magent", "sandbox", "kube", "--kubeconfig", str(tmp_path / "kc"),
               "--ready-delay", "100ms", *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "NO_COLOR": "1"})
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), process.stderr.read()
    return process, url


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
def test_serves_a_seeded_cluster_until_interrupted(tmp_path, sig, code):
    process, url = _start(tmp_path, "--namespace", "demo", "--seed-deployment", "web=app:v1", "--replicas", "2")
    try:
        config = yaml.safe_load((tmp_path / "kc").read_text())
        token = config["users"][0]["user"]["token"]
        assert stat.S_IMODE((tmp_path / "kc").stat().st_mode) == 0o600
        assert config["current-context"] == "magent-sandbox" and config["clusters"][0]["cluster"]["server"] == url
        assert config["contexts"][0]["context"]["namespace"] == "demo"
        headers = {"Authorization": f"Bearer {token}"}
        deployment = httpx.get(f"{url}/apis/apps/v1/namespaces/demo/deployments/web", headers=headers).json()
        assert deployment["spec"]["replicas"] == 2
    finally:
        process.send_signal(sig)
        out, err = process.communicate(timeout=10)
    assert process.returncode == code
    assert "Kubernetes API simulator stopped." in err and "Traceback" not in err
    assert token not in out + err


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--seed-deployment", "Web"], "is not NAME=IMAGE"),
     (["--ready-delay", "soon"], "--ready-delay: invalid duration")],
)
def test_bad_options_are_usage_errors(cli, tmp_path, args, message):
    result = cli("sandbox", "kube", "--kubeconfig", str(tmp_path / "kc"), *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Hint:" in result.stderr
    assert not (tmp_path / "kc").exists()
