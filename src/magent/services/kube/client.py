"""The connection to a Kubernetes API server, built from `settings.kubernetes`, and the error boundary.

`Kube` wraps the official client's ApiClient (kubeconfig from KUBECONFIG / settings, or in-cluster config),
with the namespace and context it acts on. Every call goes through `Kube.call()`, which turns the SDK's
exceptions into MagentErrors:

    404 → NotFound, a UsageError (the caller names what was missing)    401/403 → CredentialsRefused
    409 → Conflict (retried by the callers where safe)      connection errors, 5xx → Unreachable
    other 4xx → UsageError with the server's message

The kubernetes package is imported inside functions: `magent --help` never loads it.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from magent.core.errors import ConfigError, CredentialsRefused, InconsistentState, Unreachable, UsageError
from magent.core.redact import SECRETS, mask_url

if TYPE_CHECKING:
    from magent.core.config import KubeSettings

# (connect, read) seconds: short connects so that `magent rollback` fails fast on a dead API server.
DEFAULT_TIMEOUT = (5.0, 30.0)
SLOW_NOTICE_S = 1.0


def request_timeout(seconds: float) -> tuple[float, float | None]:
    """(connect, read) for kubectl's --request-timeout: 0 means no read timeout; connects stay short."""
    if seconds <= 0:
        return DEFAULT_TIMEOUT[0], None
    return min(DEFAULT_TIMEOUT[0], seconds), seconds
_DEFAULT_NAMESPACE = "default"


class NotFound(UsageError):
    """404 from the API server: the object (or its namespace) does not exist."""


class Conflict(InconsistentState):
    """409 from the API server: the object changed since we read it (resourceVersion) or already exists."""


