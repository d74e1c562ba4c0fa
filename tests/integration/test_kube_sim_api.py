"""The Kubernetes API simulator over HTTP: discovery, verbs, errors, watch, patch types, subresources."""

from __future__ import annotations

import json

import httpx
import pytest
from fixtures.kube import deployment_manifest, wait_until

JSON_PATCH = {"Content-Type": "application/json-patch+json"}
MERGE = {"Content-Type": "application/merge-patch+json"}
STRATEGIC = {"Content-Type": "application/strategic-merge-patch+json"}


@pytest.fixture
def http(kube_sim):
    with httpx.Client(base_url=kube_sim.url, timeout=10) as client:
        yield client


def _cm(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": name}}, "data": data}


def test_discovery_documents(http):
    assert http.get("/version").json()["minor"] == "32"
    assert http.get("/api").json()["versions"] == ["v1"]
    groups = {g["name"]: g["preferredVersion"]["version"] for g in http.get("/apis").json()["groups"]}
    assert groups["apps"] == "v1" and groups["coordination.k8s.io"] == "v1"
    resources = {r["name"]: r for r in http.get("/apis/apps/v1").json()["resources"]}
    assert resources["deployments"]["shortNames"] == ["deploy"] and resources["deployments"]["namespaced"]
    scale = resources["deployments/scale"]
    assert scale["kind"] == "Scale" and scale["group"] == "autoscaling"
    assert "pods/log" in {r["name"] for r in http.get("/api/v1").json()["resources"]}
    assert http.get("/apis/batch/v1beta1").status_code == 404


def test_create_get_replace_delete_with_statuses(http, kube_namespace):
    base = f"/api/v1/namespaces/{kube_namespace}/configmaps"
    created = http.post(base, json=_cm("settings", a="1"))
    assert created.status_code == 201
    meta = created.json()["metadata"]
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z") and meta["namespace"] == kube_namespace
    again = http.post(base, json=_cm("settings"))
    assert (again.status_code, again.json()["reason"]) == (409, "AlreadyExists")
    stale = {**created.json(), "data": {"a": "2"}}
    assert http.put(f"{base}/settings", json=stale).status_code == 200
    conflict = http.put(f"{base}/settings", json={**stale, "data": {"a": "3"}})
    assert (conflict.status_code, conflict.json()["reason"]) == (409, "Conflict")
    assert "the object has been modified" in conflict.json()["message"]
    deleted = http.delete(f"{base}/settings")
    assert deleted.json()["status"] == "Success" and deleted.json()["details"]["name"] == "settings"
    missing = http.get(f"{base}/settings")
    assert missing.status_code == 404
    assert missing.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": 'configmaps "settings" not found', "reason": "NotFound", "code": 404,
                              "details": {"name": "settings", "kind": "configmaps"}}


