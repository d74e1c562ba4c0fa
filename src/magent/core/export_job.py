"""The export as a Kubernetes Indexed Job: the manifest `conversations export --emit-job / --submit` applies, and
what a Job's status says about the run.

    spec = JobSpec(plan_id=12, shards=8, parallelism=4, image=default_image(), namespace="shop",
                   key_secret=parse_secret_ref("magent-mistral#api-key", "api-key"), …)
    print(manifest_yaml(build_job(spec)))         # kubectl apply -f - accepts it

Each pod runs `magent conversations export --worker --plan-id ID`; its shard is JOB_COMPLETION_INDEX, which the
Job controller sets. The API key and the database URL come from Secrets (`secretKeyRef`): never a value here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from magent import __version__

IMAGE_REPOSITORY = "ghcr.io/magent-dev/magent"
# A pod that fails is retried this many times per index: a worker that dies loses nothing (its rows are taken
# over once their lease passes), so a retry only costs a pod start.
BACKOFF_PER_INDEX = 3
# backoffLimitPerIndex is GA in 1.33, beta and on by default from 1.29; older servers refuse the field.
PER_INDEX_SINCE = (1, 29)
KEY_ENV = "MISTRAL_API_KEY"
DATABASE_ENV = "MAGENT_DATABASE_URL"
PLAN_LABEL = "magent.dev/export-plan"
CONTAINER = "worker"

# Secret names are DNS subdomains (RFC 1123); Secret keys are [-._a-zA-Z0-9]+ (validation.IsConfigMapKey).
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")
# A Kubernetes resource quantity: 500m, 1, 0.5, 512Mi, 1G, 1e3
QUANTITY = r"^(\d+(\.\d*)?|\.\d+)(([eE][+-]?\d+)|[KMGTPE]i|[numkMGTPE])?$"
_QUANTITY = re.compile(QUANTITY, re.ASCII)


@dataclass(frozen=True)
class SecretRef:
    name: str
    key: str

    def __str__(self) -> str:
        return f"{self.name}#{self.key}"


def parse_secret_ref(text: str, default_key: str) -> SecretRef:
    """NAME[#KEY] of a Secret in the Job's namespace; ValueError with a one-line reason otherwise."""
    name, hash_sign, key = text.strip().partition("#")
    if not name:
        raise ValueError(f"{text!r} names no Secret (expected NAME or NAME#KEY, e.g. magent-mistral#api-key)")
    if hash_sign and not key:
        raise ValueError(f"{text!r} has an empty key after '#' (expected NAME#KEY, e.g. magent-mistral#api-key)")
    key = key or default_key
    if len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid Secret name (lower-case letters, digits, '-' and '.', at most "
                         f"253 characters)")
    if len(key) > 253 or key in (".", "..") or not _SECRET_KEY.fullmatch(key):
        raise ValueError(f"{key!r} is not a valid Secret key (letters, digits, '-', '_' and '.')")
    return SecretRef(name, key)


def check_quantity(text: str) -> str:
    """A Kubernetes quantity (500m, 1, 512Mi); ValueError otherwise."""
    if not _QUANTITY.fullmatch(text):
        raise ValueError(f"{text!r} is not a Kubernetes quantity (e.g. 500m, 1, 512Mi, 2Gi)")
    return text


def check_namespace(text: str) -> str:
    if not _DNS_LABEL.fullmatch(text):
        raise ValueError(f"{text!r} is not a valid namespace (lower-case letters, digits and '-', at most 63)")
    return text


def default_image() -> str:
    return f"{IMAGE_REPOSITORY}:{__version__}"


def job_name(plan_id: int) -> str:
    return f"magent-export-{plan_id}"


@dataclass(frozen=True)
class JobSpec:
    plan_id: int
    shards: int
    parallelism: int
    image: str
    namespace: str
    key_secret: SecretRef
    database_secret: SecretRef
    requests: dict[str, str]  # {"cpu": "250m", "memory": "256Mi"}, empty values left out
    limits: dict[str, str]
    service_account: str | None = None
    per_index_backoff: bool = True  # False for servers older than PER_INDEX_SINCE
    mistral_url: str | None = None  # set on the pods when not the default API

    @property
    def name(self) -> str:
        return job_name(self.plan_id)


def build_job(spec: JobSpec) -> dict[str, Any]:
    """The batch/v1 Job: Indexed, one completion per shard, at most `parallelism` pods at once."""
    labels = {"app.kubernetes.io/name": "magent", "app.kubernetes.io/component": "export",
              PLAN_LABEL: str(spec.plan_id)}
    job_spec: dict[str, Any] = {"completionMode": "Indexed", "completions": spec.shards,
                                "parallelism": min(spec.parallelism, spec.shards)}
    if spec.per_index_backoff:
        job_spec["backoffLimitPerIndex"] = BACKOFF_PER_INDEX
    else:  # one budget for the whole Job: as many retries in all as the per-index limit would allow
        job_spec["backoffLimit"] = BACKOFF_PER_INDEX * spec.shards
    pod_spec: dict[str, Any] = {"restartPolicy": "Never", "containers": [_container(spec)]}
    if spec.service_account:
        pod_spec["serviceAccountName"] = spec.service_account
    job_spec["template"] = {"metadata": {"labels": dict(labels)}, "spec": pod_spec}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": spec.name, "namespace": spec.namespace, "labels": labels},
            "spec": job_spec}


