"""Domain rules the repository applies to a write before it is stored.

Called by :meth:`GuardedRepository._write` in the writing transaction, after the
access checks on the current versions and before the store: a broken rule raises and
nothing of the write is kept.

* :func:`citizen_rules`: what a citizen or proxy may write (``access/citizen_writes.py``).
* :func:`workflow_rules`: the work-item rules on Tasks (``workflows/rules.py``), and the
  content before each write that starts workflows (for ``workflows/reactions.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fellesjournal.access import citizen_writes
from fellesjournal.access.actor import Actor
from fellesjournal.access.treating import treating_units
from fellesjournal.fhir import jsonio
from fellesjournal.service.context import RequestContext
from fellesjournal.store.base import StoredResource, WriteOp
from fellesjournal.store.sql import SqlTransaction
from fellesjournal.workflows import reactions, rules


def _content(stored: StoredResource | None) -> dict[str, Any] | None:
    if stored is None or stored.deleted or not stored.content:
        return None
    return dict(jsonio.loads(stored.content))


def citizen_rules(
    actor: Actor,
    tx: SqlTransaction,
    ops: list[WriteOp],
    currents: dict[int, StoredResource | None],
) -> None:
    """What a citizen or proxy writes (422 or 403 if not theirs to write); ``currents``
    holds the current version of each op by position (absent: a create)."""
    citizen = actor.citizen
    assert citizen is not None
    today = datetime.now(UTC).date()
    units: list[set[str]] = []

    def treating() -> set[str]:
        if not units:
            units.append(treating_units(tx, citizen.patient_id))
        return units[0]

    def patient_of(reference: str) -> str | None:
        res_type, res_id = reference.split("/", 1)
        stored = tx.read(res_type, res_id)
        return None if stored is None else stored.patient_id

    for i, op in enumerate(ops):
        before = _content(currents.get(i))
        citizen_writes.check(
            citizen,
            op.res_type,
            op.resource,
            before,
            today,
            treating=treating,
            patient_of=patient_of,
        )


def workflow_rules(
    ctx: RequestContext,
    tx: SqlTransaction,
    ops: list[WriteOp],
    currents: dict[int, StoredResource | None],
) -> dict[int, dict[str, Any] | None] | None:
    """Apply the work-item rules to the Tasks in ``ops`` (422 on a broken one) and
    return, by position, the content before each write that starts workflows (None
    when no write does)."""
    previous: dict[int, dict[str, Any] | None] | None = None
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for i, op in enumerate(ops):
        is_task = op.res_type == "Task"
        reacts = ctx.workflows and reactions.reacts_to(op.res_type)
        if not (is_task or reacts):
            continue
        if op.method == "POST":
            before = None
        else:
            before = _content(currents[i] if i in currents else tx.read(op.res_type, op.res_id))
        if is_task and op.resource is not None:
            rules.check_task(ctx.actor, op.resource, before, now)
        if reacts:
            previous = previous if previous is not None else {}
            previous[i] = before
    return previous
