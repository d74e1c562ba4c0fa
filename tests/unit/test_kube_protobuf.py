"""Decoding the protobuf bodies kubectl 1.32+ sends (`kubectl create deployment` and kin)."""

from __future__ import annotations

import pytest

from magent.sandbox.kube.protobuf import MAGIC, ProtobufError, decode_object


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value: bytes | str | int) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _map(number: int, items: dict[str, str]) -> bytes:
    return b"".join(_field(number, _field(1, k) + _field(2, v)) for k, v in items.items())


def _envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    return MAGIC + _field(1, _field(1, api_version) + _field(2, kind)) + _field(2, raw)


def _deployment(replicas: int) -> bytes:
    labels = _map(11, {"app": "web"})
    metadata = _field(1, "web") + _field(2, "") + labels + _field(8, b"")  # empty generateName, zero Time
    container = _field(1, "app") + _field(2, "app:v1") + _field(16, 0)  # stdin=false (not a pointer)
    pod_spec = _field(2, container) + _field(3, "")
    template = _field(1, labels) + _field(2, pod_spec)
    surge = _field(1, 1) + _field(3, "50%")  # IntOrString of type string
    strategy = _field(1, "RollingUpdate") + _field(2, _field(2, surge))
    spec = (_field(1, replicas) + _field(2, _map(1, {"app": "web"})) + _field(3, template) + _field(4, strategy)
            + _field(5, 0))
    return _envelope("apps/v1", "Deployment", _field(1, metadata) + _field(2, spec) + _field(3, b""))


def test_decodes_a_deployment_like_kubectl_create_sends():
    obj = decode_object(_deployment(replicas=4))
    assert obj == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "app", "image": "app:v1"}]}},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "50%"}}},
    }


def test_an_explicit_zero_in_a_pointer_field_is_kept():
    assert decode_object(_deployment(replicas=0))["spec"]["replicas"] == 0


def test_secret_data_is_base64_as_in_json():
    secret = _field(1, _field(1, "s")) + _field(2, _field(1, "key") + _field(2, b"\x00value"))
    obj = decode_object(_envelope("v1", "Secret", secret))
    assert obj["data"] == {"key": "AHZhbHVl"}


@pytest.mark.parametrize("body", [b"{}", MAGIC + _field(1, _field(1, "v1") + _field(2, "Widget"))])
def test_undecodable_bodies_raise(body):
    with pytest.raises(ProtobufError):
        decode_object(body)
