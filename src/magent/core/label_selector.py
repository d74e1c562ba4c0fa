"""The string form of a Kubernetes LabelSelector, shared by the services (list queries) and the simulator
(a Scale's `status.selector`, `kubectl get -o wide`): `app=web,track in (canary,stable),!legacy`."""

from __future__ import annotations

from typing import Any


def selector_string(selector: dict[str, Any] | None) -> str:
    """matchLabels then matchExpressions, values sorted as the API server writes them; empty selects all."""
    selector = selector or {}
    terms = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator in ("In", "NotIn"):
            terms.append(f"{key} {operator.lower()} ({','.join(sorted(values))})")
        elif operator == "Exists":
            terms.append(key)
        elif operator == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms)
