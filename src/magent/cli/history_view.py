"""`magent history` from the store: the audit trail as a table, JSON or YAML."""

from __future__ import annotations

from typing import Any

from magent.core.errors import Unreachable


def show_audit_history(state: Any, fmt: Any, kube: Any, deployment: str, limit: int, *,
                       context: str | None = None, revisions_of: str = "the Deployment's revisions") -> None:
    """The trail of `deployment` in the kube's namespace; of one kubeconfig `context` if given, else of every one.

    `revisions_of` names what --revisions lists instead (an ECS service's are its task definition family's)."""
    from magent.cli.render import OutputFormat, emit, simple_table
    from magent.core.timeutil import isoformat_seconds
    from magent.workflows.deploy.history import audit_history

    try:
        records = audit_history(state.settings, kube.namespace, deployment, limit, context=context)
    except Unreachable as exc:
        raise Unreachable(exc.message, hint=f"{exc.hint}; `magent history -d {deployment} --revisions` needs only "
                                            f"the cluster") from None
    where = f"{kube.namespace}" + (f" (context {context})" if context else "")
    if not records:
        state.err.print(f"no deploy or rollback of {deployment} in {where} is recorded in the store yet; "
                        f"--revisions lists {revisions_of}", markup=False, highlight=False)
        if fmt is OutputFormat.table:  # an empty table says nothing more; -o json/yaml still print []
            return
    rows: list[tuple[Any, ...]] = [(isoformat_seconds(r["started_at"]) if r["started_at"] else "-", r["kind"], r["actor"],
             f"{r['previous_image']} → {r['image']}", r["outcome"], _analyses(r["analyses"]), r["reason"] or "-")
            for r in records]
    columns = ["started", "kind", "who", "image", "outcome", "analyses", "reason"]
    if context is None and any(r["context"] for r in records):  # several clusters may share this history
        rows = [(r["context"] or "-", *row) for r, row in zip(records, rows)]
        columns.insert(0, "context")
    emit(state, fmt, records, table=lambda: simple_table(
        f"deployment {kube.namespace}/{deployment}" + (f" in context {context}" if context else "")
        + " (audit trail, newest first)", columns, rows))


def _analyses(analyses: dict[str, Any]) -> str:
    """The counts only: the last analysis's summary (in -o json/yaml) repeats the reason of an abort, and beside
    it folded a terminal's row over a dozen lines."""
    if not analyses["count"]:
        return "-"
    counts = ", ".join(f"{analyses[v]} {v}" for v in ("pass", "fail", "inconclusive") if analyses[v])
    return f"{analyses['count']} ({counts})"
