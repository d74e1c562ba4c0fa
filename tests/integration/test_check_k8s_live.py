"""The k8s.* checks live against the Kubernetes simulator, k8s.rbac with SelfSubjectAccessReview, and
`kubectl auth can-i` against the simulator's authorization."""

from __future__ import annotations

from pathlib import Path

from fixtures.kube import deployment_manifest
from fixtures.preflight import PreflightOptions, run_check

K8S_CHECKS = ["k8s.required-env", "k8s.key-from-secret", "k8s.probes", "k8s.resources", "k8s.image-pinned",
              "k8s.replicas", "k8s.pdb"]
PROBE = {"httpGet": {"path": "/healthz", "port": 8080}}


def _good(name: str, namespace: str) -> dict:
    manifest = deployment_manifest(name, "registry.example/agent:1.4.2", replicas=3, namespace=namespace)
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    container.update(
        livenessProbe=PROBE, readinessProbe=PROBE, ports=[{"containerPort": 8080}],
        resources={"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
        env=[{"name": "MISTRAL_API_KEY", "valueFrom": {"secretKeyRef": {"name": "mistral", "key": "api-key"}}},
             {"name": "ENVIRONMENT", "value": "production"}],
        envFrom=[{"configMapRef": {"name": f"{name}-config"}}])
    return manifest


def _pdb(name: str, namespace: str, **spec) -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": f"{name}-pdb", "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"app": name}}, **spec}}


def _hpa(name: str, namespace: str, min_replicas: int) -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                     "minReplicas": min_replicas, "maxReplicas": 10}}


def _live(check: str, name: str, kubeconfig: Path, namespace: str | None = None, **params):
    return run_check(check, params=params or None, options=PreflightOptions(deployment=name, namespace=namespace),
                     settings={"kubernetes": {"kubeconfig": str(kubeconfig)}})


def test_a_well_configured_deployment_passes_every_check(kube_sim, kube_namespace, kubeconfig):
    kube_sim.create(_good("agent", kube_namespace))
    kube_sim.create(_pdb("agent", kube_namespace, maxUnavailable=1))
    kube_sim.create(_hpa("agent", kube_namespace, 2))
    kube_sim.create({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "agent-config", "namespace": kube_namespace},
                     "data": {"LOG_LEVEL": "info"}})
    for check in [*K8S_CHECKS, "k8s.rbac"]:
        result = _live(check, "agent", kubeconfig)
        assert result.status == "pass", (check, result)


def test_a_bad_deployment_fails_every_check(kube_sim, kube_namespace, kubeconfig):
    manifest = deployment_manifest("bad", "agent:latest", replicas=1, namespace=kube_namespace)
    manifest["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "MISTRAL_API_KEY", "value": "sk-live-planted-0123456789abcdef"}]
    kube_sim.create(manifest)
    kube_sim.create(_pdb("bad", kube_namespace, minAvailable="100%"))
    kube_sim.create(_hpa("other", kube_namespace, 1))  # not bad's HPA: not judged live
    for check in K8S_CHECKS:
        result = _live(check, "bad", kubeconfig)
        assert result.status == "fail", (check, result)
        assert all(f.file in ("deployment/bad", "poddisruptionbudget/bad-pdb") for f in result.findings)
    [secret] = _live("k8s.key-from-secret", "bad", kubeconfig).findings
    assert "sk-live" not in secret.message and secret.fingerprint
    replicas = _live("k8s.replicas", "bad", kubeconfig)
    assert [f.rule for f in replicas.findings] == ["replicas"]


def test_an_hpa_below_two_fails_replicas(kube_sim, kube_namespace, kubeconfig):
    kube_sim.create(_good("agent", kube_namespace))
    kube_sim.create(_hpa("agent", kube_namespace, 1))
    result = _live("k8s.replicas", "agent", kubeconfig)
    assert result.status == "fail" and result.findings[0].rule == "hpa-min"


def test_envfrom_keys_are_read_live(kube_sim, kube_namespace, kubeconfig):
    kube_sim.create(_good("agent", kube_namespace))  # its ConfigMap does not exist: LOG_LEVEL unknown
    assert _live("k8s.required-env", "agent", kubeconfig).status == "warn"
    kube_sim.create({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "agent-config", "namespace": kube_namespace}, "data": {"OTHER": "x"}})
    result = _live("k8s.required-env", "agent", kubeconfig)
    assert result.status == "fail" and "LOG_LEVEL is not set" in result.findings[0].message


def test_a_missing_deployment_is_an_error_with_a_hint(kube_namespace, kubeconfig):
    for check in K8S_CHECKS:
        result = _live(check, "nope", kubeconfig)
        assert result.status == "error"
        assert f"deployment nope not found in namespace {kube_namespace}" in result.message
        assert "hint" in result.message


