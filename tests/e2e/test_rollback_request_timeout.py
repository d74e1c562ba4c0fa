"""A hung API server: `magent rollback` gives up after its request timeout (kubectl's flag) and says what it waited for."""

from __future__ import annotations

import time

import pytest
import yaml

from magent.sandbox.kube import kubeconfig_document


@pytest.fixture
def hung_cluster(hanging_server, tmp_path, monkeypatch):
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig_document(hanging_server, "token-for-a-hung-server", namespace="shop")))
    monkeypatch.setenv("KUBECONFIG", str(path))
    return hanging_server


def _rollback(cli, *flags):
    started = time.monotonic()
    result = cli("rollback", "-d", "web", "--yes", *flags)
    return result, time.monotonic() - started


def test_the_flag_bounds_the_wait_and_stderr_says_what_it_waits_for(cli, hung_cluster):
    result, took = _rollback(cli, "--request-timeout", "2s")
    assert result.exit_code == 3, result.stderr
    assert took < 6, f"rollback waited {took:.1f}s on a hung API server with --request-timeout 2s"
    assert f"waiting for the Kubernetes API at {hung_cluster}" in result.stderr
    assert "request timeout 2s" in result.stderr
    assert "Traceback" not in result.stderr and "token-for-a-hung-server" not in result.output


def test_the_setting_applies_and_the_default_is_a_few_seconds(cli, hung_cluster, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "magent.yaml").write_text("kubernetes:\n  request_timeout: 1s\n")
    result, took = _rollback(cli)
    assert result.exit_code == 3 and "request timeout 1s" in result.stderr, result.stderr
    assert took < 5
    (tmp_path / "magent.yaml").write_text("{}\n")
    result, took = _rollback(cli)
    assert result.exit_code == 3 and "request timeout 5s" in result.stderr, result.stderr
    assert took < 10, f"the default rollback request timeout let it wait {took:.1f}s"


@pytest.mark.parametrize("value", ["-1s", "soon", "1ms5"])
def test_a_bad_request_timeout_is_a_usage_error(cli, value):
    result = cli("rollback", "-d", "web", "--yes", "--request-timeout", value)
    assert result.exit_code == 2 and "--request-timeout" in result.stderr, result.stderr
