"""Records without a patient: who may see a result, a work item, a note with no subject.

A resource of a record type (one that belongs in a Patient compartment) whose patient is
unknown — a lab result that came in without a subject, or naming nobody stored, and its
unmatched-result work item — is patient data all the same: its text may name the
person. It is not visible to everyone, as organisations and code systems are: only to
system clients and to the unit that owns a work item for it (the Task itself, or one
whose ``focus`` is the resource): the unit whose queue holds it, so it can match it.
Citizens never see one (it is nobody's own record yet).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa

from fellesjournal.access.context import WorkContext
from fellesjournal.store.schema import idx_reference


@cache
def record_types() -> tuple[str, ...]:
    """Every resource type that belongs in a Patient compartment (and Patient)."""
    from fellesjournal.search.registry import load_registry

    registry = load_registry()
    return tuple(
        sorted(
            t for t in registry.resource_types if t == "Patient" or registry.patient_compartment(t)
        )
    )


def _owned_tasks(work: WorkContext) -> Any:
    own = idx_reference.alias("orphan_owner")
    return sa.select(own.c.res_id).where(
        own.c.res_type == "Task",
        own.c.param == "owner",
        own.c.target_type == "Organization",
        own.c.target_id == work.unit_id,
    ), own


def clause(work: WorkContext, table: sa.Table) -> Any:
    """SQL over ``table``: patient-less record rows the worker's unit holds a work item for."""
    owned, own = _owned_tasks(work)
    focus = idx_reference.alias("orphan_focus")
    own_task = sa.and_(
        table.c.res_type == "Task",
        sa.exists(owned.where(own.c.res_id == table.c.res_id)),
    )
    focused = sa.exists(
        sa.select(focus.c.res_id).where(
            focus.c.res_type == "Task",
            focus.c.param == "focus",
            focus.c.target_type == table.c.res_type,
            focus.c.target_id == table.c.res_id,
            focus.c.res_id.in_(owned),
        )
    )
    return sa.and_(
        table.c.patient_id.is_(None),
        table.c.res_type.in_(record_types()),
        sa.or_(own_task, focused),
    )


def not_patient_data(table: sa.Table) -> Any:
    """SQL over ``table``: rows that are nobody's record (organisations, terminology...)."""
    return sa.and_(
        table.c.patient_id.is_(None),
        table.c.res_type.not_in(record_types()),
        table.c.res_type != "AuditEvent",
    )
