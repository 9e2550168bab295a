"""A patient's chart read as a whole: the SQL behind ``GuardedRepository.chart`` and
``GuardedRepository.chart_newest``.

A page that shows a whole chart (the workspace's patient overview) needs a few lists
of one record, not a search over the database: so the rows are found through the index
on (``patient_id``, ``res_type``), and the repository judges each one as a read by id is.
Nothing here filters by access; nothing here is called but by the repository.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from fellesjournal.store import schema
from fellesjournal.store.base import StoredResource
from fellesjournal.store.sql import SqlTransaction

R = schema.resources
TOK = schema.idx_token
D = schema.idx_date


def compartment_rows(
    tx: SqlTransaction, patient_id: str, types: Iterable[str]
) -> list[StoredResource]:
    """The current resources of ``types`` whose ``patient_id`` names the patient."""
    cols = (R.c.res_type, R.c.res_id, R.c.version, R.c.last_updated, R.c.content)
    query = sa.select(*cols).where(
        R.c.patient_id == patient_id, R.c.res_type.in_(sorted(set(types))), R.c.deleted.is_(False)
    )
    return [
        StoredResource(r[0], r[1], r[2], r[3], False, r[4], patient_id=patient_id)
        for r in tx.execute(query)
    ]


def rows_by_id(
    tx: SqlTransaction, patient_id: str, res_type: str, ids: Iterable[str]
) -> list[StoredResource]:
    """The current resources of ``res_type`` with these ids in the patient's record."""
    cols = (R.c.res_type, R.c.res_id, R.c.version, R.c.last_updated, R.c.content)
    query = sa.select(*cols).where(
        R.c.res_type == res_type,
        R.c.res_id.in_(sorted(set(ids))),
        R.c.patient_id == patient_id,
        R.c.deleted.is_(False),
    )
    return [
        StoredResource(r[0], r[1], r[2], r[3], False, r[4], patient_id=patient_id)
        for r in tx.execute(query)
    ]


def newest_by_code(
    tx: SqlTransaction,
    patient_id: str,
    res_type: str,
    token_param: str,
    codes: Iterable[str],
    date_param: str,
) -> dict[str, list[str]]:
    """Per code of ``token_param``, the ids of the patient's current resources of
    ``res_type`` that carry it, newest first by ``date_param`` (undated last).

    From the index tables, without reading a resource. The index rows are looked up per
    resource by their owner index: SQLite, with no statistics to go by, otherwise walks
    the lookup indexes (every such resource of the database) for each row, 0.5 s for
    a record of 2,000 Observations in a database of 300 patients.
    """
    wanted = sorted(set(codes))
    params: dict[str, Any] = {
        "patient_id": patient_id,
        "res_type": res_type,
        "token_param": token_param,
        "codes": wanted,
        "date_param": date_param,
        "deleted": False,
    }
    found: dict[str, dict[str, int]] = {c: {} for c in wanted}
    for res_id, value, low in tx.execute(_NEWEST[tx.dialect], params):
        found[value][res_id] = low if low is not None else _UNDATED
    return {
        c: sorted(items, key=lambda i: (items[i], i), reverse=True) for c, items in found.items()
    }


#: Sorts after every dated resource, newest first.
_UNDATED = -(2**62)

# Text, not an expression: SQLAlchemy renders no index hints for SQLite. ``CROSS JOIN``
# makes SQLite start from the patient's rows; PostgreSQL plans by its statistics.
_NEWEST_SQL = """
SELECT r.res_id, t.code,
       (SELECT max(d.low) FROM idx_date AS d {date_hint}
         WHERE d.res_type = :res_type AND d.res_id = r.res_id AND d.param = :date_param)
FROM resources AS r CROSS JOIN idx_token AS t {token_hint}
WHERE r.patient_id = :patient_id AND r.res_type = :res_type AND r.deleted = :deleted
  AND t.res_type = r.res_type AND t.res_id = r.res_id AND t.param = :token_param
  AND t.code IN :codes
"""
_NEWEST = {
    dialect: sa.text(
        _NEWEST_SQL.format(
            date_hint="INDEXED BY ix_idx_date_owner" if dialect == "sqlite" else "",
            token_hint="INDEXED BY ix_idx_token_owner" if dialect == "sqlite" else "",
        )
    ).bindparams(sa.bindparam("codes", expanding=True))
    for dialect in ("sqlite", "postgresql")
}
