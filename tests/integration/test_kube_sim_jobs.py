"""The Kubernetes simulator serves batch/v1 Jobs: kubectl as an independent client, and the Job controller."""

from __future__ import annotations

import json

import pytest
import yaml
from fixtures.kube import wait_until

INDEX = "batch.kubernetes.io/job-completion-index"


def _job(name: str, **spec: object) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "worker", "image": "magent:1.0"}]}}, **spec}}


def _write(tmp_path, manifest: dict) -> str:
    path = tmp_path / f"{manifest['metadata']['name']}.yaml"
    path.write_text(yaml.safe_dump(manifest))
    return str(path)


def _pods(kube_sim, namespace: str, job: str) -> list[dict]:
    return kube_sim.list("v1", "Pod", namespace, label_selector=f"batch.kubernetes.io/job-name={job}")


def _running(pods: list[dict]) -> list[dict]:
    return [p for p in pods if p["status"].get("phase") not in ("Succeeded", "Failed")]


def test_kubectl_applies_lists_and_dry_runs_an_indexed_job(kube_sim, kube_namespace, kubectl, tmp_path):
    manifest = _write(tmp_path, _job("export", completionMode="Indexed", completions=3, parallelism=2,
                                     backoffLimitPerIndex=1))
    dry = kubectl("apply", "-f", manifest, "--dry-run=server", check=True)
    assert "job.batch/export created (server dry run)" in dry.stdout
    assert kube_sim.get("batch/v1", "Job", kube_namespace, "export") is None
    assert "job.batch/export created" in kubectl("apply", "-f", manifest, check=True).stdout
    pods = wait_until(lambda: len(_pods(kube_sim, kube_namespace, "export")) == 2 and
                      _pods(kube_sim, kube_namespace, "export"), what="two job pods")
    assert sorted(p["metadata"]["labels"][INDEX] for p in pods) == ["0", "1"]  # parallelism 2, lowest first
    listed = kubectl("get", "jobs", check=True).stdout.splitlines()
    assert listed[0].split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert listed[1].split()[:3] == ["export", "Running", "0/3"]
    assert kubectl("get", "job", "export", "-o", "jsonpath={.spec.selector.matchLabels}", check=True).stdout
    again = kubectl("apply", "-f", manifest, check=True).stdout  # a re-apply is a no-op, not an immutable error
    assert "job.batch/export unchanged" in again


def test_indexed_job_runs_to_complete_with_index_env_and_counts(kube_sim, kube_namespace, kubectl):
    kube_sim.create({**_job("idx", completionMode="Indexed", completions=3, parallelism=2),
                     "metadata": {"name": "idx", "namespace": kube_namespace}})
    first = wait_until(lambda: len(_pods(kube_sim, kube_namespace, "idx")) == 2 and
                       _pods(kube_sim, kube_namespace, "idx"), what="pods")
    pod = first[0]
    assert pod["metadata"]["annotations"][INDEX] == pod["metadata"]["labels"][INDEX]
    env = pod["spec"]["containers"][0]["env"]
    assert env == [{"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
        "apiVersion": "v1", "fieldPath": f"metadata.annotations['{INDEX}']"}}}]
    assert pod["metadata"]["name"].startswith(f"idx-{pod['metadata']['labels'][INDEX]}-")
    for p in first:
        kube_sim.finish_pod(kube_namespace, p["metadata"]["name"])
    last = wait_until(lambda: [p for p in _running(_pods(kube_sim, kube_namespace, "idx"))
                               if p["metadata"]["labels"][INDEX] == "2"], what="index 2 started")
    kube_sim.finish_pod(kube_namespace, last[0]["metadata"]["name"])
    done = wait_until(lambda: (j := kube_sim.get("batch/v1", "Job", kube_namespace, "idx"))["status"].get(
        "completionTime") and j, what="job complete")
    assert done["status"]["succeeded"] == 3 and done["status"]["completedIndexes"] == "0-2"
    assert {c["type"] for c in done["status"]["conditions"]} == {"SuccessCriteriaMet", "Complete"}
    waited = kubectl("wait", "--for=condition=complete", "job/idx", "--timeout=5s", check=True)
    assert "condition met" in waited.stdout
    assert kubectl("get", "job", "idx", check=True).stdout.splitlines()[1].split()[:3] == ["idx", "Complete", "3/3"]
    pods = kubectl("get", "pods", "-l", "batch.kubernetes.io/job-name=idx", check=True).stdout
    assert pods.count("Completed") == 3


