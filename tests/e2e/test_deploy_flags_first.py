"""`magent deploy` checks its own flags before it asks any cluster, as kubectl does: a typo in CI gets its own
error, not "cannot reach the Kubernetes API" (or "no kubeconfig") that sends the reader to the cluster."""

from __future__ import annotations

import pytest

UNREACHABLE_KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: shop}}]
current-context: x
"""


@pytest.mark.parametrize(("flags", "said"), [
    (["", "-d", "web"], "'' is not a valid image reference"),
    (["App:V2", "-d", "web"], "'App:V2' is not a valid image reference"),
    (["app:v2", "-d", "web", "--pause", "-5s"], "--pause: invalid duration '-5s'"),
    (["app:v2", "-d", "web", "--interval", "1ms"], "--interval must be at least 1s"),
    (["app:v2", "-d", "web", "--steps", "50,10"], "--steps '50,10': steps must be increasing"),
    (["app:v2", "-d", "web", "--context", "x", "--context", "x", "--pause", "soon"], "--pause: invalid duration"),
])
def test_bad_flags_are_refused_before_any_cluster_is_asked(cli, tmp_path, flags, said):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(UNREACHABLE_KUBECONFIG)
    config = tmp_path / "magent.yaml"
    config.write_text("deploy: {pause: 1m}\n")
    result = cli("deploy", *flags, "--yes", env={"KUBECONFIG": str(kubeconfig), "MAGENT_CONFIG": str(config)})
    assert result.exit_code == 2, result.stderr
    assert said in result.stderr, result.stderr
    assert "Kubernetes API" not in result.stderr and "Traceback" not in result.stderr
