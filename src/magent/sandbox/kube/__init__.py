"""The Kubernetes API simulator: a real HTTP server that kubectl and the official Python client can use.

    from magent.sandbox.kube import KubeSimulator

    with KubeSimulator(ready_delay=0.2, tick=0.05) as sim:
        sim.write_kubeconfig(tmp_path / "kubeconfig", namespace="demo")
        sim.create_namespace("demo")
        ...  # kubectl --kubeconfig … / kubernetes.config.load_kube_config(config_file=…)
        sim.get("apps/v1", "Deployment", "demo", "web")
        sim.list("v1", "Pod", "demo", label_selector="app=web")

It serves discovery, namespaces, one Node (`magent-sandbox-node`, where every pod runs), Deployments (status,
scale) and ReplicaSets, ReplicationControllers (the ReplicaSet controller runs them too), DaemonSets (one pod on
the node, replaced on a template change), Pods (status, log), Events, Services and their EndpointSlices
(discovery.k8s.io/v1, kept by a controller), Secrets, ConfigMaps, ServiceAccounts, Leases,
HorizontalPodAutoscalers (autoscaling/v2), PodDisruptionBudgets (policy/v1), StatefulSets, RBAC Roles,
ClusterRoles and their bindings, and APIServices (stored, no controller, not enforced), Jobs (batch/v1, with a
Job controller: see jobs.py; a test ends a Job's pods with `finish_pod`), the resource metrics API
(metrics.k8s.io/v1beta1, `kubectl top`; made-up steady usage of running containers), and answers
SelfSubjectAccessReview (`kubectl auth can-i`; everything is
allowed unless `deny()` says otherwise); verbs get, list (label/field selectors, limit/continue), watch (chunked
newline-delimited JSON from a resourceVersion, with bookmarks), create, update, patch (strategic merge, JSON
merge, JSON patch, server-side apply approximated by a strategic merge), delete (owned objects are collected)
and `dryRun=All`. A deployment controller rolls Deployments out as a real cluster does.

Pods become ready `ready_delay` seconds after they are created, unless their image's tag ends in:
- `-unready`: running, never ready;
- `-crashloop`: CrashLoopBackOff, restartCount growing, the back-off doubling from `restart_interval / 2`
  up to 30 times that (a node's 10 s → 5 min), Warning events BackOff;
- `-oom`: the same with `lastState.terminated.reason: OOMKilled` (exit code 137).
Deleting a running pod is graceful: it is Terminating (a `deletionTimestamp`), out of its Service's ready
endpoints and no longer counted by its ReplicaSet at once, and gone after its grace period
(`terminationGracePeriodSeconds`, 30 s by default) times `grace_scale` (0.01: 0.3 s). Deleting a namespace
removes everything in it at once.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from magent.sandbox.kube.authz import Authorizer, Denial
from magent.sandbox.kube.discovery import by_kind
from magent.sandbox.kube.errors import ApiError
from magent.sandbox.kube.nodes import register_node
from magent.sandbox.kube.selectors import object_matcher
from magent.sandbox.kube.store import ObjectStore
from magent.sandbox.server import ServedApp

__all__ = ["ApiError", "KubeSimulator", "kubeconfig_document"]

_NAMESPACE = by_kind("v1", "Namespace")
_SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def kubeconfig_document(server: str, token: str, *, namespace: str = "default",
                        context: str = "magent-sandbox") -> dict[str, Any]:
    """A kubeconfig with one cluster (`magent-sandbox`), one user with a bearer token, and one context."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "magent-sandbox", "cluster": {"server": server}}],
        "users": [{"name": "magent-sandbox", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": "magent-sandbox", "user": "magent-sandbox",
                                                    "namespace": namespace}}],
        "current-context": context,
        "preferences": {},
    }


