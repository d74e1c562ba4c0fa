"""batch/v1 Job defaults and validation, after kubernetes/pkg/apis/batch (defaults.go, validation.go).

The server generates the selector (`batch.kubernetes.io/controller-uid`) and labels the template with the
Job's uid and name, as it does unless `manualSelector`; kubectl and clients read those labels back.
"""

from __future__ import annotations

from typing import Any

from magent.sandbox.kube.selectors import selector_matches

UID_LABEL = "batch.kubernetes.io/controller-uid"
NAME_LABEL = "batch.kubernetes.io/job-name"
INDEX_KEY = "batch.kubernetes.io/job-completion-index"
_MAX_INT32 = 2**31 - 1
_MUTABLE = ("parallelism", "completions", "suspend", "activeDeadlineSeconds", "ttlSecondsAfterFinished",
            "backoffLimit", "backoffLimitPerIndex", "maxFailedIndexes")


def default_job(obj: dict[str, Any], default_pod_spec: Any) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("backoffLimit", _MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6)
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed")
    template = spec.setdefault("template", {})
    if not isinstance(template, dict):
        return
    meta = template.setdefault("metadata", {})
    if isinstance(meta, dict):
        meta["creationTimestamp"] = None
        if not spec.get("manualSelector"):
            uid, name = obj["metadata"].get("uid", ""), obj["metadata"].get("name", "")
            labels = meta.setdefault("labels", {})
            if isinstance(labels, dict) and uid and UID_LABEL not in labels:
                labels.update({UID_LABEL: uid, NAME_LABEL: name, "controller-uid": uid, "job-name": name})
                spec.setdefault("selector", {"matchLabels": {UID_LABEL: uid}})
    if isinstance(template.setdefault("spec", {}), dict):
        default_pod_spec(template["spec"])


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value else []


def _count(spec: dict[str, Any], key: str) -> list[tuple[str, str]]:
    value = spec.get(key)
    if value is None:
        return []
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return [(f"spec.{key}", f"Invalid value: {value!r}: must be greater than or equal to 0")]
    return []


def validate_job(obj: dict[str, Any], old: dict[str, Any] | None,
                 validate_containers: Any) -> list[tuple[str, str]]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [("spec", "Required value")]
    causes: list[tuple[str, str]] = []
    for key in ("parallelism", "completions", "backoffLimit", "backoffLimitPerIndex", "activeDeadlineSeconds"):
        causes += _count(spec, key)
    mode = spec.get("completionMode")
    if mode not in ("NonIndexed", "Indexed"):
        causes.append(("spec.completionMode",
                       f'Unsupported value: "{mode}": supported values: "Indexed", "NonIndexed"'))
    if mode == "Indexed" and spec.get("completions") is None:
        causes.append(("spec.completions", "Required value: when completion mode is Indexed"))
    if spec.get("backoffLimitPerIndex") is not None and mode != "Indexed":
        causes.append(("spec.backoffLimitPerIndex", "Forbidden: requires indexed completion mode"))
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    selector = spec.get("selector")
    meta = template.get("metadata") if isinstance(template.get("metadata"), dict) else {}
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    if not isinstance(selector, dict):
        causes.append(("spec.selector", "Required value"))
    elif not isinstance(selector.get("matchLabels") or {}, dict) or \
            not all(isinstance(e, dict) for e in _as_list(selector.get("matchExpressions"))):
        causes.append(("spec.selector", f"Invalid value: {selector!r}: not a label selector"))
    elif not selector_matches(selector, labels):
        causes.append(("spec.template.metadata.labels",
                       f"Invalid value: {labels!r}: `selector` does not match template `labels`"))
    pod_spec = template.get("spec")
    causes += validate_containers("spec.template.spec", pod_spec)
    policy = pod_spec.get("restartPolicy") if isinstance(pod_spec, dict) else None
    if policy not in ("OnFailure", "Never"):
        causes.append(("spec.template.spec.restartPolicy",
                       f'Unsupported value: "{policy}": supported values: "OnFailure", "Never"'))
    if old is not None:
        changed = [k for k in set(spec) | set(old.get("spec") or {})
                   if k not in _MUTABLE and k != "template" and spec.get(k) != (old.get("spec") or {}).get(k)]
        if spec.get("template") != (old.get("spec") or {}).get("template"):
            changed.append("template")
        causes += [(f"spec.{k}", "Invalid value: field is immutable") for k in sorted(changed)]
    return causes
