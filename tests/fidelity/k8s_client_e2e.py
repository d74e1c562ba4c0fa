"""Runs the kubernetes Python client's own e2e tests (tests/thirdparty/k8s_e2e, unmodified) against a simulator.

The copied modules import `kubernetes.e2e_test` (the installed wheel does not ship it) and find their cluster
through `~/.kube/config`; the harness points the first at the copy and the second at the simulator's kubeconfig,
and runs from the copy's root, where some tests open `kubernetes/e2e_test/test_yaml/...`.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import types
import unittest
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

E2E_ROOT = Path(__file__).resolve().parents[1] / "thirdparty" / "k8s_e2e"
MODULES = ("test_apps", "test_client", "test_watch", "test_utils")

# What no simulator can pass: these stream into a running container's processes and sockets.
NEEDS_CONTAINERS = {
    "test_client.TestClient.test_pod_apis": "exec: runs /bin/sh, gzip and cat in a busybox container",
    "test_client.TestClient.test_pod_exec_close_channel": "exec: cat in a container, stdin closed over the v5 "
                                                          "protocol",
    "test_client.TestClient.test_exit_code": "exec: the exit codes of shell commands in a container",
    "test_client.TestClient.test_portforward_raw": "port-forward to sockets opened by a Python server in a pod",
    "test_client.TestClient.test_portforward_http": "port-forward to nginx serving its welcome page",
}
# Waits 10 s "for the metrics-server scrape interval" (the simulator serves metrics at once): script only.
SLOW = {"test_utils.TestUtils.test_metrics_utilities_integration": "sleeps 10 s for a scrape interval"}


@dataclass(frozen=True)
class Outcome:
    test_id: str  # module.Class.method
    status: str  # passed, failed, error or skipped
    detail: str = ""


def _install_package() -> None:
    import kubernetes

    if "kubernetes.e2e_test" in sys.modules:
        return
    package = types.ModuleType("kubernetes.e2e_test")
    package.__path__ = [str(E2E_ROOT / "kubernetes" / "e2e_test")]
    sys.modules["kubernetes.e2e_test"] = package
    kubernetes.e2e_test = package  # type: ignore[attr-defined]


def test_ids() -> list[str]:
    """Every test of the four modules, as `module.Class.method`, in unittest's order."""
    _install_package()
    loader = unittest.TestLoader()
    ids: list[str] = []
    for module in MODULES:
        suite = loader.loadTestsFromName(f"kubernetes.e2e_test.{module}")
        ids.extend(case.id().removeprefix("kubernetes.e2e_test.") for case in _cases(suite))
    return ids


def _cases(suite: unittest.TestSuite) -> Iterator[unittest.TestCase]:
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _cases(item)
        else:
            yield item


@contextlib.contextmanager
def pointed_at(kubeconfig: Path) -> Iterator[None]:
    """While inside: the e2e package importable and its default kubeconfig (`~/.kube/config`) `kubeconfig`."""
    from kubernetes.config import kube_config

    _install_package()
    saved = kube_config.KUBE_CONFIG_DEFAULT_LOCATION
    kube_config.KUBE_CONFIG_DEFAULT_LOCATION = str(kubeconfig)
    try:
        yield
    finally:
        kube_config.KUBE_CONFIG_DEFAULT_LOCATION = saved


def run(test_id: str) -> Outcome:
    """Run one test (with its class's setUpClass/tearDownClass); call inside `pointed_at`."""
    suite = unittest.TestLoader().loadTestsFromName(f"kubernetes.e2e_test.{test_id}")
    result = unittest.TestResult()
    saved_cwd = os.getcwd()
    os.chdir(E2E_ROOT)  # some tests open kubernetes/e2e_test/test_yaml/... relative to it
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # base.py prints the host it runs against
            suite.run(result)
    finally:
        os.chdir(saved_cwd)
    for status, entries in (("error", result.errors), ("failed", result.failures), ("skipped", result.skipped)):
        if entries:
            return Outcome(test_id, status, entries[0][1])
    return Outcome(test_id, "passed")
