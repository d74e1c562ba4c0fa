"""Key sources resolved from magent.yaml's settings: `kubernetes.kubeconfig` reaches the `k8s:` source."""

from __future__ import annotations

import base64

from fixtures.deploy import cluster  # noqa: F401 - fixture

from magent.core.config import load_settings
from magent.services.keys import resolve_mistral_keys

KEY = "Zy4xWv1uTs8rQp5oNm2lKj9iHg6fEd3c"


def test_k8s_source_uses_the_kubeconfig_named_only_in_magent_yaml(cluster, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config to fall back on
    cluster.sim.create({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                        "metadata": {"name": "mistral", "namespace": cluster.namespace},
                        "data": {"api_key": base64.b64encode(KEY.encode()).decode()}})
    config = tmp_path / "magent.yaml"
    config.write_text(f"kubernetes:\n  kubeconfig: {cluster.kubeconfig}\n"
                      f"mistral:\n  key_from: ['k8s:{cluster.namespace}/mistral#api_key']\n")
    settings, _, _ = load_settings(str(config), env={})
    assert settings.kubernetes.kubeconfig == str(cluster.kubeconfig)
    [resolved] = resolve_mistral_keys(settings, env={})
    assert resolved.key == KEY