def test_namespace_flag_wins(kube_sim, kube_namespace, kubeconfig):
    kube_sim.create_namespace(f"{kube_namespace}-b")
    try:
        kube_sim.create(_good("agent", f"{kube_namespace}-b"))
        assert _live("k8s.probes", "agent", kubeconfig).status == "error"
        assert _live("k8s.probes", "agent", kubeconfig, namespace=f"{kube_namespace}-b").status == "pass"
    finally:
        kube_sim.delete("v1", "Namespace", None, f"{kube_namespace}-b")


def test_without_input_every_check_skips_naming_the_flags():
    for check in [*K8S_CHECKS, "k8s.rbac"]:
        result = run_check(check)
        assert result.status == "skip" and "--deployment" in result.message, check


def test_rbac_is_live_only(tmp_path):
    manifest = tmp_path / "app.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n")
    result = run_check("k8s.rbac", options=PreflightOptions(manifests=[manifest]))
    assert result.status == "skip" and "live only" in result.message


def test_rbac_fails_naming_each_denied_permission(kube_sim, kube_namespace, kubeconfig):
    kube_sim.create(_good("agent", kube_namespace))
    kube_sim.deny("patch", "deployments", group="apps", namespace=kube_namespace)
    kube_sim.deny("list", "events", namespace=kube_namespace)
    result = _live("k8s.rbac", "agent", kubeconfig)
    assert result.status == "fail"
    messages = [f.message for f in result.findings]
    assert messages[0].startswith(f"cannot patch deployments in namespace {kube_namespace} (needed by deploy and "
                                  "rollback)")
    assert messages[1].startswith(f"cannot list events in namespace {kube_namespace} (needed by deploy)")
    assert len(messages) == 2


def test_rbac_denied_elsewhere_does_not_count(kube_sim, kube_namespace, kubeconfig):
    kube_sim.create(_good("agent", kube_namespace))
    kube_sim.deny("*", "*", group="*", namespace="somewhere-else")
    assert _live("k8s.rbac", "agent", kubeconfig).status == "pass"


def test_kubectl_auth_can_i(kube_sim, kube_namespace, kubectl):
    assert kubectl("auth", "can-i", "patch", "deployments").stdout.strip() == "yes"
    kube_sim.deny("patch", "deployments", group="apps", namespace=kube_namespace)
    denied = kubectl("auth", "can-i", "patch", "deployments")
    assert denied.returncode == 1 and denied.stdout.strip().startswith("no")
    assert kubectl("auth", "can-i", "get", "deployments").stdout.strip() == "yes"
    assert kubectl("auth", "can-i", "patch", "deployments", "-n", "default").stdout.strip() == "yes"
    assert kubectl("auth", "can-i", "patch", "deployments", "--subresource", "scale").stdout.strip() == "yes"


def test_a_denied_request_is_forbidden_like_rbac(kube_sim, kube_namespace, kubectl):
    kubectl("create", "deployment", "web", "--image=app:v1", check=True)
    kube_sim.deny("patch", "deployments", group="apps", namespace=kube_namespace)
    result = kubectl("scale", "deployment", "web", "--replicas=2")
    assert result.returncode == 0, result.stderr  # the scale subresource is another permission
    result = kubectl("patch", "deployment", "web", "-p", '{"spec":{"paused":true}}')
    assert result.returncode == 1
    assert ('deployments.apps "web" is forbidden: User "magent-sandbox" cannot patch resource "deployments" in '
            f'API group "apps" in the namespace "{kube_namespace}"') in result.stderr
    kube_sim.allow_all()
    assert kubectl("patch", "deployment", "web", "-p", '{"spec":{"paused":true}}').returncode == 0


def test_statefulsets_are_served(kube_sim, kube_namespace, kubectl):
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": kube_namespace},
           "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}},
                                 "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}}}}
    kube_sim.create(sts)
    assert "db" in kubectl("get", "sts", check=True).stdout


def test_manifests_and_live_are_judged_each_on_its_own(kube_sim, kube_namespace, kubeconfig, tmp_path):
    kube_sim.create(_good("agent", kube_namespace))
    manifest = tmp_path / "bad.yaml"
    manifest.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"
                        "spec:\n  template:\n    spec:\n      containers:\n      - {name: a, image: a:1}\n")
    result = run_check("k8s.probes", options=PreflightOptions(deployment="agent", manifests=[manifest]),
                       settings={"kubernetes": {"kubeconfig": str(kubeconfig)}})
    assert result.status == "fail" and [f.file for f in result.findings] == [str(manifest)]
