"""``Patient/[id]/$everything``: the patient compartment plus what it references.

https://hl7.org/fhir/R4/patient-operation-everything.html. The compartment is every
resource whose ``patient_id`` column names the patient (set at write time from the
CompartmentDefinition's parameters); referenced resources outside it (practitioners,
organisations, locations, medications) are added once. ``start``/``end`` limit
clinical resources by their clinical date where they have one, ``_since`` by
``lastUpdated``. Paged by ``_count`` and an offset over a stable order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from fellesjournal.fhir.errors import bad_request
from fellesjournal.fhir.instants import instant_param
from fellesjournal.search.normalize import date_range
from fellesjournal.store import schema
from fellesjournal.store.base import StoredResource
from fellesjournal.store.sql import SqlTransaction

R = schema.resources
REF = schema.idx_reference
D = schema.idx_date

_CLINICAL_DATE_PARAMS = (
    "date",
    "onset-date",
    "authored",
    "period",
    "recorded-date",
    "effective",
    "issued",
    "created",
    "occurrence",
)


@dataclass
class EverythingPage:
    entries: list[StoredResource]
    total: int
    has_more: bool


def everything(
    tx: SqlTransaction,
    patient_id: str,
    *,
    since: str | None,
    start: str | None,
    end: str | None,
    count: int | None,
    offset: int,
    restrict: Any | None = None,
) -> EverythingPage:
    """One page of the compartment and what it references; ``restrict`` (the access
    policy's clause on ``resources``) applies to both."""
    conds: list[Any] = [R.c.patient_id == patient_id, R.c.deleted.is_(False)]
    if restrict is not None:
        conds.append(restrict)
    if since:
        conds.append(R.c.last_updated >= instant_param("_since", since))
    if start or end:
        low = _range("start", start)[0] if start else None
        high = _range("end", end)[1] if end else None
        window: list[Any] = [D.c.param.in_(_CLINICAL_DATE_PARAMS)]
        if low is not None:
            window.append(D.c.high > low)
        if high is not None:
            window.append(D.c.low < high)
        dated = sa.select(D.c.res_id).where(D.c.res_type == R.c.res_type, *window)
        has_date = sa.select(D.c.res_id).where(
            D.c.res_type == R.c.res_type,
            D.c.res_id == R.c.res_id,
            D.c.param.in_(_CLINICAL_DATE_PARAMS),
        )
        conds.append(
            sa.or_(
                R.c.res_type == "Patient",
                ~sa.exists(has_date),
                R.c.res_id.in_(dated.where(D.c.res_id == R.c.res_id)),
            )
        )
    cols = (R.c.res_type, R.c.res_id, R.c.version, R.c.last_updated, R.c.content, R.c.patient_id)
    compartment = sa.select(*cols).where(*conds)
    in_comp = sa.select(R.c.res_type, R.c.res_id).where(*conds).subquery()
    referenced_keys = (
        sa.select(REF.c.target_type, REF.c.target_id)
        .distinct()
        .join(
            in_comp, sa.and_(REF.c.res_type == in_comp.c.res_type, REF.c.res_id == in_comp.c.res_id)
        )
        .where(REF.c.target_type.is_not(None), REF.c.target_id.is_not(None))
        .subquery()
    )
    referenced = (
        sa.select(*cols)
        .join(
            referenced_keys,
            sa.and_(
                R.c.res_type == referenced_keys.c.target_type,
                R.c.res_id == referenced_keys.c.target_id,
            ),
        )
        .where(
            R.c.deleted.is_(False),
            sa.or_(R.c.patient_id.is_(None), R.c.patient_id != patient_id),
            *([restrict] if restrict is not None else []),
        )
    )
    union = sa.union_all(compartment, referenced).subquery()
    ordered = sa.select(union).order_by(
        sa.case((union.c.res_type == "Patient", 0), else_=1), union.c.res_type, union.c.res_id
    )
    if count is not None:
        ordered = ordered.limit(count + 1).offset(offset)
    rows = tx.execute(ordered).all()
    has_more = count is not None and len(rows) > count
    if count is not None:
        rows = rows[:count]
    entries = [StoredResource(r[0], r[1], r[2], r[3], False, r[4], patient_id=r[5]) for r in rows]
    if count is None or (offset == 0 and not has_more):
        total = len(entries)
    else:
        total = int(tx.execute(sa.select(sa.func.count()).select_from(union)).scalar_one())
    return EverythingPage(entries, total, has_more)


def _range(name: str, value: str) -> tuple[int, int]:
    try:
        return date_range(value)
    except ValueError:
        raise bad_request(f"{name} must be a date, not '{value}'", name) from None