def test_invalid_objects_are_422_and_unknown_namespaces_404(http, kube_namespace):
    bad = deployment_manifest("web", "app:v1")
    bad["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    bad["spec"]["template"]["spec"]["containers"][0].pop("image")
    answer = http.post(f"/apis/apps/v1/namespaces/{kube_namespace}/deployments", json=bad)
    assert answer.status_code == 422 and answer.json()["reason"] == "Invalid"
    fields = {c["field"] for c in answer.json()["details"]["causes"]}
    assert fields == {"spec.template.metadata.labels", "spec.template.spec.containers[0].image"}
    assert answer.json()["message"].startswith('Deployment.apps "web" is invalid: ')
    nowhere = http.post("/api/v1/namespaces/no-such-ns/configmaps", json=_cm("x"))
    assert nowhere.status_code == 404 and nowhere.json()["message"] == 'namespaces "no-such-ns" not found'
    assert http.post("/api/v1/namespaces/x/configmaps", content=b"{not json").status_code == 400


def test_list_selectors_and_pagination(http, kube_namespace):
    base = f"/api/v1/namespaces/{kube_namespace}/configmaps"
    for name in ("a", "b", "c"):
        http.post(base, json=_cm(name))
    listed = http.get(base, params={"labelSelector": "app in (a,c)"}).json()
    assert listed["kind"] == "ConfigMapList" and [i["metadata"]["name"] for i in listed["items"]] == ["a", "c"]
    others = http.get(base, params={"fieldSelector": "metadata.name!=a"}).json()["items"]
    assert [i["metadata"]["name"] for i in others] == ["b", "c"]
    first = http.get(base, params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["metadata"]["remainingItemCount"] == 1
    rest = http.get(base, params={"limit": 2, "continue": first["metadata"]["continue"]}).json()
    assert [i["metadata"]["name"] for i in rest["items"]] == ["c"] and "continue" not in rest["metadata"]


def _watch_lines(http, path: str, **params) -> list[dict]:
    with http.stream("GET", path, params={"watch": "true", "timeoutSeconds": "0.3", **params}) as response:
        return [json.loads(line) for line in response.iter_lines() if line]


def test_watch_resumes_from_a_resource_version_and_follows_selectors(http, kube_namespace):
    base = f"/api/v1/namespaces/{kube_namespace}/configmaps"
    rv = http.post(base, json=_cm("w1"))
    start = rv.json()["metadata"]["resourceVersion"]
    moved = http.patch(f"{base}/w1", json={"metadata": {"labels": {"app": "moved"}}}, headers=MERGE).json()
    http.delete(f"{base}/w1")
    events = _watch_lines(http, base, resourceVersion=start)
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED"]
    assert events[0]["object"]["metadata"]["resourceVersion"] == moved["metadata"]["resourceVersion"]
    # With a selector, an object that stops matching is seen as deleted.
    selected = _watch_lines(http, base, resourceVersion=start, labelSelector="app=w1")
    assert [e["type"] for e in selected] == ["DELETED"]


def test_watch_from_scratch_too_old_and_initial_events(http, kube_namespace):
    base = f"/api/v1/namespaces/{kube_namespace}/configmaps"
    http.post(base, json=_cm("present"))
    assert [e["type"] for e in _watch_lines(http, base)] == ["ADDED"]
    gone = _watch_lines(http, base, resourceVersion="1")
    assert gone[0]["type"] == "ERROR" and gone[0]["object"]["code"] == 410
    initial = _watch_lines(http, base, sendInitialEvents="true", allowWatchBookmarks="true",
                           resourceVersionMatch="NotOlderThan")
    assert [e["type"] for e in initial] == ["ADDED", "BOOKMARK"]
    assert initial[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_patch_types_and_stale_patch_conflict(http, kube_namespace):
    base = f"/apis/apps/v1/namespaces/{kube_namespace}/deployments"
    created = http.post(base, json=deployment_manifest("web", "app:v1", replicas=0)).json()
    set_image = {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "app"}],
                                                "containers": [{"name": "app", "image": "app:v2"}]}}}}
    after = http.patch(f"{base}/web", json=set_image, headers=STRATEGIC).json()
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == "app:v2"
    assert after["metadata"]["generation"] == 2
    labelled = http.patch(f"{base}/web", json={"metadata": {"labels": {"team": "a"}}}, headers=MERGE).json()
    assert labelled["metadata"]["generation"] == 2  # metadata changes do not bump generation
    ops = [{"op": "replace", "path": "/spec/replicas", "value": 2}]
    assert http.patch(f"{base}/web", json=ops, headers=JSON_PATCH).json()["spec"]["replicas"] == 2
    stale = {"metadata": {"resourceVersion": created["metadata"]["resourceVersion"]}, "spec": {"paused": True}}
    assert http.patch(f"{base}/web", json=stale, headers=MERGE).status_code == 409
    assert http.patch(f"{base}/web", json={}, headers={"Content-Type": "text/plain"}).status_code == 415
    assert http.patch(f"{base}/nope", json={}, headers=MERGE).status_code == 404


def test_scale_and_status_subresources(http, kube_namespace):
    base = f"/apis/apps/v1/namespaces/{kube_namespace}/deployments"
    http.post(base, json=deployment_manifest("web", "app:v1", replicas=1))
    scale = http.get(f"{base}/web/scale").json()
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"]["replicas"] == 1 and scale["status"]["selector"] == "app=web"
    patched = http.patch(f"{base}/web/scale", json={"spec": {"replicas": 3}}, headers=MERGE).json()
    assert patched["spec"]["replicas"] == 3
    scale = http.get(f"{base}/web/scale").json()
    scale["spec"]["replicas"] = -1
    assert http.put(f"{base}/web/scale", json=scale).status_code == 422
    current = http.get(f"{base}/web").json()
    del current["metadata"]["resourceVersion"]  # the controller writes status too: unconditional updates
    ignored = http.put(f"{base}/web", json={**current, "status": {"replicas": 99}}).json()
    assert ignored["status"].get("replicas") != 99  # status changes only through /status
    written = http.put(f"{base}/web/status", json={**current, "status": {"replicas": 99},
                                                    "spec": {**current["spec"], "replicas": 7}}).json()
    assert written["status"]["replicas"] == 99 and written["spec"]["replicas"] == 3


