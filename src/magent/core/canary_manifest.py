"""The `<name>-canary` Deployment, derived from the stable one (pure: dict in, dict out).

The canary is a copy of the stable Deployment with the new image and `track: canary` added to its selector and
pod labels. The stable's Service selects on the labels both share (e.g. `app: web`), so it sends the canary a
share of traffic proportional to its ready pods. The stable's own selector matches the canary pods too, but a
ReplicaSet only counts the pods it controls (owner references), so neither Deployment adopts the other's pods.
"""

from __future__ import annotations

import copy
from typing import Any

from magent.core.canary import (
    CANARY_OF_ANNOTATION,
    CANARY_TRACK,
    DEPLOY_ID_ANNOTATION,
    MANAGED_BY_LABEL,
    STATE_ANNOTATION,
    TRACK_LABEL,
    canary_name,
)
from magent.core.errors import UsageError
from magent.core.rollout import CHANGE_CAUSE_ANNOTATION

Obj = dict[str, Any]

# Fields of the stable's spec the canary does not copy: it is scaled by magent, never paused, and keeps one old RS.
_SPEC_FIELDS_DROPPED = ("paused",)


def image_repository(image: str) -> str:
    """`registry:5000/team/app:v2@sha256:…` → `registry:5000/team/app` (no tag, no digest)."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def pick_container(deployment: str, containers: list[Obj], image: str, requested: str | None) -> str:
    """The container whose image the deploy replaces: --container, the only one, or the one of the same repository."""
    names = [c.get("name", "") for c in containers]
    if requested:
        if requested not in names:
            raise UsageError(f"deployment {deployment} has no container {requested!r}",
                             hint=f"containers: {', '.join(names) or 'none'}")
        return requested
    if len(names) == 1:
        return names[0]
    same_repo = [c.get("name", "") for c in containers if image_repository(c.get("image", "")) == image_repository(image)]
    if len(same_repo) == 1:
        return same_repo[0]
    raise UsageError(f"deployment {deployment} has {len(names)} containers ({', '.join(names)}): which one runs {image}?",
                     hint="pass --container NAME")


def canary_manifest(stable: Obj, *, image: str, container: str, replicas: int, deploy_id: str) -> Obj:
    """The canary Deployment for `stable` running `image` in `container` with `replicas` pods."""
    meta = stable["metadata"]
    name = canary_name(meta["name"])
    spec = copy.deepcopy(stable.get("spec") or {})
    for key in _SPEC_FIELDS_DROPPED:
        spec.pop(key, None)
    spec["replicas"] = replicas
    spec["revisionHistoryLimit"] = 1
    selector = spec.setdefault("selector", {})
    selector.setdefault("matchLabels", {})[TRACK_LABEL] = CANARY_TRACK
    selector["matchExpressions"] = [e for e in selector.get("matchExpressions") or [] if e.get("key") != TRACK_LABEL]
    if not selector["matchExpressions"]:
        del selector["matchExpressions"]
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {}).setdefault("labels", {})[TRACK_LABEL] = CANARY_TRACK
    for item in (template.get("spec") or {}).get("containers") or []:
        if item.get("name") == container:
            item["image"] = image
    labels = {**(meta.get("labels") or {}), TRACK_LABEL: CANARY_TRACK, MANAGED_BY_LABEL: "magent"}
    annotations = {CANARY_OF_ANNOTATION: meta["name"], DEPLOY_ID_ANNOTATION: deploy_id,
                   CHANGE_CAUSE_ANNOTATION: f"magent deploy {image} ({deploy_id})"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": meta.get("namespace"), "labels": labels, "annotations": annotations},
        "spec": spec,
    }


def is_canary_of(canary: Obj, stable_name: str) -> bool:
    """A Deployment magent made as the canary of `stable_name` (never touch a same-named Deployment it did not make)."""
    return (canary.get("metadata", {}).get("annotations") or {}).get(CANARY_OF_ANNOTATION) == stable_name


def set_image_patch(containers: list[Obj], container: str, image: str, change_cause: str) -> Obj:
    """The strategic merge patch `kubectl set image` sends (containers merge by name), plus the change-cause."""
    return {
        "metadata": {"annotations": {CHANGE_CAUSE_ANNOTATION: change_cause}},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": c.get("name")} for c in containers],
            "containers": [{"name": container, "image": image}],
        }}},
    }


def state_patch(state_json: str | None, resource_version: str | None) -> Obj:
    """A merge patch of the state annotation; with resourceVersion it fails (409) if the Deployment changed."""
    metadata: Obj = {"annotations": {STATE_ANNOTATION: state_json}}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    return {"metadata": metadata}
