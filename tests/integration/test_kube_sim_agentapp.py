"""The sample agent app: health, Prometheus metrics, traffic shared by track in proportion to ready pods."""

from __future__ import annotations

import httpx
import pytest
from fixtures.kube import deployment_manifest, wait_until
from prometheus_client.parser import text_string_to_metric_families

from magent.sandbox.agentapp import AgentApp, Behaviour, TrackPods, behaviour_for_tag, serve_agent_app


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _requests(app: AgentApp, track: str, code: str | None = None) -> float:
    from prometheus_client import generate_latest

    return sum(v for (name, labels), v in _samples(generate_latest(app.registry).decode()).items()
               if name == "http_requests_total" and dict(labels)["track"] == track
               and (code is None or dict(labels)["code"] == code))


def test_traffic_follows_ready_pods_of_stable_and_canary(kube_sim, kube_namespace):
    kube_sim.create(deployment_manifest("web", "app:v1", replicas=4, namespace=kube_namespace))
    canary_labels = {"app": "web", "track": "canary"}
    kube_sim.create(deployment_manifest("web-canary", "app:v2", replicas=1, namespace=kube_namespace,
                                        labels=canary_labels))
    app = AgentApp(sim=kube_sim, namespace=kube_namespace, deployment="web", seed=7,
                   behaviours={"v2": Behaviour(error_rate=1.0, rps_per_pod=5)})
    wait_until(lambda: sum(t.ready for t in app.traffic_source()) == 5, what="5 ready pods")
    assert sorted(app.traffic_source()) == [TrackPods("canary", "v2", 1), TrackPods("stable", "v1", 4)]
    assert app.generate(10.0) == 250  # 5 pods × 5 rps × 10 s
    assert _requests(app, "stable") == 200 and _requests(app, "stable", "200") == 200
    assert _requests(app, "canary") == 50 and _requests(app, "canary", "200") == 0


def test_metrics_and_health_over_http(kube_sim, kube_namespace):
    kube_sim.create(deployment_manifest("web", "app:v3-slow", replicas=1, namespace=kube_namespace))
    app = AgentApp(sim=kube_sim, namespace=kube_namespace, deployment="web", seed=1)
    wait_until(lambda: list(app.traffic_source()), what="a ready pod")
    with serve_agent_app(app) as url:
        wait_until(lambda: _requests(app, "stable") >= 3, what="background traffic")
        text = httpx.get(f"{url}/metrics").text
        health = httpx.get(f"{url}/health")
        app.set_mistral_down()
        degraded = httpx.get(f"{url}/health")
    samples = _samples(text)
    buckets = {dict(labels)["le"]: v for (name, labels), v in samples.items()
               if name == "http_request_duration_seconds_bucket"}
    count = samples[("http_request_duration_seconds_count", (("track", "stable"), ("version", "v3-slow")))]
    assert buckets["1.0"] == 0 and buckets["10.0"] >= 0.9 * count  # `-slow`: median 3.7 s
    assert samples[("app_ready_pods", (("track", "stable"), ("version", "v3-slow")))] == 1
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["mistral"]["status"] == "ok"
    assert health.json()["version"] == "v3-slow"
    assert degraded.status_code == 503
    assert degraded.json()["status"] == "degraded" and degraded.json()["mistral"]["status"] == "down"


@pytest.mark.parametrize(
    ("tag", "field", "value"),
    [("v2-5xx", "error_rate", 0.3), ("v2-slow", "latency_s", 3.7), ("v2-429", "rate_429", 0.2),
     ("v2-401", "rate_401", 0.05), ("v2-idle", "rps_per_pod", 0.0), ("v2", "error_rate", 0.0)],
)
def test_fault_by_tag_convention(tag, field, value):
    assert getattr(behaviour_for_tag(tag, Behaviour()), field) == value


def test_status_codes_follow_the_behaviour_shares():
    pods = [TrackPods("canary", "v9", 10)]
    app = AgentApp(traffic_source=lambda: pods, seed=3,
                   default=Behaviour(error_rate=0.2, rate_429=0.1, rate_401=0.1, rps_per_pod=100))
    app.generate(10.0)
    total = _requests(app, "canary")
    assert total == 10_000
    assert abs(_requests(app, "canary", "429") / total - 0.1) < 0.02
    assert abs(_requests(app, "canary", "401") / total - 0.1) < 0.02
    errors = sum(_requests(app, "canary", code) for code in ("500", "502", "503"))
    assert abs(errors / total - 0.2) < 0.02


def test_a_source_is_required():
    with pytest.raises(ValueError, match="traffic_source"):
        AgentApp()
