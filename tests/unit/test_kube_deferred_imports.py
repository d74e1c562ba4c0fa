"""`deferred_imports.connection_modules()`: connecting to a cluster without OIDC's and dateutil's modules, which
the kubernetes client's connection modules import at their top, and every use of them still working.

Each check runs in a fresh interpreter: in the test process, these libraries are usually imported already.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

DEFERRED = ("oauthlib", "oauthlib.oauth2", "requests_oauthlib", "dateutil.parser", "dateutil.tz", "requests",
            "requests.utils", "http.cookiejar")
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: u, user: {token: not-a-real-token}}]
contexts: [{name: ctx, context: {cluster: c, user: u, namespace: shop}}]
current-context: ctx
"""


def _run(code: str, kubeconfig: Path, *, before: str = "") -> dict:
    prologue = f"""
import json, sys
{before}
from magent.services.kube.lazy_import import install
install()
from magent.core.config import KubeSettings
from magent.services.kube.client import connect
kube = connect(KubeSettings.model_construct(kubeconfig={str(kubeconfig)!r}), timeout_s=5)
"""
    done = subprocess.run([sys.executable, "-c", prologue + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_a_connection_imports_neither_oidc_nor_dateutil_and_each_still_works_when_used(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    out = _run(f"""
        loaded = [name for name in {DEFERRED!r} if name in sys.modules]
        from kubernetes.client import api_client
        from kubernetes.config import kube_config
        session = kube_config.OAuth2Session(client_id="magent")  # what an OIDC token refresh builds
        error = kube_config.oauthlib.oauth2.rfc6749.errors.InvalidClientIdError  # what it catches
        parsed = api_client.parse("2026-11-28T10:00:00Z")  # what a model's date field goes through
        from kubernetes.client import rest
        bypass = [rest.should_bypass_proxies("http://10.0.0.1:6443", no_proxy=n) for n in ("10.0.0.1", "other")]
        import dateutil.parser, oauthlib.oauth2, requests.utils, requests_oauthlib
        print(json.dumps({{
            "loaded": loaded, "namespace": kube.namespace,
            "session": type(session) is requests_oauthlib.OAuth2Session,
            "error": error is oauthlib.oauth2.rfc6749.errors.InvalidClientIdError,
            "same_package": kube_config.oauthlib.oauth2 is oauthlib.oauth2,
            "parsed": parsed.isoformat(), "parse_is_real": dateutil.parser.parse is sys.modules["dateutil.parser"].parse,
            "bypass": bypass, "requests_is_real": requests.utils.should_bypass_proxies.__module__ == "requests.utils",
            "real_modules": sorted({{type(sys.modules[name]).__name__ for name in {DEFERRED!r}}}),
        }}))
    """, kubeconfig)
    assert out == {"loaded": [], "namespace": "shop", "session": True, "error": True, "same_package": True,
                   "parsed": "2026-11-28T10:00:00+00:00", "parse_is_real": True, "bypass": [True, False],
                   "requests_is_real": True, "real_modules": ["module"]}


def test_with_a_library_imported_before_the_connection_nothing_is_deferred(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    out = _run("""
        import requests_oauthlib
        from kubernetes.config import kube_config
        from magent.services.kube.deferred_imports import Placeholder
        print(json.dumps({"real": kube_config.OAuth2Session is requests_oauthlib.OAuth2Session,
                          "placeholders": [n for n, m in sys.modules.items() if isinstance(m, Placeholder)]}))
    """, kubeconfig, before="import requests_oauthlib")
    assert out == {"real": True, "placeholders": []}
