"""The k8s.* rules and the manifest loader, offline (no server): MISTRAL_API_KEY from a Secret, required env,
image references, PDB arithmetic, and a fuzz test of the loader."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from fixtures.preflight import PreflightOptions, run_check
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from magent.checks._k8s import load_manifests
from magent.core.errors import UsageError
from magent.core.k8s_availability import allowed_disruptions, selector_matches
from magent.core.k8s_manifests import K8sObject, ManifestError, parse_manifests
from magent.core.k8s_rules import parse_image

PLANTED = "sk-planted-0123456789abcdefXYZ"


_TEMPLATE = textwrap.dedent("""\
    # the agent
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: agent, namespace: shop}
    spec:
      replicas: 3
      template:
        metadata: {labels: {app: agent}}
        spec:
          containers:
          - name: app
            image: agent:1.0
            env:
    ENV
    """)


def _deployment(env: str, extra: str = "") -> str:
    return _TEMPLATE.replace("ENV\n", textwrap.indent(env, " " * 8) + "\n") + extra


def _run(tmp_path: Path, text: str, check: str, **params):
    path = tmp_path / "deploy.yaml"
    path.write_text(text)
    return run_check(check, params=params or None, options=PreflightOptions(manifests=[path]))


def test_mistral_key_as_a_literal_value_fails_without_showing_it(tmp_path):
    result = _run(tmp_path, _deployment(f"- {{name: MISTRAL_API_KEY, value: {PLANTED}}}"), "k8s.key-from-secret")
    assert result.status == "fail"
    [finding] = result.findings
    assert PLANTED not in finding.message and finding.fingerprint and PLANTED not in finding.fingerprint
    assert finding.message == ("Deployment agent (namespace shop): container app, env MISTRAL_API_KEY is a literal "
                               "value; take it from a Secret (valueFrom.secretKeyRef)")
    assert finding.line == 14 and finding.rule == "literal-value"


def test_mistral_key_from_a_secret_passes(tmp_path):
    env = "- name: MISTRAL_API_KEY\n  valueFrom: {secretKeyRef: {name: mistral, key: api-key}}"
    assert _run(tmp_path, _deployment(env), "k8s.key-from-secret").status == "pass"


def test_mistral_key_from_a_configmap_fails(tmp_path):
    env = "- name: MISTRAL_API_KEY\n  valueFrom: {configMapKeyRef: {name: conf, key: k}}"
    result = _run(tmp_path, _deployment(env), "k8s.key-from-secret")
    assert result.status == "fail" and result.findings[0].rule == "configmap-value"


def test_extra_sensitive_patterns(tmp_path):
    text = _deployment("- {name: DB_DSN, value: 'postgres://u:p@h/db'}")
    assert _run(tmp_path, text, "k8s.key-from-secret").status == "pass"
    assert _run(tmp_path, text, "k8s.key-from-secret", sensitive=["_dsn$"]).status == "fail"
    with pytest.raises(ValueError, match="not a regular expression"):
        _run(tmp_path, text, "k8s.key-from-secret", sensitive=["("])


@pytest.mark.parametrize(("env", "extra", "status", "rule"), [
    ("- {name: MISTRAL_API_KEY, valueFrom: {secretKeyRef: {name: s, key: k}}}\n- {name: ENVIRONMENT, value: prod}\n"
     "- {name: LOG_LEVEL, value: info}", "", "pass", None),
    ("- {name: MISTRAL_API_KEY, value: x}\n- {name: ENVIRONMENT, value: prod}\n- {name: LOG_LEVEL, value: info}",
     "", "fail", "not-from-secret"),
    ("- {name: ENVIRONMENT, value: prod}\n- {name: LOG_LEVEL, value: ''}", "", "fail", None),
    # envFrom a Secret in the same manifests: its keys are known
    ("- {name: ENVIRONMENT, value: prod}\n- {name: LOG_LEVEL, value: info}",
     "---\napiVersion: v1\nkind: Secret\nmetadata: {name: env, namespace: shop}\nstringData: {MISTRAL_API_KEY: x}",
     "pass", None),
    # envFrom a Secret magent cannot see: a warning, not a failure
    ("- {name: ENVIRONMENT, value: prod}\n- {name: LOG_LEVEL, value: info}", "", "warn", "unverified"),
])
def test_required_env(tmp_path, env, extra, status, rule):
    text = _deployment(env, extra)
    if status == "warn" or extra:  # the key comes from envFrom, known (extra) or not
        text = text.replace("        env:\n", "        envFrom: [{secretRef: {name: env}}]\n        env:\n")
    result = _run(tmp_path, text, "k8s.required-env")
    assert result.status == status, result
    if rule:
        assert rule in {f.rule for f in result.findings}


def test_required_env_custom_vars_and_container(tmp_path):
    text = _deployment("- {name: MODEL, value: mistral-large-latest}")
    assert _run(tmp_path, text, "k8s.required-env", vars=["MODEL"]).status == "pass"
    result = _run(tmp_path, text, "k8s.required-env", vars=["MODEL"], container="sidecar")
    assert result.status == "fail" and result.findings[0].rule == "no-container"


@pytest.mark.parametrize(("image", "expected"), [
    ("nginx", ("nginx", None, None)),
    ("nginx:1.27", ("nginx", "1.27", None)),
    ("registry:5000/app", ("registry:5000/app", None, None)),
    ("registry:5000/app:v2", ("registry:5000/app", "v2", None)),
    ("app@sha256:abc", ("app", None, "sha256:abc")),
    ("app:latest@sha256:abc", ("app", "latest", "sha256:abc")),
])
def test_parse_image(image, expected):
    assert parse_image(image) == expected


@pytest.mark.parametrize(("image", "require_digest", "status"), [
    ("registry:5000/app", False, "fail"), ("app:1.0", False, "pass"), ("app:1.0", True, "fail"),
    ("app@sha256:" + "a" * 64, True, "pass"), ("app:latest", False, "fail"),
])
def test_image_pinned(tmp_path, image, require_digest, status):
    text = _deployment("- {name: X, value: y}").replace("agent:1.0", f"'{image}'")
    assert _run(tmp_path, text, "k8s.image-pinned", require_digest=require_digest).status == status


@pytest.mark.parametrize(("spec", "total", "allowed"), [
    ({"minAvailable": "50%"}, 4, 2), ({"minAvailable": "50%"}, 3, 1), ({"minAvailable": 3}, 3, 0),
    ({"maxUnavailable": "10%"}, 2, 1), ({"maxUnavailable": "0%"}, 5, 0), ({}, 3, 3),
    ({"maxUnavailable": 0}, None, 0), ({"minAvailable": "100%"}, None, 0), ({"minAvailable": 2}, None, None),
])
def test_allowed_disruptions(spec, total, allowed):
    assert allowed_disruptions(K8sObject({"kind": "PodDisruptionBudget", "spec": spec}), total) == allowed


@pytest.mark.parametrize(("selector", "matches"), [
    ({}, True), (None, False), ({"matchLabels": {"app": "a"}}, True), ({"matchLabels": {"app": "b"}}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}, False),
    ({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, True),
    ({"matchExpressions": [{"key": "x", "operator": "Bogus"}]}, False),
])
def test_selector_matches(selector, matches):
    assert selector_matches(selector, {"app": "a", "tier": "web"}) is matches


def test_statefulset_replicas_and_pdb(tmp_path):
    text = ("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  replicas: 1\n  template:\n"
            "    metadata: {labels: {app: db}}\n    spec: {containers: [{name: db, image: 'pg:16'}]}\n")
    assert _run(tmp_path, text, "k8s.replicas").status == "fail"
    assert _run(tmp_path, text, "k8s.pdb").findings[0].rule == "pdb-missing"


def test_loader_errors_name_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n")
    with pytest.raises(UsageError, match=r"bad\.yaml:\d+: ") as caught:
        load_manifests([bad])
    assert "helm template" in caught.value.hint
    result = run_check("k8s.probes", options=PreflightOptions(manifests=[bad]))
    assert result.status == "error" and "bad.yaml:" in result.message
    missing = run_check("k8s.probes", options=PreflightOptions(manifests=[tmp_path / "nope"]))
    assert missing.status == "error" and "no such file" in missing.message


def test_loader_reads_folders_lists_and_json(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "list.yaml").write_text(
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {}}\n")
    (tmp_path / "b.json").write_text('{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "spec": {}}')
    (tmp_path / "notes.txt").write_text("kind: Pod")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.yaml").write_text(": broken: [")
    (tmp_path / "values.yaml").write_text("replicaCount: 3\n---\n- a list\n")  # not Kubernetes objects
    loaded = load_manifests([tmp_path])
    assert [w.name for w in loaded.workloads] == ["p"] and len(loaded.pdbs) == 1
    assert loaded.workloads[0].line == 4


def test_parse_reports_document_start_lines():
    docs = parse_manifests("---\nkind: Pod\n---\n# c\nkind: Service\n", "f.yaml")
    assert [line for _, line in docs] == [2, 5]


_yamlish = st.text(alphabet=st.sampled_from(list("abkind:Pod- \n[]{}'\"&*!|>%@#0123456789.,?")), max_size=200)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(_yamlish, st.text(max_size=200)))
def test_fuzz_the_loader_never_crashes(tmp_path, text):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(text.encode("utf-8", errors="replace"))  # lone surrogates cannot be written as text
    try:
        loaded = load_manifests([path])
    except UsageError as exc:
        assert str(path) in exc.message
        return
    from magent.core.k8s_availability import pdbs, replicas
    from magent.core.k8s_rules import image_pinned, key_from_secret, probes, required_env, resources

    for rule in (image_pinned, key_from_secret, pdbs, lambda s: replicas(s, 2), lambda s: probes(s, ["liveness"]),
                 lambda s: resources(s, ["limits.cpu"]), lambda s: required_env(s, ["X"], None)):
        rule(loaded)


@settings(max_examples=200, deadline=None)
@given(doc=st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.sampled_from(["kind", "spec", "template", "containers", "env",
                                                                "metadata", "labels", "name", "image", "replicas",
                                                                "selector", "minAvailable", "valueFrom", "value",
                                                                "envFrom", "resources", "scaleTargetRef"]),
                                               children, max_size=4)), max_leaves=20),
    kind=st.sampled_from(["Deployment", "Pod", "StatefulSet", "CronJob", "PodDisruptionBudget",
                          "HorizontalPodAutoscaler", "Secret"]))
def test_fuzz_rules_on_odd_shapes(doc, kind):
    """Any JSON-shaped object of a known kind goes through every rule without an exception."""
    import json

    from magent.core.k8s_availability import pdbs, replicas
    from magent.core.k8s_manifests import build_set
    from magent.core.k8s_rules import image_pinned, key_from_secret, probes, required_env, resources

    obj = {"spec": doc} if not isinstance(doc, dict) else dict(doc)
    obj["kind"] = kind
    try:
        [(parsed, _)] = parse_manifests(json.dumps(obj), "f.json")
    except ManifestError:
        return
    ws = build_set([(parsed, "f.json", 1)])
    for findings in (image_pinned(ws), key_from_secret(ws), pdbs(ws), replicas(ws), probes(ws, ["readiness"]),
                     resources(ws, ["requests.cpu"]), required_env(ws, ["A"], ["A"])):
        assert all(f.message for f in findings)
