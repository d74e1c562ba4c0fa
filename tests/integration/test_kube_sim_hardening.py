"""Simulator fidelity fixes (issue 9 §6): server-side dry-run deletes and unservable field selectors."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def http(kube_sim):
    with httpx.Client(base_url=kube_sim.url, timeout=10) as client:
        yield client


def _configmap(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": "dry"}}}


def test_kubectl_delete_dry_run_server_keeps_the_object(kubectl, kube_namespace):
    kubectl("create", "configmap", "keep", "--from-literal=a=1", check=True)
    result = kubectl("delete", "configmap", "keep", "--dry-run=server", check=True)
    assert "deleted (server dry run)" in result.stdout
    assert kubectl("get", "configmap", "keep", "-o", "name", check=True).stdout.strip() == "configmap/keep"


def test_dry_run_in_delete_options_body_is_honoured(http, kube_namespace):
    base = f"/api/v1/namespaces/{kube_namespace}/configmaps"
    for name in ("one", "two"):
        assert http.post(base, json=_configmap(name)).status_code == 201
    options = {"kind": "DeleteOptions", "apiVersion": "v1", "dryRun": ["All"]}
    single = http.request("DELETE", f"{base}/one", json=options)
    assert single.status_code == 200 and single.json()["status"] == "Success"
    collection = http.request("DELETE", base, params={"labelSelector": "app=dry"}, json=options)
    assert {i["metadata"]["name"] for i in collection.json()["items"]} == {"one", "two"}
    by_query = http.delete(base, params={"labelSelector": "app=dry", "dryRun": "All"})
    assert by_query.status_code == 200
    assert {i["metadata"]["name"] for i in http.get(base).json()["items"]} == {"one", "two"}


def test_unknown_dry_run_value_is_rejected(http, kube_namespace):
    base = f"/api/v1/namespaces/{kube_namespace}/configmaps"
    http.post(base, json=_configmap("three"))
    bad = http.request("DELETE", f"{base}/three", json={"dryRun": ["Some"]})
    assert (bad.status_code, bad.json()["reason"]) == (422, "Invalid")
    assert http.get(f"{base}/three").status_code == 200


@pytest.mark.parametrize(("plural", "selector"), [
    ("configmaps", "data.a=1"), ("pods", "spec.containers=x"), ("services", "spec.type=ClusterIP")])
def test_field_selector_the_server_cannot_serve_is_a_400(http, kube_namespace, plural, selector):
    response = http.get(f"/api/v1/namespaces/{kube_namespace}/{plural}", params={"fieldSelector": selector})
    assert response.status_code == 400
    body = response.json()
    assert (body["kind"], body["reason"]) == ("Status", "BadRequest")
    assert body["message"] == f'field label not supported: {selector.split("=")[0]}'


def test_supported_field_selectors_still_filter(http, kube_namespace):
    base = f"/api/v1/namespaces/{kube_namespace}/configmaps"
    http.post(base, json=_configmap("four"))
    named = http.get(base, params={"fieldSelector": "metadata.name=four"}).json()["items"]
    assert [i["metadata"]["name"] for i in named] == ["four"]
    pods = http.get(f"/api/v1/namespaces/{kube_namespace}/pods", params={"fieldSelector": "status.phase=Running"})
    assert pods.status_code == 200


def test_kubectl_reports_an_unsupported_field_selector(kubectl, kube_namespace):
    result = kubectl("get", "configmaps", "--field-selector=data.a=1")
    assert result.returncode != 0 and "field label not supported: data.a" in result.stderr


def test_every_namespace_has_a_default_service_account(kubectl, http, kube_namespace):
    assert kubectl("get", "serviceaccount", "default", "-o", "name", check=True).stdout.strip() == \
        "serviceaccount/default"
    http.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fresh-sa"}})
    account = http.get("/api/v1/namespaces/fresh-sa/serviceaccounts/default")
    assert account.status_code == 200 and account.json()["metadata"]["uid"]
    assert http.get("/api/v1/namespaces/default/serviceaccounts/default").status_code == 200
    http.delete("/api/v1/namespaces/fresh-sa")


_TYPO_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: typo}
spec:
  replica: 2
  selector: {matchLabels: {app: typo}}
  template:
    metadata: {labels: {app: typo}}
    spec: {containers: [{name: app, image: app:v1, imagePolicy: Always}]}
"""


