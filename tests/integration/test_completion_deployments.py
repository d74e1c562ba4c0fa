"""`-d <TAB>` completes the Deployments of the cluster the command would act on, as kubectl completes resource names;
a cluster that does not answer gives no completion, quickly and silently. Through bash's own completion machinery."""

from __future__ import annotations

import socket
import uuid

import pytest
import yaml
from fixtures.completion import bash_complete
from fixtures.kube import deployment_manifest

from magent.cli.flags import KUBE_COMPLETION_TIMEOUT_S
from magent.sandbox.kube import kubeconfig_document


@pytest.fixture
def deployments(kube_sim, kube_namespace):
    """agent-api and agent-worker, a canary magent made of agent-api, and web in a second namespace."""
    for name in ("agent-api", "agent-worker"):
        kube_sim.create(deployment_manifest(name, "registry.example/agent:v1", replicas=1, namespace=kube_namespace))
    kube_sim.create(deployment_manifest("agent-api-canary", "registry.example/agent:v2", replicas=1,
                                        namespace=kube_namespace,
                                        annotations={"magent.dev/canary-of": "agent-api"}))
    other = f"t-{uuid.uuid4().hex[:10]}"
    kube_sim.create_namespace(other)
    kube_sim.create(deployment_manifest("web", "registry.example/web:v1", replicas=1, namespace=other))
    yield other
    kube_sim.delete("v1", "Namespace", None, other)


@pytest.mark.parametrize("words, expected", [
    (["magent", "deploy", "-d", ""], ["agent-api", "agent-worker"]),
    (["magent", "rollback", "-n", "{other}", "--deployment", "w"], ["web"]),
], ids=["deploy", "rollback -n"])
def test_deployment_names_of_the_namespace_without_canaries(kubeconfig, deployments, words, expected):
    words = [word.format(other=deployments) for word in words]
    result = bash_complete(words, env={"KUBECONFIG": str(kubeconfig)})
    assert (result.words, result.stderr) == (expected, "")


def test_the_profile_s_namespace_is_used(kubeconfig, deployments, tmp_path):
    (tmp_path / "magent.yaml").write_text(f"profiles:\n  web:\n    kubernetes:\n      namespace: {deployments}\n")
    result = bash_complete(["magent", "--profile", "web", "history", "-d", ""], cwd=tmp_path,
                           env={"KUBECONFIG": str(kubeconfig)})
    assert result.words == ["web"]


def test_a_cluster_that_never_answers_gives_nothing_quickly_and_silently(tmp_path):
    with socket.socket() as silent:  # accepts connections (the backlog does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        config = tmp_path / "kubeconfig"
        config.write_text(yaml.safe_dump(kubeconfig_document(f"http://127.0.0.1:{silent.getsockname()[1]}", "t")))
        result = bash_complete(["magent", "deploy", "-d", ""], env={"KUBECONFIG": str(config)})
    assert (result.words, result.stderr) == ([], "")
    assert KUBE_COMPLETION_TIMEOUT_S <= result.seconds < KUBE_COMPLETION_TIMEOUT_S + 6  # the timeout, then start-up


def test_no_kubeconfig_and_no_cluster_gives_nothing(tmp_path):
    result = bash_complete(["magent", "deploy", "-d", ""], env={"KUBECONFIG": str(tmp_path / "missing")})
    assert (result.words, result.stderr) == ([], "")
