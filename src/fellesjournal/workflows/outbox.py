"""The transactional outbox: what was sent, to whom, and whether a receipt came back.

One row per message and recipient (``store/schema.py`` ``outbox``), inserted by
:func:`enqueue` in the transaction of the clinical change that sends it, so a change is
never committed without its message nor a message without its change. States:

* ``queued``: written, not yet handed over (or handed over and to be tried again);
* ``sent``: handed to the receiver, who has not yet sent an application receipt;
* ``delivered``: the receipt came back (inside the shared record: the work item is in
  the receiving unit's queue, committed with this state);
* ``failed``: an error receipt, no address, or the retries ran out. A failure puts a
  work item in the sender unit's queue (``delivery-failure``).

Rows are never deleted. Only :mod:`fellesjournal.workflows.delivery` moves them; the
read functions here serve the sender's view, the dashboard and the reconciliation.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from fellesjournal.store.schema import outbox
from fellesjournal.store.sql import SqlTransaction

QUEUED: Final = "queued"
SENT: Final = "sent"
DELIVERED: Final = "delivered"
FAILED: Final = "failed"
STATES: Final = (QUEUED, SENT, DELIVERED, FAILED)


def now_us() -> int:
    return int(time.time() * 1_000_000)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One row of the outbox."""

    id: int
    message_id: str
    kind: str
    sender: str
    recipient: str
    patient_id: str | None
    focus: str
    state: str
    attempts: int
    created: int
    updated: int
    next_attempt: int
    sent: int | None
    delivered: int | None
    last_error: str | None
    receipt: str | None

    @property
    def focus_ref(self) -> tuple[str, str, int | None]:
        """``(type, id, version)`` of the focus (``Type/id`` or ``Type/id/_history/v``)."""
        parts = self.focus.split("/")
        version = int(parts[3]) if len(parts) == 4 and parts[3].isdigit() else None
        return parts[0], parts[1], version


_COLUMNS = tuple(c.name for c in outbox.columns)


def _item(row: Any) -> OutboxItem:
    return OutboxItem(**dict(zip(_COLUMNS, row, strict=True)))


def enqueue(
    tx: SqlTransaction,
    *,
    kind: str,
    sender: str,
    recipient: str,
    patient_id: str | None,
    focus: str,
    at: int | None = None,
) -> str:
    """Queue one message in ``tx``; its message id (the FHIR MessageHeader id)."""
    at = at or now_us()
    message_id = str(uuid.uuid4())
    tx.execute(
        outbox.insert().values(
            message_id=message_id,
            kind=kind,
            sender=sender,
            recipient=recipient,
            patient_id=patient_id,
            focus=focus,
            state=QUEUED,
            attempts=0,
            created=at,
            updated=at,
            next_attempt=at,
        )
    )
    return message_id


def due(tx: SqlTransaction, at: int, limit: int) -> list[OutboxItem]:
    """Rows to work on now: queued ones whose next attempt has come, and sent ones whose
    receipt deadline (kept in ``next_attempt``) has passed; oldest first."""
    rows = tx.execute(
        sa.select(*outbox.columns)
        .where(outbox.c.state.in_((QUEUED, SENT)), outbox.c.next_attempt <= at)
        .order_by(outbox.c.next_attempt, outbox.c.id)
        .limit(limit)
    )
    return [_item(r) for r in rows]


def claim(tx: SqlTransaction, item: OutboxItem, lease_until: int) -> bool:
    """Take ``item`` for this worker (another process may have taken it meanwhile)."""
    result = tx.execute(
        outbox.update()
        .where(
            outbox.c.id == item.id,
            outbox.c.state == item.state,
            outbox.c.next_attempt == item.next_attempt,
        )
        .values(next_attempt=lease_until)
    )
    return bool(result.rowcount == 1)


def claim_due(tx: SqlTransaction, at: int, limit: int, lease_until: int) -> list[OutboxItem]:
    """Take the due rows (:func:`due`, at most ``limit``) for this worker until
    ``lease_until``; the rows taken (another process may have taken some meanwhile: on
    PostgreSQL its update holds them, and ours finds them no longer due)."""
    found = due(tx, at, limit)
    if not found:
        return []
    ids = [item.id for item in found]
    tx.execute(
        outbox.update()
        .where(
            outbox.c.id.in_(ids),
            outbox.c.state.in_((QUEUED, SENT)),
            outbox.c.next_attempt <= at,
        )
        .values(next_attempt=lease_until)
    )
    taken = {
        row[0]
        for row in tx.execute(
            sa.select(outbox.c.id).where(outbox.c.id.in_(ids), outbox.c.next_attempt == lease_until)
        )
    }
    return [item for item in found if item.id in taken]


