"""The `k8s:NAMESPACE/SECRET#KEY` key source: an API key read from a Kubernetes Secret.

`services/keys.py` registers `resolve` and `check_target` under the `k8s` scheme (lazily). The kubeconfig is
`kubernetes.kubeconfig`, else the one `KUBECONFIG` names (else ~/.kube/config, else the in-cluster service
account). Without `#KEY`, a Secret holding a single key gives that one; otherwise the keys present are listed (never their values). Every
value read is registered in SECRETS before anything could print it.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING

from magent.core.errors import UsageError
from magent.core.redact import SECRETS

if TYPE_CHECKING:
    from magent.services.keys import KeySource

_DNS_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


def check_target(target: str) -> str | None:
    """'NAMESPACE/SECRET', both Kubernetes object names; an error message otherwise."""
    namespace, slash, secret = target.partition("/")
    if not slash or not namespace or not secret:
        return f"{target!r} is not NAMESPACE/SECRET"
    for what, name in (("namespace", namespace), ("secret name", secret)):
        if not _DNS_NAME.fullmatch(name):
            return f"{name!r} is not a valid Kubernetes {what}"
    return None


def resolve(source: KeySource, *, kubeconfig: str | None, context: str | None) -> str:
    """The value of KEY in the Secret (decoded from base64)."""
    from magent.core.config import KubeSettings
    from magent.services.kube.client import NotFound, connect

    namespace, _, name = source.target.partition("/")
    settings = KubeSettings(kubeconfig=kubeconfig, context=context)
    try:
        with connect(settings, namespace=namespace) as kube:
            secret = kube.call(kube.core.read_namespaced_secret, name, namespace,
                               not_found=f"secret {name} not found in namespace {namespace}")
    except NotFound as exc:  # the generic hint speaks of deployments
        raise NotFound(exc.message, hint=f"list the secrets there: kubectl get secrets -n {namespace}") from exc
    values = _decoded(secret or {}, source.spec)
    if source.field:
        if source.field not in values:
            raise UsageError(f"secret {namespace}/{name} has no key {source.field!r}",
                             hint=f"keys present: {', '.join(sorted(values)) or 'none'}")
        return values[source.field]
    if len(values) == 1:
        return next(iter(values.values()))
    raise UsageError(f"secret {namespace}/{name} holds {len(values)} keys: name one",
                     hint=f"use k8s:{source.target}#KEY (keys present: {', '.join(sorted(values)) or 'none'})")


def _decoded(secret: dict, spec: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, encoded in (secret.get("data") or {}).items():
        try:
            text = base64.b64decode(encoded or "", validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            SECRETS.add(encoded)
            raise UsageError(f"{spec}: the value of key {key!r} is not base64-encoded UTF-8 text",
                             hint="store the API key as text in the Secret") from None
        SECRETS.add(encoded)
        SECRETS.add(text)
        SECRETS.add(text.strip())
        values[key] = text
    for key, text in (secret.get("stringData") or {}).items():  # never returned by a real API server; harmless
        SECRETS.add(text)
        values.setdefault(key, text)
    return values
