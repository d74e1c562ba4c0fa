"""A sample agent application: `/health` like a real Mistral-backed service, Prometheus `/metrics`, and
synthetic traffic shared between the stable and canary tracks in proportion to their ready pods.

    from magent.sandbox.agentapp import AgentApp, Behaviour, serve_agent_app

    app = AgentApp(sim=kube_sim, namespace="demo", deployment="web",
                   behaviours={"v2": Behaviour(error_rate=0.3)})
    with serve_agent_app(app) as url:          # starts the HTTP server and the traffic loop
        httpx.get(f"{url}/metrics")

Every 100 ms the traffic loop asks its `traffic_source` which (track, version) pairs have how many ready
pods, and records `rps_per_pod` requests per ready pod per second for each. By default it routes as
kube-proxy would: the ready endpoints of the Service `<service>` (default: the Deployment's name; created
with `service_manifest` when missing, selecting `app=<deployment>`, which stable and canary pods share) in
its EndpointSlices. An endpoint's pod belongs to track `stable` when its Deployment is `<deployment>` and
`canary` when it is `<deployment>-canary`, the version being the image tag. A pod being deleted leaves the
ready endpoints at once, so it gets no new requests while it terminates.

Metrics: `http_requests_total{track,version,code}` (counter), `http_request_duration_seconds{track,version}`
(histogram; latencies are log-normal with median `latency_s`, so p95 ≈ 1.6 × latency_s), and
`app_ready_pods{track,version}` (gauge).

Behaviour per version comes from `behaviours[version]`; otherwise from `default`, adjusted by the image tag
so a demo can inject faults without code:
    tag contains `-5xx`   → 30 % of requests answer 500/502/503
    tag contains `-slow`  → median latency 3.7 s (p95 ≈ 6 s)
    tag contains `-429`   → 20 % of requests answer 429
    tag contains `-401`   → 5 % of requests answer 401
    tag contains `-idle`  → no traffic at all (a canary nobody calls)
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

TICK_S = 0.1
_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0)
_LATENCY_SIGMA = 0.3  # log-normal spread: p95 = median × e^(1.645 σ) ≈ 1.64 × median
_ERROR_CODES = ("500", "502", "503")


@dataclass(frozen=True)
class Behaviour:
    """How one version of the app answers: shares of 5xx / 429 / 401, median latency, requests per pod."""

    error_rate: float = 0.0
    latency_s: float = 0.05
    rate_429: float = 0.0
    rate_401: float = 0.0
    rps_per_pod: float = 5.0


@dataclass(frozen=True, order=True)
class TrackPods:
    """`ready` pods of one track ("stable" or "canary") running one version (image tag)."""

    track: str
    version: str
    ready: int
    share: float | None = None  # of all requests, when a weighted HTTPRoute decides it (else: by ready pods)


TrafficSource = Callable[[], Iterable[TrackPods]]


def behaviour_for_tag(tag: str, base: Behaviour) -> Behaviour:
    """The fault-by-tag convention (see the module docstring) applied on top of `base`."""
    if "-5xx" in tag:
        base = replace(base, error_rate=max(base.error_rate, 0.3))
    if "-slow" in tag:
        base = replace(base, latency_s=max(base.latency_s, 3.7))
    if "-429" in tag:
        base = replace(base, rate_429=max(base.rate_429, 0.2))
    if "-401" in tag:
        base = replace(base, rate_401=max(base.rate_401, 0.05))
    if "-idle" in tag:
        base = replace(base, rps_per_pod=0.0)
    return base


def kube_traffic_source(sim: Any, namespace: str, deployment: str, service: str | None = None) -> TrafficSource:
    """Ready endpoints of the Service `service` (default `deployment`) by track and image tag, read from the
    EndpointSlices of a KubeSimulator. Tracks come from the endpoint pod's owners (pod → ReplicaSet →
    Deployment `<deployment>` or `<deployment>-canary`), not labels; other pods the Service selects are left out."""
    from magent.sandbox.kube.endpointslices import SERVICE_NAME_LABEL
    from magent.sandbox.kube.pods import image_tag
    from magent.sandbox.kube.replicaset import controller_uid

    selector = f"{SERVICE_NAME_LABEL}={service or deployment}"

    def source() -> list[TrackPods]:
        slices = sim.list("discovery.k8s.io/v1", "EndpointSlice", namespace, label_selector=selector)
        ready = {e["targetRef"]["uid"] for s in slices for e in s.get("endpoints") or []
                 if (e.get("conditions") or {}).get("ready") and (e.get("targetRef") or {}).get("kind") == "Pod"}
        if not ready:
            return []
        pods = [p for p in sim.list("v1", "Pod", namespace) if p["metadata"]["uid"] in ready]
        replicasets = sim.list("apps/v1", "ReplicaSet", namespace)
        found: list[TrackPods] = []
        weights = route_weights(sim, namespace, deployment)
        for track, name in (("stable", deployment), ("canary", f"{deployment}-canary")):
            owner = sim.get("apps/v1", "Deployment", namespace, name)
            if owner is None:
                continue
            rs_uids = {rs["metadata"]["uid"] for rs in replicasets if controller_uid(rs) == owner["metadata"]["uid"]}
            counts: dict[str, int] = {}
            for pod in pods:
                if controller_uid(pod) in rs_uids:
                    version = image_tag(pod["spec"]["containers"][0].get("image", ""))
                    counts[version] = counts.get(version, 0) + 1
            in_track = sum(counts.values())
            found += [TrackPods(track, version, ready, None if weights is None else
                                weights.get(track, 0.0) * ready / in_track)
                      for version, ready in sorted(counts.items())]
        return found

    return source


def route_weights(sim: Any, namespace: str, route: str) -> dict[str, float] | None:
    """{"stable": share, "canary": share} from the HTTPRoute `route` when it weighs a `…-canary` backend, as a
    Gateway would split requests; None when there is no such route (then traffic follows the ready pods)."""
    found = sim.get("gateway.networking.k8s.io/v1", "HTTPRoute", namespace, route)
    refs = [ref for rule in ((found or {}).get("spec") or {}).get("rules") or [] for ref in rule.get("backendRefs") or []]
    if not any(str(ref.get("name", "")).endswith("-canary") for ref in refs):
        return None
    total = sum(int(ref.get("weight", 1)) for ref in refs) or 1
    shares = {"stable": 0.0, "canary": 0.0}
    for ref in refs:
        track = "canary" if str(ref.get("name", "")).endswith("-canary") else "stable"
        shares[track] += int(ref.get("weight", 1)) / total
    return shares


def ensure_service(sim: Any, namespace: str, deployment: str, service: str | None = None) -> None:
    """The app's Service (`service_manifest`: app=<deployment>), as its manifests would create it, if missing."""
    from magent.sandbox.kube import ApiError
    from magent.sandbox.kube.manifests import service_manifest

    name = service or deployment
    if sim.get("v1", "Service", namespace, name) is not None:
        return
    try:
        sim.create(service_manifest(name, namespace, selector={"app": deployment}))
    except ApiError as exc:
        if exc.code != 409:  # created meanwhile by someone else: fine
            raise