def test_backoff_limit_per_index_fails_only_that_index(kube_sim, kube_namespace):
    kube_sim.create({**_job("per", completionMode="Indexed", completions=2, parallelism=2, backoffLimitPerIndex=1),
                     "metadata": {"name": "per", "namespace": kube_namespace}})
    for _ in range(2):  # index 1 fails twice: once retried, then given up
        pod = wait_until(lambda: [p for p in _running(_pods(kube_sim, kube_namespace, "per"))
                                  if p["metadata"]["labels"][INDEX] == "1"], what="index 1 running")[0]
        kube_sim.finish_pod(kube_namespace, pod["metadata"]["name"], exit_code=2)
    zero = wait_until(lambda: [p for p in _running(_pods(kube_sim, kube_namespace, "per"))
                               if p["metadata"]["labels"][INDEX] == "0"], what="index 0 running")[0]
    kube_sim.finish_pod(kube_namespace, zero["metadata"]["name"])
    job = wait_until(lambda: (j := kube_sim.get("batch/v1", "Job", kube_namespace, "per"))["status"].get(
        "conditions") and j, what="job finished")
    status = job["status"]
    assert (status["succeeded"], status["failed"], status["completedIndexes"], status["failedIndexes"]) == \
        (1, 2, "0", "1")
    failed = next(c for c in status["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "FailedIndexes" and "completionTime" not in status
    assert len(_pods(kube_sim, kube_namespace, "per")) == 3  # no retry beyond the per-index limit


def test_non_indexed_job_backoff_limit_fails_the_job(kube_sim, kube_namespace):
    kube_sim.create({**_job("plain", backoffLimit=0), "metadata": {"name": "plain", "namespace": kube_namespace}})
    pod = wait_until(lambda: _pods(kube_sim, kube_namespace, "plain"), what="pod")[0]
    assert INDEX not in pod["metadata"]["labels"] and "env" not in pod["spec"]["containers"][0]
    kube_sim.finish_pod(kube_namespace, pod["metadata"]["name"], succeeded=False)
    job = wait_until(lambda: (j := kube_sim.get("batch/v1", "Job", kube_namespace, "plain"))["status"].get(
        "conditions") and j, what="job failed")
    assert job["status"]["failed"] == 1
    assert [c["reason"] for c in job["status"]["conditions"] if c["type"] == "Failed"] == ["BackoffLimitExceeded"]


@pytest.mark.parametrize(("spec", "message"), [
    ({"completionMode": "Indexed", "parallelism": 2}, "spec.completions: Required value"),
    ({"backoffLimitPerIndex": 1}, "spec.backoffLimitPerIndex: Forbidden"),
    ({"parallelism": -1}, "spec.parallelism: Invalid value"),
])
def test_invalid_jobs_are_refused_by_kubectl_with_the_cause(kubectl, tmp_path, spec, message):
    result = kubectl("apply", "-f", _write(tmp_path, _job("bad", **spec)))
    assert result.returncode != 0 and message in result.stderr


def test_job_field_validation_and_types(kubectl, tmp_path):
    typo = _job("typo", completion=3)
    strict = kubectl("apply", "-f", _write(tmp_path, typo))
    assert strict.returncode != 0 and 'unknown field "spec.completion"' in strict.stderr
    wrong = _job("wrong", parallelism="two")
    result = kubectl("create", "-f", _write(tmp_path, wrong), "--validate=false")
    assert result.returncode != 0 and "cannot be handled as a Job" in result.stderr
    always = _job("always")
    always["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    refused = kubectl("apply", "-f", _write(tmp_path, always))
    assert refused.returncode != 0 and 'spec.template.spec.restartPolicy: Unsupported value: "Always"' in \
        refused.stderr


def test_job_template_is_immutable_but_parallelism_is_not(kube_sim, kube_namespace, kubectl, tmp_path):
    manifest = _job("scale", completionMode="Indexed", completions=4, parallelism=1)
    kubectl("apply", "-f", _write(tmp_path, manifest), check=True)
    kubectl("patch", "job", "scale", "--type=merge", "-p", json.dumps({"spec": {"parallelism": 3}}), check=True)
    wait_until(lambda: len(_pods(kube_sim, kube_namespace, "scale")) == 3, what="three pods after the patch")
    changed = kubectl("patch", "job", "scale", "--type=json", "-p", json.dumps(
        [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "magent:2.0"}]))
    assert changed.returncode != 0 and "field is immutable" in changed.stderr


def test_deleting_a_job_collects_its_pods(kube_sim, kube_namespace, kubectl, tmp_path):
    kubectl("apply", "-f", _write(tmp_path, _job("gone", completions=2, parallelism=2)), check=True)
    wait_until(lambda: len(_pods(kube_sim, kube_namespace, "gone")) == 2, what="two pods")
    assert 'job.batch "gone" deleted' in kubectl("delete", "job", "gone", "--wait=false", check=True).stdout
    wait_until(lambda: not [p for p in _pods(kube_sim, kube_namespace, "gone")
                            if not p["metadata"].get("deletionTimestamp")], what="pods collected")
