"""Who points at a resource, and every current resource of a type: queries for the MPI.

Used through :class:`~fellesjournal.service.repository.GuardedRepository` only
(``referencing`` and ``scan``), which decides access first.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa

from fellesjournal.store import schema
from fellesjournal.store.base import StoredResource
from fellesjournal.store.sql import SqlTransaction

R = schema.resources
REF = schema.idx_reference


def referencing(tx: SqlTransaction, res_type: str, res_id: str) -> list[tuple[str, str]]:
    """``(type, id)`` of current resources that reference ``res_type/res_id``.

    Found through the reference index (every reference a search parameter covers, which
    includes every link of the patient compartment) and, for a Patient, the compartment
    column. Sorted, without the resource itself.
    """
    by_index = (
        sa.select(REF.c.res_type, REF.c.res_id)
        .where(REF.c.target_type == res_type, REF.c.target_id == res_id)
        .distinct()
    )
    keys = {(r[0], r[1]) for r in tx.execute(by_index)}
    if res_type == "Patient":
        by_compartment = sa.select(R.c.res_type, R.c.res_id).where(
            R.c.patient_id == res_id, R.c.deleted.is_(False)
        )
        keys.update((r[0], r[1]) for r in tx.execute(by_compartment))
    keys.discard((res_type, res_id))
    return sorted(keys)


def compartment_counts(tx: SqlTransaction, patient_id: str) -> dict[str, int]:
    """How many current resources of each type are in the patient's compartment."""
    stmt = (
        sa.select(R.c.res_type, sa.func.count())
        .where(R.c.patient_id == patient_id, R.c.deleted.is_(False))
        .group_by(R.c.res_type)
    )
    return {r[0]: int(r[1]) for r in tx.execute(stmt)}


def scan(tx: SqlTransaction, res_type: str, batch: int = 2000) -> Iterator[StoredResource]:
    """Every current resource of ``res_type``, in id order, fetched ``batch`` at a time.

    Keyset paging, so a scan of 100,000 patients costs the same per row throughout.
    """
    cols = (R.c.res_id, R.c.version, R.c.last_updated, R.c.content, R.c.patient_id)
    after = ""
    while True:
        stmt = (
            sa.select(*cols)
            .where(R.c.res_type == res_type, R.c.deleted.is_(False), R.c.res_id > after)
            .order_by(R.c.res_id)
            .limit(batch)
        )
        rows = tx.execute(stmt).all()
        for r in rows:
            yield StoredResource(res_type, r[0], r[1], r[2], False, r[3], patient_id=r[4])
        if len(rows) < batch:
            return
        after = rows[-1][0]