@dataclass
class Kube:
    """An API client plus where it points; `namespace` is the one commands act on unless told otherwise."""

    api_client: Any = field(repr=False)
    namespace: str
    context: str | None
    server: str
    timeout: tuple[float, float | None] = DEFAULT_TIMEOUT
    # called with a sentence when a request has had no answer for SLOW_NOTICE_S (rollback says what it waits for)
    on_slow: Callable[[str], None] | None = field(default=None, repr=False)

    @property
    def apps(self) -> Any:
        from kubernetes.client import AppsV1Api

        return AppsV1Api(self.api_client)

    @property
    def core(self) -> Any:
        from kubernetes.client import CoreV1Api

        return CoreV1Api(self.api_client)

    @property
    def coordination(self) -> Any:
        from kubernetes.client import CoordinationV1Api

        return CoordinationV1Api(self.api_client)

    @property
    def custom(self) -> Any:
        from kubernetes.client import CustomObjectsApi

        return CustomObjectsApi(self.api_client)

    def where(self) -> str:
        """'context kind-prod (https://10.0.0.1:6443), namespace shop': printed before destructive actions."""
        return f"context {self.context or '(in-cluster)'} ({mask_url(self.server)}), namespace {self.namespace}"

    def call(self, method: Callable[..., Any], *args: Any, not_found: str | None = None, **kwargs: Any) -> Any:
        """Run one API method; the parsed JSON body (a dict) or None; SDK errors become MagentErrors."""
        kwargs.setdefault("_request_timeout", self.timeout)
        notice = self._slow_notice(method)
        try:
            response = method(*args, _preload_content=False, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the boundary: classified below, re-raised otherwise
            raise translate(exc, not_found=not_found, server=self.server) from exc
        finally:
            if notice is not None:
                _SLOW_NOTICES.disarm(notice)
        data = response.data
        return json.loads(data) if data else None

    def _slow_notice(self, method: Callable[..., Any]) -> int | None:
        if self.on_slow is None:
            return None
        read = self.timeout[1]
        limit = f"request timeout {read:g}s" if read else "no request timeout"
        what = getattr(method, "__name__", "a request").replace("_", " ")
        sentence = f"waiting for the Kubernetes API at {mask_url(self.server)} ({what}; {limit})"
        return _SLOW_NOTICES.arm(SLOW_NOTICE_S, self.on_slow, sentence)

    def close(self) -> None:
        self.api_client.close()

    def __enter__(self) -> Kube:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SlowNotices:
    """One daemon thread that calls `callback(sentence)` for each request still unanswered at its deadline.

    A `threading.Timer` per request would start a thread per API call (a rollback makes a dozen or more), and
    `Thread.start()` waits for the new thread to be scheduled: on a busy machine that is what a rollback waits
    for. This thread starts on the first request, and wakes when a deadline passes, not per request.
    """

    def __init__(self) -> None:
        self._due: dict[int, tuple[float, Callable[[str], None], str]] = {}
        self._changed = threading.Condition()
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None
        self._sleeping_until: float | None = None  # None: asleep until told (or not started)

    def arm(self, delay_s: float, callback: Callable[[str], None], sentence: str) -> int:
        with self._changed:
            token, due = next(self._tokens), time.monotonic() + delay_s
            self._due[token] = (due, callback, sentence)
            if self._thread is None or not self._thread.is_alive():  # first use, or in a forked child
                self._thread = threading.Thread(target=self._run, name="magent-kube-slow-notices", daemon=True)
                self._thread.start()
            elif self._sleeping_until is None or due < self._sleeping_until:
                self._changed.notify()  # otherwise it wakes before this deadline anyway and sees it then
            return token

    def disarm(self, token: int) -> None:
        with self._changed:
            self._due.pop(token, None)

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                expired = [token for token, (due, _, _) in self._due.items() if due <= now]
                calls = [self._due.pop(token)[1:] for token in expired]
                if not calls:
                    self._sleeping_until = min((due for due, _, _ in self._due.values()), default=None)
                    self._changed.wait(None if self._sleeping_until is None else self._sleeping_until - now)
                    continue
            for callback, sentence in calls:
                try:
                    callback(sentence)
                except Exception:  # noqa: BLE001 - a notice that cannot be shown must not stop the next ones
                    logging.getLogger(__name__).debug("slow-request notice failed", exc_info=True)


_SLOW_NOTICES = SlowNotices()


def translate(exc: Exception, *, not_found: str | None, server: str) -> Exception:
    """The MagentError for an exception raised by the kubernetes client (or `exc` itself if it is none of those)."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    if isinstance(exc, ApiException):
        return _api_error(exc, not_found=not_found, server=server)
    if isinstance(exc, (HTTPError, OSError)):
        return Unreachable(f"cannot reach the Kubernetes API at {mask_url(server)}: {_network_reason(exc)}",
                           hint="check the cluster is up and KUBECONFIG / --context point at it")
    return exc


def _network_reason(exc: Exception) -> str:
    """'[Errno 111] Connection refused' rather than 'MaxRetryError' (urllib3 wraps the last connection error)."""
    reason = getattr(exc, "reason", None)
    cause = reason if isinstance(reason, Exception) else exc
    # urllib3 prefixes the pool: "HTTPConnection(host='h', port=1): Failed to establish a new connection: [Errno…"
    text = str(cause).rsplit("): ", 1)[-1].removeprefix("Failed to establish a new connection: ")
    return SECRETS.mask(" ".join(text.split())) or type(cause).__name__


def _api_error(exc: Any, *, not_found: str | None, server: str) -> Exception:
    status, message = exc.status or 0, server_message(exc)
    if status == 0:
        return Unreachable(f"cannot reach the Kubernetes API at {mask_url(server)}: {SECRETS.mask(exc.reason or '')}",
                           hint="check the cluster's address and TLS settings in the kubeconfig")
    if status == 404:
        return NotFound(not_found or f"not found: {message}",
                        hint="check --deployment and -n/--namespace (kubectl get deployments -n NS)")
    if status in (401, 403):
        return CredentialsRefused(f"the Kubernetes API refused our credentials ({status}): {message}",
                                  hint="check the kubeconfig user and its RBAC permissions (kubectl auth can-i)")
    if status == 409:
        return Conflict(f"conflict (409): {message}", hint="another client changed the object; try again")
    if status >= 500 or status == 429:
        return Unreachable(f"the Kubernetes API failed ({status}): {message}", hint="try again in a moment")
    return UsageError(f"the Kubernetes API rejected the request ({status}): {message}")


def server_message(exc: Any) -> str:
    """The `message` of the Status object the API server sent, or the HTTP reason."""
    body = exc.body.decode(errors="replace") if isinstance(exc.body, bytes) else exc.body
    try:
        message = json.loads(body or "").get("message")
    except (ValueError, AttributeError):
        message = None
    return SECRETS.mask(str(message or exc.reason or "no message"))


def connect(settings: KubeSettings, *, namespace: str | None = None, context: str | None = None,
            timeout_s: float | None = None) -> Kube:
    """A `Kube` for the kubeconfig in settings (KUBECONFIG, ~/.kube/config) or the in-cluster service account.

    Namespace: `namespace` (the -n flag) > settings.kubernetes.namespace (MAGENT_NAMESPACE, magent.yaml) when it is
    not "default" > the kubeconfig context's namespace > "default".
    """
    from magent.services.kube.deferred_imports import connection_modules

    connection_modules()  # without the ~100 modules of OIDC, dateutil and requests, which it rarely needs
    from kubernetes import config as kube_config
    from kubernetes.client import ApiClient, Configuration

    logging.getLogger("kubernetes.client.rest").setLevel(logging.INFO)  # it logs response bodies (Secrets) at DEBUG
    path = settings.kubeconfig or os.path.expanduser(kube_config.KUBE_CONFIG_DEFAULT_LOCATION)
    context = context or settings.context
    configuration = Configuration()
    # Configuration() sets urllib3's logger to WARNING, which then prints every retry against an unreachable
    # cluster; the one "cannot reach" error says it better (--debug keeps them)
    debug = logging.getLogger().isEnabledFor(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.INFO if debug else logging.ERROR)
    if _kubeconfig_exists(path):
        try:
            kube_config.load_kube_config(config_file=path, context=context, client_configuration=configuration,
                                         persist_config=False)
            contexts, active = kube_config.list_kube_config_contexts(config_file=path)
        except (kube_config.ConfigException, OSError, ValueError) as exc:
            raise ConfigError(f"cannot use kubeconfig {path}: {SECRETS.mask(str(exc))}",
                              hint="check KUBECONFIG / kubernetes.kubeconfig and --context") from None
        chosen = next((c for c in contexts if c["name"] == context), active) if context else active
        context_namespace = (chosen or {}).get("context", {}).get("namespace")
        context_name = (chosen or {}).get("name")
    else:
        _load_in_cluster(configuration, path)
        context_namespace, context_name = _in_cluster_namespace(), None
    _register_credentials(configuration)
    explicit = settings.namespace if settings.namespace != _DEFAULT_NAMESPACE else None
    chosen_namespace = namespace or explicit or context_namespace or _DEFAULT_NAMESPACE
    timeout_s = settings.request_timeout if timeout_s is None else timeout_s
    if timeout_s is None:
        return Kube(ApiClient(configuration=configuration), chosen_namespace, context_name, configuration.host)
    # a request timeout bounds the whole request: urllib3 would otherwise retry a hung read three more times
    configuration.retries = 0
    return Kube(ApiClient(configuration=configuration), chosen_namespace, context_name, configuration.host,
                timeout=request_timeout(timeout_s))


def _kubeconfig_exists(path: str) -> bool:
    return any(os.path.isfile(part) for part in path.split(os.pathsep) if part)


def _load_in_cluster(configuration: Any, path: str) -> None:
    from kubernetes import config as kube_config

    try:
        kube_config.load_incluster_config(client_configuration=configuration)
    except kube_config.ConfigException:
        raise ConfigError(f"no kubeconfig at {path} and not running in a cluster",
                          hint="set KUBECONFIG or kubernetes.kubeconfig in magent.yaml") from None


def _in_cluster_namespace() -> str | None:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def _register_credentials(configuration: Any) -> None:
    """Kubeconfig tokens and passwords are secrets: mask them wherever they could be printed."""
    for value in (configuration.api_key or {}).values():
        SECRETS.add(value)
        SECRETS.add(str(value).removeprefix("Bearer ").strip())
    SECRETS.add(configuration.password)