def _container(spec: JobSpec) -> dict[str, Any]:
    env = [_secret_env(KEY_ENV, spec.key_secret), _secret_env(DATABASE_ENV, spec.database_secret)]
    if spec.mistral_url:
        env.append({"name": "MAGENT_MISTRAL_URL", "value": spec.mistral_url})
    resources = {kind: {k: v for k, v in values.items() if v}
                 for kind, values in (("requests", spec.requests), ("limits", spec.limits))}
    return {"name": CONTAINER, "image": spec.image,
            "command": ["magent"],
            "args": ["conversations", "export", "--worker", "--plan-id", str(spec.plan_id)],
            "env": env,
            "resources": {kind: values for kind, values in resources.items() if values}}


def _secret_env(name: str, ref: SecretRef) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}


def manifest_yaml(manifest: dict[str, Any]) -> str:
    return yaml.safe_dump(manifest, sort_keys=False)


def parse_kube_version(text: str) -> tuple[int, int]:
    """(major, minor) from "1.28", "v1.28.3" or "v1.30.2-eks-1234"; ValueError otherwise."""
    match = re.fullmatch(r"v?(\d{1,3})\.(\d{1,3})(\.\d{1,5})?([-+][-+.\w]*)?", text.strip(), re.ASCII)
    if match is None:
        raise ValueError(f"{text!r} is not a Kubernetes version (e.g. 1.28 or v1.28.3)")
    return int(match.group(1)), int(match.group(2))


def supports_per_index_backoff(version: dict[str, Any]) -> bool:
    """From the server's /version: major "1", minor "29" (or "29+" on EKS and GKE)."""
    try:
        major = int(str(version.get("major", "")).rstrip("+"))
        minor = int(str(version.get("minor", "")).rstrip("+"))
    except ValueError:
        try:
            major, minor = parse_kube_version(str(version.get("gitVersion", "")))
        except ValueError:
            return True  # an unknown server: assume a current one; the API server refuses the field otherwise
    return (major, minor) >= PER_INDEX_SINCE


@dataclass(frozen=True)
class JobState:
    """What the Job controller reports: pods running, indexes done and failed, and whether the Job ended."""

    active: int
    succeeded: int
    failed: int  # failed pods (retries included)
    completed_indexes: str  # "0-2,5" as the API writes it
    failed_indexes: str
    complete: bool
    failed_reason: str | None  # set when the Job failed: BackoffLimitExceeded, FailedIndexes, …

    @property
    def finished(self) -> bool:
        return self.complete or self.failed_reason is not None


def job_state(job: dict[str, Any]) -> JobState:
    status = job.get("status") or {}
    conditions = [c for c in status.get("conditions") or [] if c.get("status", "True") == "True"]
    failed = next((c for c in conditions if c.get("type") == "Failed"), None)
    return JobState(active=int(status.get("active") or 0), succeeded=int(status.get("succeeded") or 0),
                    failed=int(status.get("failed") or 0), completed_indexes=status.get("completedIndexes") or "",
                    failed_indexes=status.get("failedIndexes") or "",
                    complete=any(c.get("type") == "Complete" for c in conditions),
                    failed_reason=(failed.get("reason") or "Failed") if failed else None)
