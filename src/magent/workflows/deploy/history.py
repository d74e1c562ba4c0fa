"""`magent history` from the store: the deploys, rollbacks and key rotations of one Deployment, newest first.

Read from the audit trail workflows/deploy/audit.py writes (deployments, deployment_events): who, when, which
image over which, the outcome and its reason, and what the analyses said. Each entry names its kubeconfig context
(since migration 0009_deploy_context; NULL before it, and on ECS): with a context, only that cluster's entries;
without, every cluster's (and the older entries), each naming its context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from magent.core.timeutil import isoformat

if TYPE_CHECKING:
    from magent.core.config import Settings

_TRAIL = """
SELECT d.id, d.context, d.started_at, d.finished_at, d.actor, d.image, d.previous_image, d.outcome, d.reason,
       (SELECT payload->>'deploy_id' FROM deployment_events s
         WHERE s.deployment_id = d.id AND s.payload ? 'deploy_id' ORDER BY s.id LIMIT 1) AS deploy_id,
       (SELECT bool_or(s.kind LIKE 'rollback%%') FROM deployment_events s WHERE s.deployment_id = d.id) AS rollback,
       count(a.id) AS analyses,
       count(a.id) FILTER (WHERE a.payload->>'verdict' = 'pass') AS passed,
       count(a.id) FILTER (WHERE a.payload->>'verdict' = 'fail') AS failed,
       count(a.id) FILTER (WHERE a.payload->>'verdict' = 'inconclusive') AS inconclusive,
       (SELECT payload->>'summary' FROM deployment_events s
         WHERE s.deployment_id = d.id AND s.kind = 'analysis' ORDER BY s.at DESC, s.id DESC LIMIT 1) AS last
FROM deployments d
LEFT JOIN deployment_events a ON a.deployment_id = d.id AND a.kind = 'analysis'
WHERE d.namespace = %(namespace)s AND d.deployment = %(deployment)s
  AND (%(context)s::text IS NULL OR d.context = %(context)s)
GROUP BY d.id
ORDER BY d.started_at DESC, d.id DESC
LIMIT %(limit)s
"""


def audit_history(settings: Settings, namespace: str, deployment: str, limit: int = 20, *,
                  context: str | None = None) -> list[dict[str, Any]]:
    """The newest `limit` entries of the trail, of one kubeconfig `context` if given, else of every one (and the
    entries recorded without one); Unreachable (exit 3) when the configured store cannot be opened."""
    from magent.services.store import open_store

    store = open_store(settings.store)  # connection errors are Unreachable (exit 3), password masked
    try:
        with store.connection() as conn:
            rows = conn.execute(_TRAIL, {"namespace": namespace, "deployment": deployment, "context": context,
                                         "limit": limit}).fetchall()
    finally:
        store.close()
    return [_record(row) for row in rows]


def _record(row: tuple) -> dict[str, Any]:
    (_id, context, started, finished, actor, image, previous, outcome, reason, deploy_id, rollback,
     analyses, passed, failed, inconclusive, last) = row
    return {
        "kind": _kind(image, outcome, bool(rollback)),
        "context": context,
        "deploy_id": deploy_id,
        "started_at": isoformat(started) if started else None,
        "finished_at": isoformat(finished) if finished else None,
        "actor": actor,
        "image": image,
        "previous_image": previous,
        # a trail without an outcome: the process was killed, or is still running
        "outcome": outcome or "unfinished",
        "reason": reason,
        "analyses": {"count": analyses, "pass": passed, "fail": failed, "inconclusive": inconclusive, "last": last},
    }


def _kind(image: str | None, outcome: str | None, rollback: bool) -> str:
    if (image or "").startswith("mistral-key ") or (outcome or "").startswith("key_"):
        return "key_rotation"
    if rollback or outcome in ("rolled_back", "rollback_failed"):
        return "rollback"
    return "deploy"