class KubeSimulator(ServedApp):
    """The API server, its object store and its controllers, on 127.0.0.1 (port 0 picks a free one).

    A request carrying a bearer token other than `token` gets 401 Unauthorized; one without a token is
    served unless `require_token` (kubectl sends no token over plain http; the Python client does).
    """

    def __init__(self, *, ready_delay: float = 1.0, tick: float = 0.1, restart_interval: float = 1.0,
                 grace_scale: float = 0.01, token: str | None = None, require_token: bool = False,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        from magent.sandbox.kube.loop import ControlLoop

        self.token = token or secrets.token_urlsafe(24)
        self.require_token = require_token
        self.store = ObjectStore()
        self.authorizer = Authorizer()
        self.loop = ControlLoop(self.store, ready_delay=ready_delay, tick=tick, restart_interval=restart_interval,
                                grace_scale=grace_scale)
        self._host, self._port = host, port
        for name in _SYSTEM_NAMESPACES:
            self.create_namespace(name)
        register_node(self.store)

    # --- lifecycle -------------------------------------------------------------------------------------
    def _asgi(self) -> Any:
        from magent.sandbox.kube.api import KubeApi

        return KubeApi(self.store, self.loop.pods.logs, self.token, require_token=self.require_token,
                       authorizer=self.authorizer).asgi()

    def _started(self) -> None:
        self.loop.start()

    def _stopping(self) -> None:
        self.loop.stop()
        self.store.close_watchers()

    # --- configuration ---------------------------------------------------------------------------------
    def write_kubeconfig(self, path: str | os.PathLike[str], namespace: str = "default",
                         context: str = "magent-sandbox") -> Path:
        """Write a kubeconfig (mode 0600: it holds the token) pointing at this simulator."""
        import yaml

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(kubeconfig_document(self.url, self.token, namespace=namespace, context=context),
                              sort_keys=False)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        return target

    def set_ready_delay(self, seconds: float) -> None:
        """How long new pods (and pods not yet ready) take to become ready."""
        self.loop.pods.ready_delay = seconds

    def set_restart_interval(self, seconds: float) -> None:
        """The first crash-restart cycle of a crash-looping container (later back-offs double from it)."""
        self.loop.pods.restart_interval = seconds

    def set_grace_scale(self, scale: float) -> None:
        """How fast terminating pods run through their grace period (1.0: as on a node; 0: gone at once)."""
        self.loop.pods.grace_scale = scale

    def pause_controllers(self) -> None:
        """Stop the controllers and the kubelet (the API still answers): what a lagging or down
        kube-controller-manager looks like to a client. `resume_controllers()` catches up."""
        self.loop.pause()

    def resume_controllers(self) -> None:
        self.loop.resume()

    def deny(self, verb: str, resource: str, *, group: str = "", subresource: str = "",
             namespace: str | None = None) -> None:
        """Refuse an operation to the sandbox user (403, and `no` from SelfSubjectAccessReview / `kubectl
        auth can-i`), as a missing RBAC rule would: `sim.deny("patch", "deployments", group="apps",
        namespace="shop")`; `"*"` matches any verb, resource, group or subresource, namespace None any."""
        self.authorizer.deny(Denial(verb, resource, group, subresource, namespace))

    def allow_all(self) -> None:
        """Drop every `deny` (the sandbox user may do everything again)."""
        self.authorizer.allow_all()

    # --- direct access (tests, the sample agent app) ----------------------------------------------------
    def create_namespace(self, name: str) -> dict[str, Any]:
        """Create a namespace (returns the existing one if it is already there)."""
        existing = self.store.get(_NAMESPACE, None, name)
        if existing is not None:
            return existing
        return self.store.create(_NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.store.get(by_kind(api_version, kind), namespace, name)

    def list(self, api_version: str, kind: str, namespace: str | None = None, *,
             label_selector: str | None = None, field_selector: str | None = None) -> list[dict[str, Any]]:
        rtype = by_kind(api_version, kind)
        items, _ = self.store.list(rtype, namespace, object_matcher(label_selector, field_selector, rtype.kind))
        return items

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create any served object from its manifest (as `kubectl create -f` would)."""
        return self.store.create(by_kind(obj.get("apiVersion", ""), obj.get("kind", "")), obj)

    def update(self, obj: dict[str, Any], *, subresource: str | None = None,
               check_resource_version: bool = False) -> dict[str, Any]:
        """Replace an object. Unconditional unless `check_resource_version` (then a stale
        `metadata.resourceVersion` raises ApiError 409, as a PUT would): the controllers write status
        concurrently, and a test helper should not have to retry."""
        if not check_resource_version:
            obj = {**obj, "metadata": {k: v for k, v in (obj.get("metadata") or {}).items() if k != "resourceVersion"}}
        return self.store.update(by_kind(obj.get("apiVersion", ""), obj.get("kind", "")), obj,
                                 subresource=subresource)

    def finish_pod(self, namespace: str, name: str, *, succeeded: bool = True,
                   exit_code: int | None = None) -> dict[str, Any]:
        """End a pod's containers (no container really runs here): phase Succeeded, or Failed with
        `succeeded=False` or a non-zero `exit_code`; what a Job's pods need to finish."""
        with self.store.lock:
            pod = self.store.get(by_kind("v1", "Pod"), namespace, name)
            if pod is None:
                raise ApiError(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
            return self.loop.pods.finish(pod, succeeded and not exit_code, exit_code)

    def delete(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
        return self.store.delete(by_kind(api_version, kind), namespace, name)
