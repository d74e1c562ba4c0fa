"""Label and field selectors, in the string syntax of `?labelSelector=` and as `LabelSelector` objects.

Label selectors: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, comma-separated (AND).
Field selectors: `path=value`, `path==value`, `path!=value` on dotted paths such as `metadata.name`,
`status.phase` or `involvedObject.name`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from magent.core.label_selector import selector_string as selector_string  # one builder, shared with services
from magent.sandbox.kube.errors import bad_request

Matcher = Callable[[dict[str, Any]], bool]

_SET_TERM = re.compile(r"^\s*(!?)\s*([A-Za-z0-9._/-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")
_EQ_TERM = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")


def _split_terms(selector: str) -> list[str]:
    """Split on commas outside parentheses (`a in (x,y),b=c` has two terms)."""
    terms, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t for t in terms if t.strip()]


def _label_term(term: str) -> Callable[[dict[str, str]], bool]:
    eq = _EQ_TERM.match(term)
    if eq:
        key, op, value = eq.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    match = _SET_TERM.match(term)
    if not match:
        raise bad_request(f"unable to parse requirement: invalid label selector term {term.strip()!r}")
    negate, key, op, values = match.groups()
    if op is None:
        return (lambda labels: key not in labels) if negate else (lambda labels: key in labels)
    if negate:
        raise bad_request(f"unable to parse requirement: {term.strip()!r}")
    choices = {v.strip() for v in values.split(",") if v.strip()}
    if op == "in":
        return lambda labels: labels.get(key) in choices
    return lambda labels: labels.get(key) not in choices


def parse_label_selector(selector: str | None) -> Callable[[dict[str, str]], bool]:
    """A predicate over a labels dict; an empty selector matches everything."""
    if not selector:
        return lambda labels: True
    checks = [_label_term(term) for term in _split_terms(selector)]
    return lambda labels: all(check(labels) for check in checks)


_FIELD_ALIASES = {"source": "source.component"}  # an Event's `source` label is its component


def _field_value(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in _FIELD_ALIASES.get(path, path).split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_EVENT_FIELDS = frozenset({
    *(f"involvedObject.{f}" for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion",
                                      "fieldPath")),
    "reason", "reportingComponent", "source", "type"})

# The field labels each kind's registry serves (k8s.io/kubernetes pkg/registry/*/strategy.go); any other
# label is a 400 there, so a client relying on one fails here too instead of getting a silently empty list.
SERVED_FIELDS: dict[str, frozenset[str]] = {
    "Pod": frozenset({"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                      "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"}),
    "Event": _EVENT_FIELDS,
    "Secret": frozenset({"type"}),
    "Namespace": frozenset({"status.phase"}),
    "Node": frozenset({"spec.unschedulable"}),
    "ReplicaSet": frozenset({"status.replicas"}),
    "ReplicationController": frozenset({"status.replicas"}),
    "Job": frozenset({"status.successful"}),
}
_ALWAYS_SERVED = frozenset({"metadata.name", "metadata.namespace"})


def parse_field_selector(selector: str | None, kind: str | None = None) -> Matcher:
    """A predicate over a whole object for `?fieldSelector=`; with `kind`, only the labels its registry serves."""
    if not selector:
        return lambda obj: True
    checks: list[Matcher] = []
    for term in _split_terms(selector):
        match = re.match(r"^\s*([A-Za-z0-9._]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not match:
            raise bad_request(f"invalid field selector: {term.strip()!r}")
        path, op, value = match.groups()
        if kind is not None and path not in _ALWAYS_SERVED | SERVED_FIELDS.get(kind, frozenset()):
            raise bad_request(f"field label not supported: {path}")
        if op == "!=":
            checks.append(lambda obj, p=path, v=value: _field_value(obj, p) != v)
        else:
            checks.append(lambda obj, p=path, v=value: _field_value(obj, p) == v)
    return lambda obj: all(check(obj) for check in checks)


def object_matcher(label_selector: str | None, field_selector: str | None, kind: str | None = None) -> Matcher:
    labels = parse_label_selector(label_selector)
    fields = parse_field_selector(field_selector, kind)
    return lambda obj: labels(obj.get("metadata", {}).get("labels") or {}) and fields(obj)


def _expression_matches(expression: dict[str, Any], labels: dict[str, str]) -> bool:
    key, op, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return False


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    """Does a `LabelSelector` object (matchLabels / matchExpressions) select these labels? Empty selects all."""
    labels = labels or {}
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_expression_matches(e, labels) for e in selector.get("matchExpressions") or [])
