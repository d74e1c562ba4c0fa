"""Attestations of manual preflight items: append-only rows; the latest per item is the one that counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from magent.core.preflight import Attestation

if TYPE_CHECKING:
    from magent.services.store import Store


def record(store: Store, *, checklist: str, item_id: str, item_hash: str, checklist_sha256: str,
           attested_by: str, note: str) -> Attestation:
    with store.connection() as conn:
        row = conn.execute(
            "INSERT INTO preflight_attestations (checklist, item_id, item_hash, checklist_sha256, attested_by, note)"
            " VALUES (%s, %s, %s, %s, %s, %s) RETURNING attested_at",
            (checklist, item_id, item_hash, checklist_sha256, attested_by, note),
        ).fetchone()
    return Attestation(item_id, item_hash, attested_by, note, row[0], checklist_sha256)


def latest(store: Store, checklist: str) -> dict[str, Attestation]:
    """The most recent attestation of each item of `checklist`."""
    with store.connection() as conn:
        rows = conn.execute(
            "SELECT DISTINCT ON (item_id) item_id, item_hash, attested_by, note, attested_at, checklist_sha256"
            " FROM preflight_attestations WHERE checklist = %s ORDER BY item_id, attested_at DESC, id DESC",
            (checklist,),
        ).fetchall()
    return {row[0]: Attestation(row[0], row[1], row[2], row[3], row[4], row[5]) for row in rows}
