"""The light client behind `-d <TAB>` (services.kube_names) against the Kubernetes simulator: kubeconfig merging,
contexts and namespaces as kubectl chooses them, a bearer token (inline or in a file), a client certificate over
TLS; anything refused is Unanswerable. And the completion process imports none of the heavy packages."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import tempfile
import uuid

import pytest
import yaml
from fixtures.kube import deployment_manifest, wait_until
from fixtures.tls_front import TlsFront
from hypothesis import given, settings
from hypothesis import strategies as st

from magent.core.canary import CANARY_OF_ANNOTATION
from magent.sandbox.kube import kubeconfig_document
from magent.services import kube_names
from magent.services.kube_names import Unanswerable, deployment_names


def names(env, incomplete="", *, namespace=None, context=None, config=None, profile=None):
    return deployment_names(incomplete, namespace=namespace, context=context, config=config, profile=profile,
                            env=env, timeout_s=5)


@pytest.fixture
def apps(kube_sim, kube_namespace):
    for name in ("agent-api", "agent-worker", "web"):
        kube_sim.create(deployment_manifest(name, "registry.example/agent:v1", replicas=1, namespace=kube_namespace))
    kube_sim.create(deployment_manifest("agent-api-canary", "registry.example/agent:v2", replicas=1,
                                        namespace=kube_namespace, annotations={CANARY_OF_ANNOTATION: "agent-api"}))
    return kube_namespace


def write(path, document):
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_the_token_kubeconfig_lists_the_context_s_namespace_without_canaries(kubeconfig, apps):
    assert names({"KUBECONFIG": str(kubeconfig)}) == ["agent-api", "agent-worker", "web"]
    assert names({"KUBECONFIG": str(kubeconfig)}, "agent-w") == ["agent-worker"]


def test_namespace_order_flag_then_environment_then_context(kube_sim, kubeconfig, apps):
    other = f"t-{uuid.uuid4().hex[:10]}"
    kube_sim.create_namespace(other)
    try:
        kube_sim.create(deployment_manifest("batch", "registry.example/b:v1", replicas=1, namespace=other))
        env = {"KUBECONFIG": str(kubeconfig), "MAGENT_NAMESPACE": other}
        assert names(env) == ["batch"]
        assert names(env, namespace=apps) == ["agent-api", "agent-worker", "web"]
        assert names({**env, "MAGENT_NAMESPACE": "default"}) == ["agent-api", "agent-worker", "web"]  # as connect()
    finally:
        kube_sim.delete("v1", "Namespace", None, other)


def test_kubeconfig_files_merge_as_kubectl_and_the_profile_picks_the_context(kube_sim, apps, tmp_path):
    good = kubeconfig_document(kube_sim.url, kube_sim.token, namespace=apps, context="sim")
    refused = kubeconfig_document(kube_sim.url, "not-the-token", namespace=apps, context="refused")
    first = write(tmp_path / "a", {**refused, "contexts": [], "current-context": "sim",
                                   "clusters": [{"name": "other", "cluster": {"server": kube_sim.url}}],
                                   "users": [{"name": "other", "user": {"token": "x"}}]})
    second = write(tmp_path / "b", {**good, "current-context": "refused", "contexts": [
        *good["contexts"], {"name": "refused", "context": {"cluster": "other", "user": "other"}}]})
    env = {"KUBECONFIG": f"{first}{os.pathsep}{tmp_path / 'missing'}{os.pathsep}{second}"}
    assert names(env) == ["agent-api", "agent-worker", "web"]  # current-context from the first file that has one
    with pytest.raises(Unanswerable):
        names(env, context="refused")  # 401 with the other user's token
    config = tmp_path / "magent.yaml"
    config.write_text("kubernetes:\n  context: refused\nprofiles:\n  sim:\n    kubernetes:\n      context: sim\n")
    assert names(env, config=str(config), profile="sim") == ["agent-api", "agent-worker", "web"]
    with pytest.raises(Unanswerable):
        names(env, config=str(config))
    with pytest.raises(Unanswerable):
        names(env, config=str(config), profile="absent")
    with pytest.raises(Unanswerable):
        names({**env, "MAGENT_PROFILE": "absent"})  # no magent.yaml at all: no such profile either


def test_a_token_file_is_read_relative_to_the_kubeconfig(kube_sim, apps, tmp_path):
    (tmp_path / "token").write_text(kube_sim.token + "\n")
    document = kubeconfig_document(kube_sim.url, "", namespace=apps)
    document["users"][0]["user"] = {"tokenFile": "token"}
    config = write(tmp_path / "kubeconfig", document)
    assert names({"KUBECONFIG": str(config)}) == ["agent-api", "agent-worker", "web"]
    (tmp_path / "token").write_text("wrong")
    with pytest.raises(Unanswerable):
        names({"KUBECONFIG": str(config)})


def test_credential_plugins_are_not_run(kube_sim, apps, tmp_path):
    document = kubeconfig_document(kube_sim.url, "", namespace=apps)
    document["users"][0]["user"] = {"exec": {"command": "touch", "args": [str(tmp_path / "ran")],
                                             "apiVersion": "client.authentication.k8s.io/v1"}}
    with pytest.raises(Unanswerable):
        names({"KUBECONFIG": str(write(tmp_path / "kubeconfig", document))})
    assert not (tmp_path / "ran").exists()


@pytest.fixture(scope="module")
def tls_front(kube_sim):
    with TlsFront(int(kube_sim.url.rsplit(":", 1)[1])) as front:
        yield front


def _tls_kubeconfig(front, namespace, *, ca, user):
    document = kubeconfig_document(f"https://127.0.0.1:{front.port}", "", namespace=namespace)
    document["clusters"][0]["cluster"].update(ca)
    document["users"][0]["user"] = user
    return document


@pytest.mark.parametrize("memfd", [True, False], ids=["in-memory key", "key in a private folder"])
def test_a_client_certificate_over_tls_inline_or_in_files(tls_front, apps, tmp_path, monkeypatch, memfd):
    if not memfd:
        monkeypatch.delattr(os, "memfd_create", raising=False)
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    inline = _tls_kubeconfig(tls_front, apps, ca={"certificate-authority-data": b64(tls_front.ca_pem)},
                             user={"client-certificate-data": b64(tls_front.client_cert_pem),
                                   "client-key-data": b64(tls_front.client_key_pem)})
    assert names({"KUBECONFIG": str(write(tmp_path / "inline", inline))}) == ["agent-api", "agent-worker", "web"]
    for name, data in (("ca.crt", tls_front.ca_pem), ("user.crt", tls_front.client_cert_pem),
                       ("user.key", tls_front.client_key_pem)):
        (tmp_path / name).write_bytes(data)
    files = _tls_kubeconfig(tls_front, apps, ca={"certificate-authority": "ca.crt"},
                            user={"client-certificate": "user.crt", "client-key": "user.key"})
    assert names({"KUBECONFIG": str(write(tmp_path / "files", files))}) == ["agent-api", "agent-worker", "web"]
    assert not [entry for entry in os.listdir(tempfile.gettempdir()) if entry.startswith("magent-complete-")]


@pytest.mark.parametrize("ca, user", [
    ({"certificate-authority": "ca.crt"}, {}),  # no client certificate: the front refuses the handshake
    ({}, {"client-certificate": "user.crt", "client-key": "user.key"}),  # the system CAs do not know the front's
], ids=["no client certificate", "unknown CA"])
def test_a_refused_handshake_is_unanswerable(tls_front, apps, tmp_path, ca, user):
    for name, data in (("ca.crt", tls_front.ca_pem), ("user.crt", tls_front.client_cert_pem),
                       ("user.key", tls_front.client_key_pem)):
        (tmp_path / name).write_bytes(data)
    config = write(tmp_path / "kubeconfig", _tls_kubeconfig(tls_front, apps, ca=ca, user=user))
    refused = tls_front.handshakes_refused
    with pytest.raises(Unanswerable):
        names({"KUBECONFIG": str(config)})
    wait_until(lambda: tls_front.handshakes_refused > refused, what="the front to see the handshake fail")


def test_the_canary_annotation_is_core_s():
    assert kube_names.CANARY_OF_ANNOTATION == CANARY_OF_ANNOTATION


def test_completing_names_loads_no_command_module_and_no_heavy_package(kubeconfig, apps):
    """The shell waits for this at every <TAB>: it was 4.8x a bare Typer start-up with the kubernetes package."""
    probe = ("import sys; from magent.cli.app import run\n"
             "try:\n    run([])\nexcept SystemExit:\n    pass\n"
             "print('MODULES', *sorted(sys.modules))")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "COMP_WORDS": "magent deploy -d ", "COMP_CWORD": "3",
           "_MAGENT_COMPLETE": "complete_bash"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, env=env)
    shown, _, modules = done.stdout.rpartition("MODULES ")
    assert shown.split() == ["agent-api", "agent-worker", "web"]
    loaded = set(modules.split())
    heavy = {"kubernetes", "pydantic", "urllib3", "requests", "magent.cli.deploy", "magent.cli.cluster"}
    assert not heavy & ({name.split(".")[0] for name in loaded} | loaded)


_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.sampled_from(["name", "cluster", "user", "context", "server", "namespace",
                                                          "token", "x"]), inner, max_size=4), max_leaves=12)


@settings(max_examples=60)  # each example writes two files
@given(st.dictionaries(st.sampled_from(["clusters", "users", "contexts", "current-context", "kind"]), _values,
                       max_size=5), st.dictionaries(st.sampled_from(["kubernetes", "profiles", "default_profile"]),
                                                    _values, max_size=3))
def test_any_kubeconfig_and_magent_yaml_give_a_target_or_unanswerable(tmp_path_factory, kubeconfig, config):
    folder = tmp_path_factory.mktemp("fuzz")
    write(folder / "kubeconfig", kubeconfig)
    write(folder / "magent.yaml", config)
    try:
        settings = kube_names.kube_settings(str(folder / "magent.yaml"), None, {"KUBECONFIG": str(folder / "kubeconfig")})
        target = kube_names.cluster_target(settings, None)
    except Unanswerable:
        return
    assert isinstance(target["server"], str) and isinstance(target["user"], dict)


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_a_whole_answer_is_not_held_up_by_a_connection_left_open(tmp_path, framing):
    """A proxy may keep the connection despite `Connection: close`: the answer's own framing ends the read."""
    import json
    import socket
    import threading

    body = json.dumps({"items": [{"metadata": {"name": "agent-api"}}, {"metadata": {"name": "web"}}]}).encode()
    if framing == "chunked":
        head, payload = b"Transfer-Encoding: chunked", b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    else:
        head, payload = b"Content-Length: %d" % len(body), body
    release = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as server:
        def answer_and_hold():
            connection, _ = server.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\n" + head + b"\r\n\r\n" + payload)
                release.wait(30)  # held open until the test is over

        threading.Thread(target=answer_and_hold, daemon=True).start()
        document = kubeconfig_document(f"http://127.0.0.1:{server.getsockname()[1]}", "t")
        try:
            found = deployment_names("", namespace=None, context=None, config=None, profile=None,
                                     env={"KUBECONFIG": str(write(tmp_path / "kubeconfig", document))}, timeout_s=10)
        finally:
            release.set()
    assert found == ["agent-api", "web"]
