"""`lazy_import.install()`: the kubernetes client without its package initialisers, and everything still reachable.

Each check runs in a fresh interpreter: in the test process, kubernetes is usually imported already.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROLOGUE = """
import sys
from magent.services.kube.lazy_import import install, is_lazy
assert install() is True
def loaded(prefix):
    return sorted(m for m in sys.modules if m.startswith(prefix))
"""


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", PROLOGUE + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_what_a_rollback_uses_loads_no_models_and_no_other_package():
    _run("""
        from kubernetes import config
        from kubernetes.client import ApiClient, AppsV1Api, Configuration, CoordinationV1Api, CoreV1Api
        from kubernetes.client.exceptions import ApiException
        AppsV1Api(ApiClient(Configuration())).read_namespaced_deployment
        assert [p for p in ("kubernetes", "kubernetes.client", "kubernetes.client.api", "kubernetes.client.models")
                if not is_lazy(p)] == []
        assert loaded("kubernetes.client.models.") == [], loaded("kubernetes.client.models.")
        assert len(loaded("kubernetes.client.api.")) == 3, loaded("kubernetes.client.api.")
        assert not loaded("kubernetes.dynamic") and not loaded("kubernetes.watch")
        assert not hasattr(sys.modules["kubernetes.client"], "__wrapped__")  # a probe does not load everything
        assert is_lazy("kubernetes.client") and is_lazy("kubernetes.client.models")
    """)


def test_every_name_of_the_real_packages_is_still_there():
    out = _run("""
        import kubernetes
        from kubernetes import client, watch
        from kubernetes.client.models import V1Deployment
        assert client.V1Pod.__module__ == "kubernetes.client.models.v1_pod"
        assert kubernetes.client.models.V1Deployment is V1Deployment
        assert watch.Watch and kubernetes.utils.create_from_yaml
        assert len(loaded("kubernetes.client.models.")) < 10
        print(kubernetes.__version__ == client.__version__, client.models.__name__)
        from kubernetes.client import *  # noqa: F403 - the whole package, as before
        assert "BatchV1Api" in dir() and "V1Job" in dir()
        assert not is_lazy("kubernetes.client")
    """)
    assert out.split() == ["True", "kubernetes.client.models"]


def test_the_sdk_deserialises_into_its_models_as_before():
    out = _run("""
        import json
        from kubernetes.client import ApiClient
        class Response:
            data = json.dumps({"metadata": {"name": "web"}, "spec": {
                "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"spec": {"containers": [{"name": "app", "image": "app:v1"}]}}}})
        deployment = ApiClient().deserialize(Response(), "V1Deployment")
        print(type(deployment).__name__, deployment.metadata.name, deployment.spec.replicas)
    """)
    assert out.split() == ["V1Deployment", "web", "2"]


def test_nothing_is_done_once_kubernetes_is_imported():
    done = subprocess.run([sys.executable, "-c", "import kubernetes\n"
                           "from magent.services.kube.lazy_import import install, is_lazy\n"
                           "assert install() is False and not is_lazy('kubernetes.client')"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
