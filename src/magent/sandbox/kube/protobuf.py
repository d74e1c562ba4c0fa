"""Decode the Kubernetes protobuf wire format (`application/vnd.kubernetes.protobuf`) into JSON objects.

kubectl 1.32+ sends protobuf bodies from its typed clients (`kubectl create deployment|secret|configmap|
service|namespace`, `kubectl run`). The body is `k8s\\x00` + a `runtime.Unknown` envelope whose `raw` field
holds the object's message. Field numbers and types come from the `generated.proto` files of
kubernetes/api and kubernetes/apimachinery, condensed into `magent/data/kube_protobuf_schema.json`
(regenerate with `python -m magent.sandbox.kube.protobuf PROTO_FILE…`).

Go's protobuf encoder writes every non-pointer field, so zero values are dropped (as JSON's `omitempty`
would), except for pointer fields where an explicit zero means something (`replicas: 0`).
"""

from __future__ import annotations

import base64
import functools
import json
import re
import sys
from datetime import UTC, datetime
from importlib import resources
from typing import Any

MAGIC = b"k8s\x00"
_PACKAGES = {"": "k8s.io.api.core.v1", "apps": "k8s.io.api.apps.v1",
             "coordination.k8s.io": "k8s.io.api.coordination.v1", "policy": "k8s.io.api.policy.v1",
             "autoscaling": "k8s.io.api.autoscaling.v2", "authorization.k8s.io": "k8s.io.api.authorization.v1"}
_TIME = "k8s.io.apimachinery.pkg.apis.meta.v1.Time"
_MICRO_TIME = "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime"
_INT_OR_STRING = "k8s.io.apimachinery.pkg.util.intstr.IntOrString"
_QUANTITY = "k8s.io.apimachinery.pkg.api.resource.Quantity"
# Pointer fields (`*int32`, `*bool`) of the Go types: present on the wire only when set, so zero is kept.
_POINTER_FIELDS = frozenset({
    "replicas", "revisionHistoryLimit", "progressDeadlineSeconds", "terminationGracePeriodSeconds",
    "activeDeadlineSeconds", "runAsUser", "runAsGroup", "runAsNonRoot", "privileged", "readOnlyRootFilesystem",
    "allowPrivilegeEscalation", "automountServiceAccountToken", "defaultMode", "optional", "immutable",
    "minReplicas", "enableServiceLinks", "shareProcessNamespace", "hostUsers", "leaseDurationSeconds",
    "leaseTransitions", "deletionGracePeriodSeconds",
})


class ProtobufError(ValueError):
    pass


@functools.cache
def _schema() -> dict[str, dict[str, list[str]]]:
    text = resources.files("magent").joinpath("data/kube_protobuf_schema.json").read_text()
    return json.loads(text)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes):
    """(field number, wire type, value) for each field; value is an int or bytes."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = int.from_bytes(data[pos:pos + size], "little"), pos + size
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        yield number, wire, value


def _scalar(kind: str, value: Any) -> Any:
    if kind == "string":
        return value.decode("utf-8")
    if kind == "bytes":
        return base64.b64encode(value).decode()
    if kind == "bool":
        return bool(value)
    if kind in ("int32", "int64"):
        return value - (1 << 64) if value >= 1 << 63 else value
    if kind == "double":
        import struct

        return struct.unpack("<d", value.to_bytes(8, "little"))[0]
    raise ProtobufError(f"unsupported scalar type {kind}")


def _special(kind: str, data: bytes) -> Any:
    fields = {number: value for number, _, value in _fields(data)}
    if kind in (_TIME, _MICRO_TIME):
        seconds = _scalar("int64", fields.get(1, 0))
        if not seconds:
            return None
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == _INT_OR_STRING:
        return fields.get(3, b"").decode() if fields.get(1) == 1 else _scalar("int32", fields.get(2, 0))
    return fields.get(1, b"").decode()  # Quantity


def _value(kind: str, data: Any) -> Any:
    if kind in (_TIME, _MICRO_TIME, _INT_OR_STRING, _QUANTITY):
        return _special(kind, data)
    if kind in _schema():
        return decode_message(kind, data)
    return _scalar(kind, data)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == [] or value is False or value == 0


def decode_message(message: str, data: bytes) -> dict[str, Any]:
    """A protobuf message as the JSON object the Kubernetes API would show."""
    spec = _schema()[message]
    out: dict[str, Any] = {}
    for number, _, raw in _fields(data):
        field = spec.get(str(number))
        if field is None:
            continue
        name, label, kind = field[0], field[1], field[2]
        if label == "map":
            entry = {n: v for n, _, v in _fields(raw)}
            key = _scalar(kind, entry.get(1, b""))
            out.setdefault(name, {})[key] = _value(field[3], entry.get(2, b""))
        elif label == "repeated":
            out.setdefault(name, []).append(_value(kind, raw))
        else:
            out[name] = _value(kind, raw)
    return {k: v for k, v in out.items() if k in _POINTER_FIELDS and v is not None or not _empty(v)}


def decode_object(body: bytes) -> dict[str, Any]:
    """Decode a `k8s\\x00`-prefixed protobuf body into a JSON object with apiVersion and kind."""
    if not body.startswith(MAGIC):
        raise ProtobufError("protobuf body without the k8s magic prefix")
    envelope = {number: value for number, _, value in _fields(body[len(MAGIC):])}
    type_meta = {number: value.decode() for number, _, value in _fields(envelope.get(1, b""))}
    api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
    group = api_version.rpartition("/")[0]
    message = f"{_PACKAGES.get(group, '')}.{kind}"
    if message not in _schema():
        raise ProtobufError(f"cannot decode {kind} in {api_version} from protobuf")
    return {"apiVersion": api_version, "kind": kind, **decode_message(message, envelope.get(2, b""))}


# --- regenerating the schema from generated.proto files ---------------------------------------------------
_FIELD = re.compile(r"^\s*(optional|repeated)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)")
_MAP_FIELD = re.compile(r"^\s*map<\s*(\w+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)")


def _qualify(package: str, kind: str) -> str:
    if kind in ("string", "bytes", "bool", "int32", "int64", "double"):
        return kind
    return kind.lstrip(".") if "." in kind else f"{package}.{kind}"


def parse_proto(text: str) -> dict[str, dict[str, list[str]]]:
    package = re.search(r"^package\s+([\w.]+);", text, re.M).group(1)  # type: ignore[union-attr]
    messages: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for line in text.splitlines():
        if match := re.match(r"^message\s+(\w+)\s*{", line):
            current = messages.setdefault(f"{package}.{match.group(1)}", {})
        elif current is not None and (match := _MAP_FIELD.match(line)):
            key, value, name, number = match.groups()
            current[number] = [name, "map", key, _qualify(package, value)]
        elif current is not None and (match := _FIELD.match(line)):
            label, kind, name, number = match.groups()
            current[number] = [name, label, _qualify(package, kind)]
    return messages


if __name__ == "__main__":
    schema: dict[str, dict[str, list[str]]] = {}
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as handle:
            schema.update(parse_proto(handle.read()))
    print(json.dumps(schema, separators=(",", ":"), sort_keys=True))
