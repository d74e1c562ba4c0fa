"""The `k8s:NAMESPACE/SECRET#KEY` key source, reading Secrets from the simulator over HTTP."""

from __future__ import annotations

import base64

import pytest
from fixtures.deploy import cluster  # noqa: F401 - fixture

from magent.core.errors import UsageError
from magent.core.redact import SECRETS
from magent.services.keys import ResolveContext, parse_key_source, resolve_key

KEY = "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"


def _secret(cluster, name: str, data: dict[str, str]) -> None:  # noqa: F811
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    cluster.sim.create({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                        "metadata": {"name": name, "namespace": cluster.namespace}, "data": encoded})


def _resolve(cluster, spec: str):  # noqa: F811
    return resolve_key(parse_key_source(spec), ResolveContext(env={"KUBECONFIG": str(cluster.kubeconfig)}))


def test_reads_the_named_key_and_registers_it_as_a_secret(cluster):  # noqa: F811
    _secret(cluster, "mistral", {"api_key": KEY, "other": "not-the-key-value"})
    resolved = _resolve(cluster, f"k8s:{cluster.namespace}/mistral#api_key")
    assert resolved.key == KEY
    assert resolved.warnings == ()
    assert KEY not in SECRETS.mask(f"key={KEY}")
    assert "not-the-key-value" not in SECRETS.mask("not-the-key-value")


def test_a_single_key_secret_needs_no_key_name(cluster):  # noqa: F811
    _secret(cluster, "only", {"token": KEY})
    assert _resolve(cluster, f"k8s:{cluster.namespace}/only").key == KEY


@pytest.mark.parametrize(("spec", "message", "hint"), [
    ("k8s:{ns}/mistral#nope", "has no key 'nope'", "api_key, other"),
    ("k8s:{ns}/mistral", "holds 2 keys", "api_key, other"),
    ("k8s:{ns}/absent#api_key", "secret absent not found in namespace {ns}", "kubectl get secrets -n {ns}"),
])
def test_errors_name_what_is_missing_never_a_value(cluster, spec, message, hint):  # noqa: F811
    _secret(cluster, "mistral", {"api_key": KEY, "other": "second-secret-value"})
    with pytest.raises(UsageError) as caught:
        _resolve(cluster, spec.format(ns=cluster.namespace))
    assert message.format(ns=cluster.namespace) in caught.value.message
    assert hint.format(ns=cluster.namespace) in (caught.value.hint or "")
    assert KEY not in f"{caught.value.message} {caught.value.hint}"
    assert caught.value.exit_code == 2
