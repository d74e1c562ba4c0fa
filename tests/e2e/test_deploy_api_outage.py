"""§1.4: an API-server blip during the analysis is ridden out for deploy.api_retry_window; an outage that
outlasts it ends the deploy with exit 3 naming the canary left running and what to run next."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fixtures.deploy import cluster, web  # noqa: F401 - fixtures
from fixtures.deploy_process import DeployProcess
from fixtures.tcp_proxy import CuttableProxy

from magent.sandbox.kube import kubeconfig_document


@pytest.fixture
def proxied(web, monkeypatch, tmp_path):  # noqa: F811
    """`web`, reached through a proxy the test can cut (KUBECONFIG points at the proxy)."""
    port = int(web.sim.url.rsplit(":", 1)[1].rstrip("/"))
    with CuttableProxy(port) as proxy:
        path = tmp_path / "kubeconfig-proxied"
        document = kubeconfig_document(f"http://127.0.0.1:{proxy.port}", web.sim.token, namespace=web.namespace)
        path.write_text(yaml.safe_dump(document))
        monkeypatch.setenv("KUBECONFIG", str(path))
        yield proxy


def test_a_blip_shorter_than_the_window_is_ridden_out(web, proxied):  # noqa: F811
    Path("magent.yaml").write_text("deploy:\n  api_retry_window: 20s\n")
    with DeployProcess("app:v2", "-d", "web", "--steps", "50", "--pause", "3s", "--interval", "1s") as deploy:
        deploy.wait_event("analysis")
        proxied.cut()
        down = deploy.wait_event("api_unreachable", timeout=10)
        proxied.restore()
        up = deploy.wait_event("api_recovered", timeout=30)
        assert deploy.wait_exit(timeout=60) == 0, deploy.process.stderr.read()
    assert down["retry_window_s"] == 20 and "cannot reach the Kubernetes API" in down["error"]
    assert 0 < up["seconds"] < 20
    assert deploy.events[-1]["event"] == "promoted"
    assert web.image() == "app:v2" and web.deployment("web-canary") is None and web.lease() is None


def test_an_outage_longer_than_the_window_exits_3_naming_the_canary_left(web, proxied):  # noqa: F811
    Path("magent.yaml").write_text("deploy:\n  api_retry_window: 1.5s\n")
    with DeployProcess("app:v2", "-d", "web", "--steps", "50", "--pause", "60s", "--interval", "1s") as deploy:
        deploy.wait_event("analysis")
        proxied.cut()
        assert deploy.wait_exit(timeout=30) == 3
    stderr = deploy.stderr
    assert "the Kubernetes API did not answer for" in stderr
    assert "web-canary may still serve traffic: 2 pods of app:v2 next to web (app:v1), step 1/1 (50%)" in stderr
    assert "magent rollback --deployment web" in stderr and "--resume" in stderr
    assert "Traceback" not in stderr
    assert web.deployment("web-canary")["spec"]["replicas"] == 2  # really left running, as said
    assert [e["event"] for e in deploy.events][-1] == "api_unreachable"