def test_kubectl_strict_field_validation_rejects_unknown_fields(kubectl, kube_namespace, tmp_path):
    manifest = tmp_path / "typo.yaml"
    manifest.write_text(_TYPO_DEPLOYMENT)
    strict = kubectl("create", "-f", str(manifest))
    assert strict.returncode != 0
    assert 'strict decoding error: unknown field "spec.replica"' in strict.stderr
    assert 'unknown field "spec.template.spec.containers[0].imagePolicy"' in strict.stderr
    assert kubectl("get", "deploy", "typo").returncode != 0
    ignored = kubectl("create", "-f", str(manifest), "--validate=false", check=True)
    assert "created" in ignored.stdout


def test_warn_field_validation_answers_with_warning_headers(http, kube_namespace):
    body = {**_configmap("warned"), "dta": {"a": "1"}}
    response = http.post(f"/api/v1/namespaces/{kube_namespace}/configmaps", json=body)
    assert response.status_code == 201
    assert response.headers.get_list("warning") == ['299 - "unknown field \\"dta\\""']
    bogus = http.post(f"/api/v1/namespaces/{kube_namespace}/configmaps", params={"fieldValidation": "Loud"},
                      json=_configmap("loud"))
    assert bogus.status_code == 400


@pytest.mark.parametrize(("field", "value"), [
    ("renewTime", "yesterday"), ("renewTime", "2026-11-28 06:00:00"), ("leaseDurationSeconds", "15"),
    ("holderIdentity", 7)])
def test_malformed_lease_values_are_rejected(http, kube_namespace, field, value):
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "lock"},
             "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15, field: value}}
    base = f"/apis/coordination.k8s.io/v1/namespaces/{kube_namespace}/leases"
    response = http.post(base, json=lease)
    assert (response.status_code, response.json()["reason"]) == (400, "BadRequest")
    assert "cannot be handled as a Lease" in response.json()["message"]
    assert http.get(f"{base}/lock").status_code == 404
    good = {**lease, "spec": {**lease["spec"], field: {"renewTime": "2026-11-28T06:00:00.123456Z",
                                                       "leaseDurationSeconds": 15, "holderIdentity": "me"}[field]}}
    assert http.post(base, json=good).status_code == 201


def test_replicas_of_the_wrong_type_is_a_400(kubectl, kube_namespace):
    kubectl("create", "deployment", "typed", "--image=app:v1", check=True)
    patched = kubectl("patch", "deploy/typed", "--type=merge", "-p", '{"spec":{"replicas":"3"}}')
    assert patched.returncode != 0 and "cannot be handled as a Deployment" in patched.stderr


def test_status_fields_come_in_the_api_servers_order(http, kube_namespace):
    """Clients that print the raw body (the Python client's create_from_yaml) show Go's field order."""
    base = f"/apis/apps/v1/namespaces/{kube_namespace}/deployments"
    manifest = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "twice"},
                "spec": {"selector": {"matchLabels": {"app": "t"}},
                         "template": {"metadata": {"labels": {"app": "t"}},
                                      "spec": {"containers": [{"name": "app", "image": "app:v1"}]}}}}
    http.post(base, json=manifest)
    again = http.post(base, json=manifest)
    assert again.text == ('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                          '"message":"deployments.apps \\"twice\\" already exists","reason":"AlreadyExists",'
                          '"details":{"name":"twice","group":"apps","kind":"deployments"},"code":409}\n')
