"""`deploy --router gateway-api`: exact traffic weights on the app's HTTPRoute (created with kubectl, an
independent client), `<svc>-stable` on the stable ReplicaSet's pods and `<svc>-canary` on the canary's; the route's
own backendRefs come back when the canary is promoted or aborted, or when `magent rollback` takes it down."""

from __future__ import annotations

import json

from fixtures.deploy import cluster, web  # noqa: F401 - fixtures

from magent.core.canary import Phase
from magent.core.config import KubeSettings, Settings
from magent.sandbox.agentapp import kube_traffic_source
from magent.sandbox.kube.manifests import service_manifest
from magent.services.kube.client import connect
from magent.services.targets.kubernetes import KubernetesTarget
from magent.workflows.deploy.driver import Deployer, DeployOptions

ROUTE = """apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: web, namespace: {namespace}}}
spec:
  parentRefs: [{{name: gateway}}]
  rules:
    - matches: [{{path: {{type: PathPrefix, value: /}}}}]
      backendRefs: [{{name: web, port: 80}}]
"""


def _route_setup(web, kubectl, tmp_path):  # noqa: F811
    web.sim.create(service_manifest("web", web.namespace, selector={"app": "web"}))
    manifest = tmp_path / "route.yaml"
    manifest.write_text(ROUTE.format(namespace=web.namespace))
    applied = kubectl("apply", "-f", str(manifest))
    assert applied.returncode == 0, applied.stderr


def _backends(web) -> list[dict]:  # noqa: F811
    route = web.sim.get("gateway.networking.k8s.io/v1", "HTTPRoute", web.namespace, "web")
    return route["spec"]["rules"][0]["backendRefs"]


def _deploy(web, image: str):  # noqa: F811
    seen: list[tuple[str, list[dict], list]] = []
    source = kube_traffic_source(web.sim, web.namespace, "web")

    def on_event(record: dict) -> None:
        if record["event"] in ("analysis", "promoted", "aborted"):
            seen.append((record["event"], _backends(web), list(source())))

    with connect(KubeSettings(kubeconfig=str(web.kubeconfig))) as kube:
        options = DeployOptions(deployment="web", image=image, weights=[10, 50], pause_s=0.0, interval_s=1.0,
                                max_inconclusive=3)
        deployer = Deployer(KubernetesTarget(kube, "web", router="gateway-api"), Settings(), options,
                            on_event=on_event)
        return deployer.run(deployer.prepare()), seen


def test_the_route_carries_exact_weights_and_comes_back_after_promotion(web, kubectl, tmp_path):  # noqa: F811
    _route_setup(web, kubectl, tmp_path)
    final, seen = _deploy(web, "app:v2")
    assert final.phase is Phase.PROMOTED, final.reason
    weighed = [{b["name"]: b["weight"] for b in backends} for kind, backends, _ in seen if kind == "analysis"]
    assert {"web-stable": 90, "web-canary": 10} in weighed and {"web-stable": 50, "web-canary": 50} in weighed
    # the sample app splits requests as a Gateway would: by the route's weights, not by pods (1 canary of 5 = 20 %)
    first = next(tracks for kind, _, tracks in seen if kind == "analysis")
    assert round(sum(t.share for t in first if t.track == "canary"), 3) == 0.1
    assert _backends(web) == [{"name": "web", "port": 80}]
    assert web.sim.get("v1", "Service", web.namespace, "web-canary") is None
    assert web.sim.get("v1", "Service", web.namespace, "web-stable") is None
    listed = kubectl("get", "httproutes", "-o", "json")
    assert listed.returncode == 0 and json.loads(listed.stdout)["items"][0]["metadata"]["name"] == "web"


def test_the_stable_service_selects_only_the_stable_pods(web, kubectl, tmp_path):  # noqa: F811
    _route_setup(web, kubectl, tmp_path)
    with connect(KubeSettings(kubeconfig=str(web.kubeconfig))) as kube:
        target = KubernetesTarget(kube, "web", router="gateway-api")
        from magent.core.canary import CanaryState, new_deploy_id

        stable = target.stable()
        state = CanaryState(deploy_id=new_deploy_id(), image="app:v2", previous_image="app:v1", container="app",
                            weights=[25], phase=Phase.PROGRESSING)
        target.size_canary(stable, state, 1)
        selector = web.sim.get("v1", "Service", web.namespace, "web-stable")["spec"]["selector"]
        canary_selector = web.sim.get("v1", "Service", web.namespace, "web-canary")["spec"]["selector"]
        stable_pods = web.pods(",".join(f"{k}={v}" for k, v in selector.items()))
        assert stable_pods and all(p["spec"]["containers"][0]["image"] == "app:v1" for p in stable_pods)
        assert canary_selector["track"] == "canary"
        assert {b["name"]: b["weight"] for b in _backends(web)} == {"web-stable": 75, "web-canary": 25}


def test_an_abort_puts_the_route_back_before_the_canary_goes(web, kubectl, tmp_path):  # noqa: F811
    _route_setup(web, kubectl, tmp_path)
    final, seen = _deploy(web, "app:v3-crashloop")
    assert final.phase is Phase.ABORTED
    assert [backends for kind, backends, _ in seen if kind == "aborted"] == [[{"name": "web", "port": 80}]]


def test_magent_rollback_puts_a_weighed_route_back(web, kubectl, tmp_path, cli):  # noqa: F811
    from magent.core.canary import CanaryState, new_deploy_id

    _route_setup(web, kubectl, tmp_path)
    with connect(KubeSettings(kubeconfig=str(web.kubeconfig))) as kube:
        target = KubernetesTarget(kube, "web", router="gateway-api")
        state = CanaryState(deploy_id=new_deploy_id(), image="app:v2", previous_image="app:v1", container="app",
                            weights=[10, 50], phase=Phase.ANALYSING)
        target.write_state(state, unless=lambda current: None)
        target.size_canary(target.stable(), state, 1)
    assert {b["name"] for b in _backends(web)} == {"web-stable", "web-canary"}
    result = cli("rollback", "-d", "web", "--yes", env={"KUBECONFIG": str(web.kubeconfig)})
    assert result.exit_code == 0, result.stderr
    assert _backends(web) == [{"name": "web", "port": 80}]
    assert web.sim.get("v1", "Service", web.namespace, "web-canary") is None
