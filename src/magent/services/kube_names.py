"""Deployment names for shell completion (`-d <TAB>`), with the least start-up a cluster request allows.

The shell runs magent at every <TAB>: importing the kubernetes package and validating magent.yaml with pydantic
took 4.8x the start-up of a bare Typer program. This module reads what the request needs and nothing more: the
`kubernetes:` section of the profile in effect (raw YAML), the kubeconfig (merged as kubectl merges KUBECONFIG's
files, first file wins), then one GET of the namespace's Deployments with the context's TLS settings and
credentials (bearer token or token file, client certificate, basic auth; in a pod, the service account), bounded
by one deadline (the standard library's http.client: no urllib3, no requests). Anything it cannot use (an exec or auth-provider
plugin, tls-server-name, proxy-url, a missing file, a refusal, a slow cluster) raises `Unanswerable`, and the
caller completes nothing: completion is a convenience, never a wait.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

CANARY_OF_ANNOTATION = "magent.dev/canary-of"  # core.canary's (a test keeps them equal)
DEFAULT_NAMESPACE = "default"
DEFAULT_PROFILE = "default"
SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
MAX_BODY_BYTES = 64 * 1024 * 1024


class Unanswerable(Exception):
    """The cluster cannot be asked (or did not answer) in time: complete nothing."""


def deployment_names(incomplete: str, *, namespace: str | None, context: str | None, config: str | None,
                     profile: str | None, env: Mapping[str, str], timeout_s: float) -> list[str]:
    """The Deployments (magent's canaries left out) starting with `incomplete`, of the namespace and context the
    command would use: -n > MAGENT_NAMESPACE / the profile's kubernetes.namespace (unless "default") > the
    context's namespace > default; --context > kubernetes.context > the kubeconfig's current context."""
    deadline = time.monotonic() + timeout_s
    settings = kube_settings(config, profile, env)
    target = cluster_target(settings, context)
    explicit = settings.get("namespace")
    explicit = explicit if isinstance(explicit, str) and explicit != DEFAULT_NAMESPACE else None
    chosen = namespace or explicit or target.get("namespace") or DEFAULT_NAMESPACE
    listing = get_json(target, f"/apis/apps/v1/namespaces/{chosen}/deployments", deadline)
    metadata = [item.get("metadata") or {} for item in listing.get("items") or [] if isinstance(item, dict)]
    return sorted(meta["name"] for meta in metadata
                  if isinstance(meta.get("name"), str) and meta["name"].startswith(incomplete)
                  and CANARY_OF_ANNOTATION not in (meta.get("annotations") or {}))


def kube_settings(config: str | None, profile: str | None, env: Mapping[str, str]) -> dict[str, Any]:
    """The `kubernetes:` settings in effect (file's base, then the profile's, then KUBECONFIG / MAGENT_NAMESPACE),
    read as core.config.load_settings reads them, without its validation of every other section."""
    from magent.core.config_file import find_config_file

    path = find_config_file(config, env)
    document: dict[str, Any] = {}
    if path is not None:
        from magent.core.config_yaml import parse_config_yaml

        document = _mapping(parse_config_yaml(path.read_bytes(), str(path))[0])
    profiles = _mapping(document.get("profiles"))
    name = profile or env.get("MAGENT_PROFILE") or document.get("default_profile") or DEFAULT_PROFILE
    if not isinstance(name, str) or (name != DEFAULT_PROFILE and name not in profiles):
        raise Unanswerable("no such profile")  # the command itself would stop there
    section = {**_mapping(document.get("kubernetes")), **_mapping(_mapping(profiles.get(name)).get("kubernetes"))}
    for variable, key in (("KUBECONFIG", "kubeconfig"), ("MAGENT_NAMESPACE", "namespace")):
        if env.get(variable):
            section[key] = env[variable]
    return section


def cluster_target(settings: Mapping[str, Any], context: str | None) -> dict[str, Any]:
    """{server, namespace, cluster (kubeconfig's), user (kubeconfig's)} of the chosen context, or of the pod's
    service account when there is no kubeconfig file (as the kubernetes client falls back in a cluster)."""
    paths = [os.path.expanduser(part) for part in str(settings.get("kubeconfig") or "~/.kube/config").split(os.pathsep)
             if part]
    files = [path for path in paths if os.path.isfile(path)]
    if not files:
        return _in_cluster()
    merged = _merged_kubeconfig(files)
    name = context or settings.get("context") or merged["current-context"]
    chosen = merged["contexts"].get(_text(name))
    if not isinstance(chosen, dict):
        raise Unanswerable("no such context")
    cluster = _mapping(merged["clusters"].get(_text(chosen.get("cluster"))))
    if not isinstance(cluster.get("server"), str):
        raise Unanswerable("the context's cluster has no server")
    if cluster.get("proxy-url"):
        raise Unanswerable("a cluster behind a proxy is left to the real client")
    return {"server": cluster["server"], "namespace": _text(chosen.get("namespace")), "cluster": cluster,
            "user": _mapping(merged["users"].get(_text(chosen.get("user"))))}


def _merged_kubeconfig(files: list[str]) -> dict[str, Any]:
    import yaml

    merged: dict[str, Any] = {"clusters": {}, "users": {}, "contexts": {}, "current-context": None}
    for path in files:
        with open(path, "rb") as handle:
            document = _mapping(yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
        for kind, inner in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            entries = document.get(kind)
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    merged[kind].setdefault(entry["name"], _relative_to(path, _mapping(entry.get(inner))))
        merged["current-context"] = merged["current-context"] or _text(document.get("current-context"))
    return merged


def _relative_to(kubeconfig: str, entry: dict[str, Any]) -> dict[str, Any]:
    """File names in a kubeconfig are relative to its folder, as kubectl reads them."""
    folder = os.path.dirname(os.path.abspath(kubeconfig))
    return {key: os.path.join(folder, os.path.expanduser(value)) if key in _FILE_KEYS and isinstance(value, str)
            else value for key, value in entry.items()}


_FILE_KEYS = ("certificate-authority", "client-certificate", "client-key", "tokenFile")


def _in_cluster() -> dict[str, Any]:
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    if not (host and port and os.path.isfile(f"{SERVICE_ACCOUNT}/token")):
        raise Unanswerable("no kubeconfig and not in a cluster")
    host = f"[{host}]" if ":" in host else host
    try:
        with open(f"{SERVICE_ACCOUNT}/namespace") as handle:
            namespace = handle.read().strip() or None
    except OSError:
        namespace = None
    return {"server": f"https://{host}:{port}", "namespace": namespace,
            "cluster": {"certificate-authority": f"{SERVICE_ACCOUNT}/ca.crt"},
            "user": {"tokenFile": f"{SERVICE_ACCOUNT}/token"}}


def get_json(target: Mapping[str, Any], path: str, deadline: float) -> dict[str, Any]:
    """GET server+path as JSON with the context's credentials; Unanswerable unless a 200 comes before deadline."""
    import http.client
    import json
    from urllib.parse import urlsplit

    server = urlsplit(target["server"])
    if server.scheme not in ("http", "https") or not server.hostname:
        raise Unanswerable("the server is not an http(s) URL")
    headers = {"Accept": "application/json", "User-Agent": "magent-completion", **_auth_headers(target["user"])}
    connection: http.client.HTTPConnection
    if server.scheme == "https":
        connection = http.client.HTTPSConnection(server.hostname, server.port, timeout=_remaining(deadline),
                                                 context=_tls_context(target["cluster"], target["user"]))
    else:
        connection = http.client.HTTPConnection(server.hostname, server.port, timeout=_remaining(deadline))
    try:
        connection.request("GET", f"{server.path.rstrip('/')}{path}", headers=headers)
        answer = connection.getresponse()
        if answer.status != 200:
            raise Unanswerable(f"HTTP {answer.status}")
        length = answer.getheader("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise Unanswerable("answer too large")
        connection.sock.settimeout(_remaining(deadline))  # the body, as the answer's head, before the deadline
        listing = json.loads(answer.read(MAX_BODY_BYTES + 1))
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise Unanswerable(type(exc).__name__) from None
    finally:
        connection.close()
    if not isinstance(listing, dict):
        raise Unanswerable("not a list")
    return listing


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise Unanswerable("out of time")
    return left


def _auth_headers(user: Mapping[str, Any]) -> dict[str, str]:
    if user.get("exec") or user.get("auth-provider"):
        raise Unanswerable("credential plugins are not run for a completion")
    token = user.get("token")
    if not token and user.get("tokenFile"):
        with open(os.path.expanduser(user["tokenFile"])) as handle:
            token = handle.read().strip()
    if token:
        return {"Authorization": f"Bearer {token}"}
    if user.get("username") and user.get("password"):
        import base64

        pair = f"{user['username']}:{user['password']}".encode()
        return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
    return {}


def _tls_context(cluster: Mapping[str, Any], user: Mapping[str, Any]) -> Any:
    import ssl

    # the cluster's own CA alone when it names one, as kubectl; the system's CAs otherwise (loading them all costs
    # a quarter of a bare Typer start-up, so not when they are not needed)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # hostname checked, certificate required
    if cluster.get("insecure-skip-tls-verify"):
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    elif cluster.get("certificate-authority-data"):
        context.load_verify_locations(cadata=_decoded(cluster["certificate-authority-data"]).decode())
    elif cluster.get("certificate-authority"):
        context.load_verify_locations(cafile=os.path.expanduser(cluster["certificate-authority"]))
    else:
        context.load_default_certs()
    if cluster.get("tls-server-name"):  # http.client checks the URL's host name: never a weaker check instead
        raise Unanswerable("tls-server-name is left to the real client")
    _load_client_certificate(context, user)
    return context


def _load_client_certificate(context: Any, user: Mapping[str, Any]) -> None:
    certificate, key = user.get("client-certificate-data"), user.get("client-key-data")
    if certificate and key:
        # ssl loads a certificate chain from files only: anonymous in-memory files where there are (Linux), else a
        # private folder, gone once loaded
        with _private_file(_decoded(certificate)) as cert_path, _private_file(_decoded(key)) as key_path:
            context.load_cert_chain(cert_path, key_path)
    elif user.get("client-certificate") and user.get("client-key"):
        context.load_cert_chain(os.path.expanduser(user["client-certificate"]), os.path.expanduser(user["client-key"]))


@contextmanager
def _private_file(data: bytes) -> Iterator[str]:
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fd = os.memfd_create("magent-complete", os.MFD_CLOEXEC)
        try:
            with open(fd, "wb", closefd=False) as handle:
                handle.write(data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="magent-complete-") as folder:
        path = os.path.join(folder, "pem")
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(data)
        yield path


def _decoded(data: str) -> bytes:
    import base64

    return base64.b64decode(data)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