def test_dry_run_persists_nothing(http, kube_namespace):
    base = f"/api/v1/namespaces/{kube_namespace}/configmaps"
    assert http.post(base, params={"dryRun": "All"}, json=_cm("dry")).status_code == 201
    assert http.get(f"{base}/dry").status_code == 404


def test_deleting_a_deployment_collects_its_replicasets_and_pods(http, kube_sim, kube_namespace):
    base = f"/apis/apps/v1/namespaces/{kube_namespace}/deployments"
    http.post(base, json=deployment_manifest("gc", "app:v1", replicas=2))
    http.post(base, json=deployment_manifest("keep", "app:v1", replicas=1))
    wait_until(lambda: len(kube_sim.list("v1", "Pod", kube_namespace)) == 3, what="3 pods")
    http.delete(f"{base}/gc")
    http.request("DELETE", f"{base}/keep", json={"propagationPolicy": "Orphan"})
    wait_until(lambda: len(kube_sim.list("v1", "Pod", kube_namespace)) == 1, what="orphaned pod only")
    orphan_rs = kube_sim.list("apps/v1", "ReplicaSet", kube_namespace)
    assert [rs["metadata"]["name"].startswith("keep-") for rs in orphan_rs] == [True]
    assert orphan_rs[0]["metadata"]["ownerReferences"] == []


def test_secrets_are_base64(http, kube_namespace):
    base = f"/api/v1/namespaces/{kube_namespace}/secrets"
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"token": "abc"}}
    stored = http.post(base, json=secret).json()
    assert stored["data"] == {"token": "YWJj"} and stored["type"] == "Opaque" and "stringData" not in stored
    bad = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t"}, "data": {"k": "***"}}
    assert http.post(base, json=bad).status_code == 422


def test_pod_logs(http, kube_sim, kube_namespace):
    http.post(f"/apis/apps/v1/namespaces/{kube_namespace}/deployments",
              json=deployment_manifest("crash", "app:v1-crashloop", replicas=1))
    pod = wait_until(lambda: [p for p in kube_sim.list("v1", "Pod", kube_namespace)
                              if (p.get("status", {}).get("containerStatuses") or [{}])[0].get("restartCount")],
                     what="a restarted pod")[0]
    path = f"/api/v1/namespaces/{kube_namespace}/pods/{pod['metadata']['name']}/log"
    assert "starting app version=v1-crashloop" in http.get(path).text
    assert "Traceback" in http.get(path, params={"previous": "true"}).text
    assert len(http.get(path, params={"tailLines": "2"}).text.splitlines()) == 2
    assert http.get(path, params={"container": "nope"}).status_code == 400


def test_tables_for_kubectl_get(http, kube_sim, kube_namespace):
    path = f"/apis/apps/v1/namespaces/{kube_namespace}/deployments"
    http.post(path, json=deployment_manifest("t", "app:v1", replicas=2))
    wait_until(lambda: kube_sim.get("apps/v1", "Deployment", kube_namespace, "t")["status"].get("readyReplicas") == 2)
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    table = http.get(path, headers={"Accept": accept}).json()
    assert table["kind"] == "Table"
    columns = [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0]
    assert columns == ["Name", "Ready", "Up-to-date", "Available", "Age"]
    assert table["rows"][0]["cells"][:4] == ["t", "2/2", 2, 2]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_a_wrong_token_is_refused(kube_sim):
    answer = httpx.get(f"{kube_sim.url}/api/v1/namespaces", headers={"Authorization": "Bearer wrong"})
    assert answer.status_code == 401 and answer.json()["reason"] == "Unauthorized"
    ok = httpx.get(f"{kube_sim.url}/api/v1/namespaces", headers={"Authorization": f"Bearer {kube_sim.token}"})
    assert ok.status_code == 200 and "default" in {n["metadata"]["name"] for n in ok.json()["items"]}
