"""`conversations export --emit-job / --submit` against the Kubernetes simulator and the embedded Postgres.

The Job's pods are played by the test: for each pod the simulator starts, it runs the pod's command (the
`--worker` export) as a local process with the pod's JOB_COMPLETION_INDEX, then ends the pod with the process's
exit code. kubectl is the independent client that checks the manifest.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import yaml
from fixtures.mistral import SIM_API_KEY

INDEX = "batch.kubernetes.io/job-completion-index"


@pytest.fixture
def env(mistral_sim, pg_url, kubeconfig):
    return {"MISTRAL_API_KEY": SIM_API_KEY, "MAGENT_MISTRAL_URL": mistral_sim.url, "MAGENT_DATABASE_URL": pg_url,
            "KUBECONFIG": str(kubeconfig)}


@pytest.fixture
def plan_id(cli, env) -> int:
    made = cli("conversations", "export", "--plan", "--shards", "2", "-o", "json", env=env)
    assert made.exit_code == 0, made.stderr
    return json.loads(made.stdout)["plan_id"]


class PodPlayer:
    """Plays the pods of a Job: `run(pod)` returns the exit code the pod ends with."""

    def __init__(self, kube_sim, namespace: str, job: str, run: Callable[[dict], int]) -> None:
        self.sim, self.namespace, self.job, self.run = kube_sim, namespace, job, run
        self.seen: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> PodPlayer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)

    def _loop(self) -> None:
        while not self.stop.wait(0.05):
            for pod in self.sim.list("v1", "Pod", self.namespace, label_selector=f"batch.kubernetes.io/job-name={self.job}"):
                name = pod["metadata"]["name"]
                if name not in self.seen and pod["status"].get("phase") not in ("Succeeded", "Failed"):
                    self.seen.add(name)
                    threading.Thread(target=self._play, args=(pod,), daemon=True).start()

    def _play(self, pod: dict) -> None:
        code = self.run(pod)
        if self.sim.get("v1", "Pod", self.namespace, pod["metadata"]["name"]) is not None:
            self.sim.finish_pod(self.namespace, pod["metadata"]["name"], exit_code=code)


def worker(env: dict[str, str]) -> Callable[[dict], int]:
    """The pod's command: the `--worker` export of the plan its args name, with the index the Job controller gave
    the pod (in this process: starting Python and the SDKs per pod would cost seconds on a loaded CI machine)."""
    from magent.core.config import StoreSettings
    from magent.services.mistral.conversations import open_source
    from magent.services.store import open_store
    from magent.workflows.export.worker import WorkerOptions, run_worker

    def run(pod: dict) -> int:
        container = pod["spec"]["containers"][0]
        command = [*container["command"], *container["args"]]
        assert command[:5] == ["magent", "conversations", "export", "--worker", "--plan-id"], command
        source, client = open_source(env["MAGENT_MISTRAL_URL"], env["MISTRAL_API_KEY"], rate_per_minute=None,
                                     timeout_s=30)
        store = open_store(StoreSettings(database_url=env["MAGENT_DATABASE_URL"]), migrate=False)
        with client:
            summary = run_worker(store, source, WorkerOptions(plan_id=int(command[5]), name=pod["metadata"]["name"]),
                                 environ={"JOB_COMPLETION_INDEX": pod["metadata"]["labels"][INDEX]})
        return 0 if summary.status == "succeeded" else 1

    return run


def test_emit_job_is_accepted_by_kubectl_and_the_server(cli, env, plan_id, kubectl, kube_namespace, tmp_path):
    emitted = cli("conversations", "export", "--emit-job", "--parallelism", "3", "--image", "registry.local/m:1",
                  "--key-secret", "mistral#key", env=env)
    assert emitted.exit_code == 0, emitted.stderr
    job = yaml.safe_load(emitted.stdout)
    assert job["metadata"] == {"name": f"magent-export-{plan_id}", "namespace": "default", "labels": {
        "app.kubernetes.io/name": "magent", "app.kubernetes.io/component": "export",
        "magent.dev/export-plan": str(plan_id)}}
    spec = job["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimitPerIndex"]) == (2, 2, 3)
    container = spec["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.local/m:1"
    assert {"name": "MAGENT_MISTRAL_URL", "value": env["MAGENT_MISTRAL_URL"]} in container["env"]
    assert SIM_API_KEY not in emitted.stdout and "postgresql" not in emitted.stdout
    for extra in ((), ("--kube-version", "1.27")):
        emitted = cli("conversations", "export", "--emit-job", "-n", kube_namespace, *extra, env=env)
        path = tmp_path / "job.yaml"
        path.write_text(emitted.stdout)
        dry = kubectl("apply", "-f", str(path), "--dry-run=server", check=True)
        assert f"job.batch/magent-export-{plan_id} created (server dry run)" in dry.stdout
    assert yaml.safe_load(emitted.stdout)["spec"]["backoffLimit"] == 6
    config = tmp_path / "magent.yaml"
    config.write_text("export:\n  job:\n    image: registry.local/magent:9\n    namespace: batch\n"
                      "    service_account: exporter\n    limits: {cpu: 2}\n")
    as_json = cli("--config", str(config), "conversations", "export", "--emit-job", "-o", "json", env=env)
    configured = json.loads(as_json.stdout)
    pod = configured["spec"]["template"]["spec"]
    assert (configured["metadata"]["namespace"], pod["serviceAccountName"], pod["containers"][0]["image"]) == \
        ("batch", "exporter", "registry.local/magent:9")
    assert pod["containers"][0]["resources"]["limits"] == {"cpu": "2", "memory": "1Gi"}  # the other key kept


@pytest.mark.parametrize(("args", "message"), [
    (("--emit-job", "--submit"), "--emit-job and --submit cannot be used together"),
    (("--submit", "--plan"), "cannot be used together"),
    (("--emit-job", "--to", "jsonl:x.jsonl"), "--emit-job works with the Postgres store only"),
    (("--emit-job", "--key-secret", "Mistral#key"), "'Mistral' is not a valid Secret name"),
    (("--emit-job", "--database-secret", "db#"), "empty key"),
    (("--emit-job", "--kube-version", "new"), "--kube-version: 'new' is not a Kubernetes version"),
    (("--emit-job", "-n", "Bad_NS"), "'Bad_NS' is not a valid namespace"),
    (("--submit", "--kube-version", "1.28"), "--kube-version is for --emit-job"),
    (("--emit-job", "--shards", "3"), "--shards is for --plan"),
    (("--emit-job", "--context", "prod"), "--context is for --submit"),
    (("--plan", "--context", "prod"), "--context is for --submit"),
    # the Job's flags without --emit-job/--submit were silently ignored
    (("--parallelism", "3"), "--parallelism is for --emit-job and --submit"),
    (("--to", "jsonl:x.jsonl", "--image", "reg/magent:1"), "--image is for --emit-job and --submit"),
    (("--worker", "-n", "batch"), "--namespace is for --emit-job and --submit"),
    (("--plan", "--key-secret", "k#v"), "--key-secret is for --emit-job and --submit"),
    (("--database-secret", "db#url"), "use it with --emit-job or --submit"),
    (("--kube-version", "1.30"), "--kube-version is for --emit-job"),
])
def test_bad_input_is_one_line_and_exit_2(cli, args, message):
    unused = "postgresql://magent:pw@127.0.0.1:9/none"  # refused before any connection
    result = cli("conversations", "export", *args, env={"MAGENT_DATABASE_URL": unused})
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.output and result.stdout == ""


def test_no_open_plan_and_embedded_store_are_refused(cli, env, tmp_path):
    none = cli("conversations", "export", "--emit-job", env=env)
    assert none.exit_code == 2 and "there is no open export plan" in none.stderr
    assert "magent conversations export --plan" in none.stderr
    embedded = cli("conversations", "export", "--submit", "--data-dir", str(tmp_path / "pg"),
                   env={**env, "MAGENT_DATABASE_URL": ""})
    assert embedded.exit_code == 2 and "cannot reach the embedded Postgres" in embedded.stderr, embedded.stderr


def test_submit_runs_the_job_to_complete_and_prints_the_summary(cli, env, plan_id, kube_sim, kube_namespace,
                                                                mistral_sim):
    job = f"magent-export-{plan_id}"
    with PodPlayer(kube_sim, kube_namespace, job, worker(env)):
        result = cli("conversations", "export", "--submit", "-o", "json", env=env)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    total = len(mistral_sim.data.conversations)
    assert (summary["status"], summary["conversations"], summary["plan_rows"], summary["left"], summary["failed"]) \
        == ("succeeded", total, f"{total}/{total}", 0, 0)
    assert summary["entries"] > 0 and summary["requests"] >= total and summary["completed_indexes"] == "0-1"
    assert SIM_API_KEY not in result.output
    assert f"creating job {job} (plan {plan_id}: 2 indexes, 2 at once" in result.stderr
    assert f"namespace {kube_namespace}" in result.stderr
    assert f"{job}: {total}/{total} conversations (100 %)" in result.stderr  # the last progress line
    created = kube_sim.get("batch/v1", "Job", kube_namespace, job)
    assert created["spec"]["backoffLimitPerIndex"] == 3  # the simulator says 1.32
    with psycopg.connect(env["MAGENT_DATABASE_URL"]) as conn:
        assert conn.execute("SELECT status FROM export_plans WHERE id = %s", (plan_id,)).fetchone()[0] == "done"
        assert conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == total
    again = cli("conversations", "export", "--submit", "--plan-id", str(plan_id), env=env)
    assert again.exit_code == 2 and f"export plan {plan_id} is done" in again.stderr


def test_submit_creates_the_job_in_the_context_named(cli, env, plan_id, kube_sim, kube_namespace, tmp_path):
    """--context beats kubernetes.context, which beats the kubeconfig's current context (as deploy's)."""
    elsewhere = f"{kube_namespace}-home"
    kube_sim.create_namespace(elsewhere)
    document = yaml.safe_load(Path(env["KUBECONFIG"]).read_text())
    named = document["contexts"][0]
    document["contexts"] = [{"name": "home", "context": {**named["context"], "namespace": elsewhere}},
                            {"name": "batch", "context": {**named["context"], "namespace": kube_namespace}}]
    document["current-context"] = "home"
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(document))
    config = tmp_path / "magent.yaml"
    config.write_text("kubernetes:\n  context: home\n")
    job = f"magent-export-{plan_id}"
    try:
        # pods that export nothing, in either namespace: a Job in the wrong one must end too, to be seen there
        with PodPlayer(kube_sim, kube_namespace, job, lambda pod: 0), PodPlayer(kube_sim, elsewhere, job, lambda pod: 0):
            result = cli("--config", str(config), "conversations", "export", "--submit", "--context", "batch",
                         env={**env, "KUBECONFIG": str(tmp_path / "kubeconfig")})
        assert result.exit_code == 1 and "conversations of the plan left" in result.stderr, result.output
        assert f"creating job {job}" in result.stderr
        assert "in context batch (" in result.stderr and f"namespace {kube_namespace}" in result.stderr
        assert kube_sim.get("batch/v1", "Job", kube_namespace, job) is not None
        assert kube_sim.get("batch/v1", "Job", elsewhere, job) is None
    finally:
        kube_sim.delete("v1", "Namespace", None, elsewhere)


def test_a_failed_job_exits_1_naming_its_indexes(cli, env, plan_id, kube_sim, kube_namespace):
    job = f"magent-export-{plan_id}"
    with PodPlayer(kube_sim, kube_namespace, job, lambda pod: int(pod["metadata"]["labels"][INDEX] == "1")):
        result = cli("conversations", "export", "--submit", "--parallelism", "1", env=env)
    assert result.exit_code == 1, result.output
    assert f"job {job} failed: FailedIndexes (failed indexes 1); 12 conversations left to export" in result.stderr
    assert f"kubectl logs job/{job} -n {kube_namespace}" in result.stderr
    assert "completed indexes" in result.stdout and "Traceback" not in result.output


def test_an_existing_job_is_exit_2_and_a_forbidden_create_exit_3(cli, env, plan_id, kube_sim, kube_namespace):
    job = f"magent-export-{plan_id}"
    kube_sim.deny("create", "jobs", group="batch", namespace=kube_namespace)
    forbidden = cli("conversations", "export", "--submit", env=env)
    assert forbidden.exit_code == 3 and "refused our credentials (403)" in forbidden.stderr, forbidden.stderr
    kube_sim.allow_all()
    kube_sim.create({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": job, "namespace": kube_namespace},
                     "spec": {"template": {"spec": {"restartPolicy": "Never",
                                                    "containers": [{"name": "w", "image": "x:1"}]}}}})
    exists = cli("conversations", "export", "--submit", env=env)
    assert exists.exit_code == 2 and f"job {job} already exists in namespace {kube_namespace}" in exists.stderr
    assert f"kubectl delete job {job} -n {kube_namespace}" in exists.stderr


def test_ctrl_c_stops_following_and_leaves_the_job_running(cli, env, plan_id, kube_sim, kube_namespace):
    job = f"magent-export-{plan_id}"

    def interrupt(pod: dict) -> int:  # the user presses Ctrl-C while the pods run
        signal.raise_signal(signal.SIGINT)
        return 0

    with PodPlayer(kube_sim, kube_namespace, job, interrupt):
        result = cli("conversations", "export", "--submit", "--parallelism", "1", env=env)
    assert result.exit_code == 130, result.output
    assert f"stopped following; job {job} keeps running in namespace {kube_namespace}" in result.stderr
    assert f"kubectl delete job {job} -n {kube_namespace}" in result.stderr
    assert kube_sim.get("batch/v1", "Job", kube_namespace, job) is not None


def test_a_job_deleted_while_followed_exits_1(cli, env, plan_id, kube_sim, kube_namespace):
    job = f"magent-export-{plan_id}"

    def delete_the_job(pod: dict) -> int:
        kube_sim.delete("batch/v1", "Job", kube_namespace, job)
        return 0

    with PodPlayer(kube_sim, kube_namespace, job, delete_the_job):
        result = cli("conversations", "export", "--submit", "--parallelism", "1", env=env)
    assert result.exit_code == 1, result.output
    assert f"job {job} is no longer in namespace {kube_namespace} (deleted?)" in result.stderr


def test_postgres_lost_while_following_is_exit_3_and_the_job_keeps_running(cli, env, plan_id, kube_sim,
                                                                           kube_namespace):
    job = f"magent-export-{plan_id}"

    def drop_the_connections(pod: dict) -> int:  # a failover of the database, or a laptop's network change
        with psycopg.connect(env["MAGENT_DATABASE_URL"], autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return 0

    with PodPlayer(kube_sim, kube_namespace, job, drop_the_connections):
        result = cli("conversations", "export", "--submit", "--parallelism", "1", env=env)
    assert result.exit_code == 3, result.output
    assert "cannot connect to Postgres" in result.stderr and "Traceback" not in result.output
    assert f"job {job} keeps running in namespace {kube_namespace}" in result.stderr