class AgentApp:
    """The sample app: an ASGI app (`.asgi`) and a traffic loop (`start()` / `stop()`)."""

    def __init__(self, *, sim: Any = None, namespace: str = "default", deployment: str = "web",
                 service: str | None = None, behaviours: dict[str, Behaviour] | None = None,
                 default: Behaviour | None = None, traffic_source: TrafficSource | None = None,
                 mistral_up: bool = True, mistral_latency_ms: float = 120.0, seed: int | None = None,
                 warmup_s: float = 0.0) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        if traffic_source is None:
            if sim is None:
                raise ValueError("AgentApp needs a KubeSimulator (sim=…) or a traffic_source")
            ensure_service(sim, namespace, deployment, service)
            traffic_source = kube_traffic_source(sim, namespace, deployment, service)
        self.traffic_source = traffic_source
        self.behaviours = dict(behaviours or {})
        self.default = default or Behaviour()
        self.mistral_up = mistral_up
        self.mistral_latency_ms = mistral_latency_ms
        self.registry = CollectorRegistry()
        self.requests = Counter("http_requests", "Requests served, by track, version and status code.",
                                ["track", "version", "code"], registry=self.registry)
        self.latency = Histogram("http_request_duration_seconds", "Request latency, by track and version.",
                                 ["track", "version"], buckets=_BUCKETS, registry=self.registry)
        self.ready_pods = Gauge("app_ready_pods", "Ready pods, by track and version.", ["track", "version"],
                                registry=self.registry)
        self._random = random.Random(seed)
        self._carry: dict[tuple[str, str], float] = {}
        # A new (track, version) serves nothing for `warmup_s`, so a scraper sees its series at 0 first: rate() and
        # increase() of a series born with counts extrapolate each histogram bucket differently (le=0.1 more than
        # le=0.05), which made a healthy canary look slower than its stable. One scrape interval is enough.
        self.warmup_s = warmup_s
        self._born: dict[tuple[str, str], float] = {}
        self._last: list[TrackPods] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.asgi = self._build_asgi()
        self.url: str | None = None

    # --- configuration -------------------------------------------------------------------------------
    def behaviour(self, version: str) -> Behaviour:
        if version in self.behaviours:
            return self.behaviours[version]
        return behaviour_for_tag(version, self.default)

    def set_behaviour(self, version: str, behaviour: Behaviour) -> None:
        self.behaviours[version] = behaviour

    def set_mistral_down(self, down: bool = True) -> None:
        self.mistral_up = not down

    # --- traffic -------------------------------------------------------------------------------------
    def generate(self, seconds: float) -> int:
        """Record `seconds` worth of traffic for the current pods at once; returns the requests made."""
        tracks = list(self.traffic_source())
        all_ready = sum(t.ready for t in tracks)
        made = 0
        with self._lock:
            self._update_gauges(tracks)
            for pods in tracks:
                made += self._simulate(pods, seconds, all_ready)
        return made

    def _update_gauges(self, tracks: list[TrackPods]) -> None:
        current = {(t.track, t.version) for t in tracks}
        for gone in {(t.track, t.version) for t in self._last} - current:
            self.ready_pods.labels(*gone).set(0)
        for pods in tracks:
            self.ready_pods.labels(pods.track, pods.version).set(pods.ready)
        for track, version in current - {(t.track, t.version) for t in self._last}:
            # Series that exist at 0 from the start let rate() see a fault one scrape sooner.
            for code in ("200", "401", "429", *_ERROR_CODES):
                self.requests.labels(track, version, code)
            self.latency.labels(track, version)
            self._born.setdefault((track, version), time.monotonic())
        self._last = tracks

    def _simulate(self, pods: TrackPods, seconds: float, all_ready: int) -> int:
        behaviour = self.behaviour(pods.version)
        key = (pods.track, pods.version)
        if self.warmup_s and time.monotonic() - self._born.get(key, 0.0) < self.warmup_s:
            return 0
        # the same load as without a route, split by the route's weights instead of by ready pods
        serving = pods.ready if pods.share is None else pods.share * all_ready
        expected = self._carry.get(key, 0.0) + behaviour.rps_per_pod * serving * seconds
        count = int(expected)
        self._carry[key] = expected - count
        for _ in range(count):
            self.requests.labels(pods.track, pods.version, self._status_code(behaviour)).inc()
            median = max(behaviour.latency_s, 1e-4)
            self.latency.labels(pods.track, pods.version).observe(
                self._random.lognormvariate(math.log(median), _LATENCY_SIGMA))
        return count

    def _status_code(self, behaviour: Behaviour) -> str:
        draw = self._random.random()
        if draw < behaviour.rate_401:
            return "401"
        draw -= behaviour.rate_401
        if draw < behaviour.rate_429:
            return "429"
        draw -= behaviour.rate_429
        if draw < behaviour.error_rate:
            return self._random.choice(_ERROR_CODES)
        return "200"

    def start(self) -> AgentApp:
        """Start the background traffic loop (every 100 ms)."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="agent-app-traffic", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        last = time.monotonic()
        while not self._stopping.wait(TICK_S):
            now = time.monotonic()
            try:
                self.generate(now - last)
            except Exception:  # the simulator went away mid-read: try again at the next tick
                pass
            last = now

    # --- HTTP ----------------------------------------------------------------------------------------
    def health(self) -> tuple[int, dict[str, Any]]:
        """(status code, body) of GET /health: 200 "ok", or 503 "degraded" when Mistral is down."""
        stable = [t.version for t in self._last if t.track == "stable"]
        mistral = {"status": "ok" if self.mistral_up else "down",
                   "latency_ms": round(self.mistral_latency_ms, 1) if self.mistral_up else None}
        if not self.mistral_up:
            mistral["error"] = "ConnectError: cannot reach api.mistral.ai"
        body = {"status": "ok" if self.mistral_up else "degraded", "mistral": mistral,
                "version": stable[0] if stable else None,
                "tracks": {t.track: {"version": t.version, "ready_pods": t.ready} for t in self._last}}
        return (200 if self.mistral_up else 503), body

    def _build_asgi(self):
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        async def health(request):
            code, body = self.health()
            return JSONResponse(body, status_code=code)

        async def metrics(request):
            from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

        return Starlette(routes=[Route("/health", health), Route("/healthz", health), Route("/metrics", metrics)])


@contextlib.contextmanager
def serve_agent_app(app: AgentApp | None = None, *, host: str = "127.0.0.1", port: int = 0,
                    **options: Any) -> Iterator[str]:
    """Serve an AgentApp (or one built from `options`) over HTTP with its traffic loop; yields the base URL."""
    from magent.sandbox.server import ServerThread

    app = app or AgentApp(**options)
    server = ServerThread(app.asgi, host=host, port=port).start()
    app.url = server.url
    app.start()
    try:
        yield server.url
    finally:
        app.stop()
        server.stop()