def update(
    tx: SqlTransaction, item_id: int, *, expect: tuple[str, int] | None = None, **values: Any
) -> bool:
    """Set ``values`` on row ``item_id``; with ``expect`` (state, next attempt) only while
    the row is still in that state and lease (a receipt that came in meanwhile wins).
    Whether the row was updated."""
    values.setdefault("updated", now_us())
    query = outbox.update().where(outbox.c.id == item_id)
    if expect is not None:
        query = query.where(outbox.c.state == expect[0], outbox.c.next_attempt == expect[1])
    return bool(tx.execute(query.values(**values)).rowcount == 1)


def lock_many(tx: SqlTransaction, ids: list[int]) -> dict[int, tuple[str, int]]:
    """``id -> (state, next_attempt)`` of rows ``ids``, locked until ``tx`` ends."""
    rows = tx.execute(
        sa.select(outbox.c.id, outbox.c.state, outbox.c.next_attempt)
        .where(outbox.c.id.in_(ids))
        .with_for_update()
    )
    return {int(r[0]): (str(r[1]), int(r[2])) for r in rows}


def mark_delivered(
    tx: SqlTransaction, receipts: list[tuple[OutboxItem, str]], at: int, lease: int
) -> int:
    """Set rows delivered at ``at`` with their receipts (JSON), in one statement, each
    only while still in its state and ``lease``; how many were."""
    if not receipts:
        return 0
    stmt = (
        outbox.update()
        .where(
            outbox.c.id == sa.bindparam("b_id"),
            outbox.c.state == sa.bindparam("b_state"),
            outbox.c.next_attempt == lease,
        )
        .values(
            state=DELIVERED,
            attempts=sa.bindparam("b_attempts"),
            sent=sa.bindparam("b_sent"),
            delivered=at,
            receipt=sa.bindparam("b_receipt"),
            last_error=None,
            updated=now_us(),
        )
    )
    params = [
        {
            "b_id": item.id,
            "b_state": item.state,
            "b_attempts": item.attempts + 1,
            "b_sent": item.sent or at,
            "b_receipt": receipt,
        }
        for item, receipt in receipts
    ]
    count = tx.conn.execute(stmt, params).rowcount
    return int(count) if count is not None and count >= 0 else len(receipts)


def by_message_id(tx: SqlTransaction, message_id: str, *, lock: bool = False) -> OutboxItem | None:
    """The row of ``message_id``; ``lock``: locked until ``tx`` ends (PostgreSQL; SQLite
    has one writer), so that the state read is the state updated."""
    query = sa.select(*outbox.columns).where(outbox.c.message_id == message_id)
    row = tx.execute(query.with_for_update() if lock else query).first()
    return _item(row) if row is not None else None


def lock(tx: SqlTransaction, item_id: int) -> OutboxItem | None:
    """Row ``item_id``, locked until ``tx`` ends (see :func:`by_message_id`)."""
    row = tx.execute(
        sa.select(*outbox.columns).where(outbox.c.id == item_id).with_for_update()
    ).first()
    return _item(row) if row is not None else None


def items(
    tx: SqlTransaction,
    *,
    sender: str | None = None,
    recipient: str | None = None,
    patient_id: str | None = None,
    focus_prefix: str | None = None,
    states: Iterable[str] | None = None,
    created_from: int | None = None,
    created_to: int | None = None,
    limit: int = 500,
) -> list[OutboxItem]:
    """Rows by sender, recipient, patient, focus or state; newest first."""
    query = sa.select(*outbox.columns)
    if sender is not None:
        query = query.where(outbox.c.sender == sender)
    if recipient is not None:
        query = query.where(outbox.c.recipient == recipient)
    if patient_id is not None:
        query = query.where(outbox.c.patient_id == patient_id)
    if focus_prefix is not None:
        query = query.where(outbox.c.focus.startswith(focus_prefix, autoescape=True))
    if states is not None:
        query = query.where(outbox.c.state.in_(tuple(states)))
    if created_from is not None:
        query = query.where(outbox.c.created >= created_from)
    if created_to is not None:
        query = query.where(outbox.c.created < created_to)
    rows = tx.execute(query.order_by(outbox.c.id.desc()).limit(limit))
    return [_item(r) for r in rows]


def counts_by_sender(tx: SqlTransaction) -> dict[tuple[str, str], int]:
    """``(sender, state) -> rows``: for the dashboard."""
    rows = tx.execute(
        sa.select(outbox.c.sender, outbox.c.state, sa.func.count()).group_by(
            outbox.c.sender, outbox.c.state
        )
    )
    return {(r[0], r[1]): int(r[2]) for r in rows}
