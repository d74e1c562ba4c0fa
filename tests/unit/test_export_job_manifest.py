"""The export's Indexed Job manifest (core/export_job.py): pure builder, secret references, versions, Job status."""

from __future__ import annotations

import re

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from magent import __version__
from magent.core.export_job import (
    JobSpec,
    SecretRef,
    build_job,
    check_quantity,
    default_image,
    job_state,
    manifest_yaml,
    parse_kube_version,
    parse_secret_ref,
    supports_per_index_backoff,
)


def _spec(**changes) -> JobSpec:
    values = dict(plan_id=12, shards=8, parallelism=4, image="ghcr.io/acme/magent:1.2.3", namespace="shop",
                  key_secret=SecretRef("mistral", "api-key"), database_secret=SecretRef("db", "url"),
                  requests={"cpu": "250m", "memory": "256Mi"}, limits={"cpu": None, "memory": "1Gi"})
    values.update(changes)
    return JobSpec(**values)


def test_the_job_is_indexed_with_one_completion_per_shard_and_secrets_by_reference():
    job = build_job(_spec())
    assert (job["apiVersion"], job["kind"], job["metadata"]["name"], job["metadata"]["namespace"]) == \
        ("batch/v1", "Job", "magent-export-12", "shop")
    spec = job["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"], spec["backoffLimitPerIndex"]) == \
        ("Indexed", 8, 4, 3)
    assert "backoffLimit" not in spec
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and "serviceAccountName" not in pod
    (container,) = pod["containers"]
    assert container["image"] == "ghcr.io/acme/magent:1.2.3"
    assert [container["command"][0], *container["args"]] == \
        ["magent", "conversations", "export", "--worker", "--plan-id", "12"]
    assert container["env"] == [
        {"name": "MISTRAL_API_KEY", "valueFrom": {"secretKeyRef": {"name": "mistral", "key": "api-key"}}},
        {"name": "MAGENT_DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}}]
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
    for labels in (job["metadata"]["labels"], spec["template"]["metadata"]["labels"]):
        assert labels["app.kubernetes.io/name"] == "magent" and labels["magent.dev/export-plan"] == "12"
    assert yaml.safe_load(manifest_yaml(job)) == job


def test_an_older_server_gets_a_job_wide_backoff_limit_and_options_show_up():
    job = build_job(_spec(per_index_backoff=False, parallelism=20, shards=5, service_account="exporter",
                          mistral_url="http://mistral.internal:8080", limits={}))
    spec = job["spec"]
    assert "backoffLimitPerIndex" not in spec and spec["backoffLimit"] == 15
    assert spec["parallelism"] == 5  # never more pods than indexes
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "exporter"
    container = pod["containers"][0]
    assert {"name": "MAGENT_MISTRAL_URL", "value": "http://mistral.internal:8080"} in container["env"]
    assert "limits" not in container["resources"]


def test_default_image_is_the_release_of_this_version():
    assert default_image() == f"ghcr.io/magent-dev/magent:{__version__}"


@pytest.mark.parametrize(("version", "expected"), [
    ({"major": "1", "minor": "29"}, True), ({"major": "1", "minor": "28+"}, False),
    ({"major": "1", "minor": "32"}, True), ({"major": "", "minor": "", "gitVersion": "v1.27.3-gke.100"}, False),
    ({"gitVersion": "v1.30.0"}, True), ({}, True),
])
def test_per_index_backoff_follows_the_server_version(version, expected):
    assert supports_per_index_backoff(version) is expected


@pytest.mark.parametrize(("text", "expected"), [("1.28", (1, 28)), ("v1.29.3", (1, 29)), ("v1.30.2-eks-1234", (1, 30))])
def test_kube_versions(text, expected):
    assert parse_kube_version(text) == expected


@pytest.mark.parametrize("text", ["", "1", "latest", "1.x", "v1.2.3.4"])
def test_bad_kube_versions(text):
    with pytest.raises(ValueError, match="not a Kubernetes version"):
        parse_kube_version(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("magent-mistral", SecretRef("magent-mistral", "api-key")),
    ("magent-mistral#token", SecretRef("magent-mistral", "token")),
    ("db.prod#DATABASE_URL", SecretRef("db.prod", "DATABASE_URL")),
])
def test_secret_references(text, expected):
    assert parse_secret_ref(text, "api-key") == expected


@pytest.mark.parametrize(("text", "message"), [
    ("", "names no Secret"), ("#key", "names no Secret"), ("name#", "empty key"),
    ("Upper", "not a valid Secret name"), ("a_b", "not a valid Secret name"), ("-a", "not a valid Secret name"),
    ("ok#a b", "not a valid Secret key"), ("ok#..", "not a valid Secret key"), ("x" * 254, "not a valid Secret name"),
])
def test_bad_secret_references(text, message):
    with pytest.raises(ValueError, match=message):
        parse_secret_ref(text, "api-key")


_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


@given(st.text(max_size=300))
def test_secret_reference_parser_fuzz(text):
    """Any text: a valid reference (its parts Kubernetes-valid) or a one-line ValueError, nothing else."""
    try:
        ref = parse_secret_ref(text, "api-key")
    except ValueError as exc:
        assert "\n" not in str(exc)
        return
    assert _NAME.fullmatch(ref.name) and len(ref.name) <= 253
    assert re.fullmatch(r"[-._a-zA-Z0-9]+", ref.key) and ref.key not in (".", "..")
    assert parse_secret_ref(str(ref), "other") == ref  # NAME#KEY round-trips


@given(st.from_regex(r"[a-z0-9]{1,20}(#[-._a-zA-Z0-9]{1,20})?", fullmatch=True).filter(
    lambda text: not text.endswith(("#.", "#.."))))  # "." and ".." are no Secret keys (Kubernetes refuses them)
def test_valid_secret_references_always_parse(text):
    ref = parse_secret_ref(text, "api-key")
    assert str(ref).startswith(ref.name) and (ref.key == "api-key" or text.endswith(f"#{ref.key}"))


@pytest.mark.parametrize("text", ["250m", "1", "0.5", "512Mi", "2Gi", "1e3", "1G"])
def test_quantities(text):
    assert check_quantity(text) == text


@pytest.mark.parametrize("text", ["", "lots", "1 Gi", "-1", "1GB", "١"])
def test_bad_quantities(text):
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        check_quantity(text)


def test_job_state_reads_conditions_and_indexes():
    running = job_state({"status": {"active": 2, "completedIndexes": "0"}})
    assert (running.active, running.completed_indexes, running.finished) == (2, "0", False)
    failed = job_state({"status": {"failed": 2, "succeeded": 1, "failedIndexes": "1", "completedIndexes": "0",
                                   "conditions": [{"type": "FailureTarget", "status": "True"},
                                                  {"type": "Failed", "status": "True", "reason": "FailedIndexes"}]}})
    assert (failed.failed_reason, failed.failed_indexes, failed.complete, failed.finished) == \
        ("FailedIndexes", "1", False, True)
    done = job_state({"status": {"succeeded": 3, "conditions": [{"type": "SuccessCriteriaMet", "status": "True"},
                                                               {"type": "Complete", "status": "True"}]}})
    assert done.complete and done.failed_reason is None
    assert not job_state({"status": {"conditions": [{"type": "Failed", "status": "False"}]}}).finished


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("export:\n  job:\n    key_secret: 'Mistral#k'\n", ":3: export.job.key_secret: 'Mistral' is not a valid Secret name"),
    ("export:\n  job:\n    requests: {cpu: lots}\n", ":3: export.job.requests.cpu: 'lots' is not a Kubernetes quantity"),
    ("export:\n  job:\n    namespace: Shop\n", ":3: export.job.namespace: 'Shop' is not a valid namespace"),
    ("export:\n  job:\n    replicas: 3\n", ":3: export.job.replicas: unknown key"),
])
def test_export_job_config_errors_name_key_and_line(tmp_path, yaml_text, message):
    from magent.core.config import load_settings
    from magent.core.errors import ConfigError

    path = tmp_path / "magent.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), env={})
    assert message in caught.value.message


def test_export_job_config_defaults_and_values(tmp_path):
    from magent.core.config import load_settings

    assert load_settings(None, env={})[0].export.job.model_dump() == {
        "image": None, "namespace": None, "key_secret": "magent-mistral#api-key",
        "database_secret": "magent-database#url", "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"cpu": None, "memory": "1Gi"}, "service_account": None}
    path = tmp_path / "magent.yaml"
    path.write_text("export:\n  job:\n    limits: {cpu: 2}\n    requests: {memory: null}\n    service_account: x\n")
    job = load_settings(str(path), env={})[0].export.job
    assert (job.limits.cpu, job.limits.memory, job.service_account) == ("2", "1Gi", "x")
    assert job.requests.model_dump() == {"cpu": "250m", "memory": None}


@given(st.text(max_size=40))
def test_kube_version_and_quantity_parsers_fuzz(text):
    """Any text: a (major, minor) / the quantity itself, or a one-line ValueError."""
    for parse in (parse_kube_version, check_quantity):
        try:
            parsed = parse(text)
        except ValueError as exc:
            assert "\n" not in str(exc)
            continue
        assert parsed == text if parse is check_quantity else all(0 <= part < 1000 for part in parsed)
