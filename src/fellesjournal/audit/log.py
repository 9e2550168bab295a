"""The audit log: AuditEvents appended to a hash chain in the caller's transaction.

Every row hashes the one before (``chain.py``), and ``audit_head`` holds the last seq
and hash. :func:`append` runs inside the transaction of what it records, so the record
and the change (or read) commit or fail together; the database refuses UPDATE and DELETE
on the log (triggers, migration 0003). :func:`~fellesjournal.audit.verify.verify`
checks the whole chain.

Appenders are serialised by the head row: PostgreSQL locks it (``SELECT ... FOR
UPDATE``) until the appending transaction ends; SQLite has one writer anyway. So seqs
are gapless and in commit order, at the price that audited transactions on PostgreSQL
pass the append one at a time, holding the lock from the append to their commit. Call
:func:`append` as the last statement before the commit to keep that window short, and
record reads, which have nothing to commit with, through ``sink.AuditSink``, which puts
many reads' events in one transaction.

Read back, an event's ``id`` is its seq.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from fellesjournal.audit.chain import canonical_content, row_hash
from fellesjournal.audit.fields import fields_of, normalise_instant
from fellesjournal.store import schema
from fellesjournal.store.sql import SqlTransaction

_L = schema.audit_log
_COLUMNS = (
    "seq",
    "recorded",
    "patient_id",
    "agent",
    "action",
    "outcome",
    "content",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One row of the log, its AuditEvent still as the stored text."""

    seq: int
    recorded: str
    patient_id: str | None
    agent: str
    action: str
    outcome: str
    content: str

    def event(self) -> dict[str, Any]:
        """The AuditEvent, its ``id`` the seq."""
        return _with_id(self.seq, self.content)


@dataclass(frozen=True, slots=True)
class PreparedEvent:
    """An AuditEvent ready for the chain: its row's columns and its stored text."""

    recorded: str
    patient_id: str | None
    agent: str
    action: str
    outcome: str
    content: str


def prepare(events: Sequence[dict[str, Any]]) -> list[PreparedEvent]:
    """Read the row columns off ``events`` and serialise them (no database work).

    A missing ``recorded`` is set to now, on the caller's dict too, so the stored event
    and its row agree. Raises ValueError for a ``recorded`` that is not an instant.
    """
    out = []
    for event in events:
        if not event.get("recorded"):
            event["recorded"] = normalise_instant(datetime.datetime.now(datetime.UTC))
        f = fields_of(event)
        content = canonical_content(event)
        out.append(PreparedEvent(f.recorded, f.patient_id, f.agent, f.action, f.outcome, content))
    return out


def append(tx: SqlTransaction, events: Sequence[dict[str, Any]]) -> list[int]:
    """Append AuditEvents to the log in ``tx``; return their seqs, in order.

    The events are stored as given (see :func:`prepare`), their row's columns read off
    them (``fields.py``). ``tx`` must be a write transaction (PostgreSQL: at the default
    READ COMMITTED, where the locked head row is read as last committed). Raises
    ValueError for an event without a valid ``recorded`` instant, RuntimeError in a
    read-only transaction.
    """
    return append_prepared(tx, prepare(events))


def append_prepared(tx: SqlTransaction, prepared: Sequence[PreparedEvent]) -> list[int]:
    """:func:`append` for events already through :func:`prepare`.

    Three statements per call, whatever the number of events: read the head (locking
    it on PostgreSQL until ``tx`` ends), insert the rows, move the head (the last two
    in one round trip on PostgreSQL).
    """
    if not prepared:
        return []
    if tx.read_only:
        raise RuntimeError("the audit log is written in a write transaction, not a snapshot")
    return append_on(tx.conn.connection.driver_connection, tx.dialect, prepared)


def append_on(driver: Any, dialect: str, prepared: Sequence[PreparedEvent]) -> list[int]:
    """:func:`append_prepared` on a DB-API connection (sqlite3 or psycopg) that is in a
    write transaction: the audit sink's own connection, or a transaction's."""
    if not prepared:
        return []
    sql = _SQL[dialect]
    cursor: Any = driver.cursor()
    cursor.execute(sql["head"])
    first_seq, prev = cursor.fetchone()
    rows = []
    seq = first_seq
    for p in prepared:
        seq += 1
        digest = row_hash(
            prev, seq, p.recorded, p.patient_id, p.agent, p.action, p.outcome, p.content
        )
        rows.append(
            (seq, p.recorded, p.patient_id, p.agent, p.action, p.outcome, p.content, prev, digest)
        )
        prev = digest
    # Not executemany (measured: most of the writer's time): on PostgreSQL COPY, on
    # SQLite multi-row INSERTs, since sqlite3 gives up and retakes the GIL around every
    # row of an executemany, each retake waiting for the request threads. (The head
    # moves in a statement of its own: its trigger must see the rows, which a
    # data-modifying WITH would hide from it.)
    if dialect == "postgresql":
        with cursor.copy(_PG_COPY) as copy:
            for row in rows:
                copy.write_row(row)
    else:
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[start : start + _ROWS_PER_INSERT]
            cursor.execute(_sqlite_insert(len(chunk)), [v for row in chunk for v in row])
    cursor.execute(sql["move_head"], (seq, prev))
    cursor.close()
    return list(range(first_seq + 1, seq + 1))


def head(tx: SqlTransaction) -> tuple[int, str]:
    """The last seq and hash of the log as ``audit_head`` records them ((0, GENESIS) empty)."""
    row = tx.execute(sa.select(schema.audit_head.c.seq, schema.audit_head.c.hash)).one()
    return int(row[0]), str(row[1])


def read_event(tx: SqlTransaction, seq: int) -> dict[str, Any] | None:
    """One AuditEvent by seq (its ``id``), or None."""
    content = tx.execute(sa.select(_L.c.content).where(_L.c.seq == seq)).scalar()
    return None if content is None else _with_id(seq, content)


def events_for_patient(
    tx: SqlTransaction,
    patient_id: str | Sequence[str],
    *,
    since: str | None = None,
    count: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The AuditEvents about a patient, newest first, ``count`` from ``offset``.

    ``patient_id`` may name several ids (a record merged from several Patients).
    ``since`` (an instant) keeps events recorded at or after it. Each event's ``id`` is
    its seq.
    """
    stmt = (
        sa.select(_L.c.seq, _L.c.content)
        .where(*_patient_filter(patient_id, since))
        .order_by(_L.c.seq.desc())
        .limit(count)
        .offset(offset)
    )
    return [_with_id(seq, content) for seq, content in tx.execute(stmt)]


def latest_by_agent(
    tx: SqlTransaction, patient_id: str | Sequence[str], *, limit: int = 200
) -> list[dict[str, Any]]:
    """The newest AuditEvent of each agent (``agent`` column: the requestor's reference)
    about a patient, newest first, at most ``limit``: who has acted on the record, without
    reading every event."""
    latest = (
        sa.select(sa.func.max(_L.c.seq))
        .where(*_patient_filter(patient_id, None))
        .group_by(_L.c.agent)
        .scalar_subquery()
    )
    stmt = (
        sa.select(_L.c.seq, _L.c.content)
        .where(_L.c.seq.in_(latest))
        .order_by(_L.c.seq.desc())
        .limit(limit)
    )
    return [_with_id(seq, content) for seq, content in tx.execute(stmt)]


def count_for_patient(
    tx: SqlTransaction, patient_id: str | Sequence[str], *, since: str | None = None
) -> int:
    """How many events :func:`events_for_patient` would page through."""
    stmt = sa.select(sa.func.count()).select_from(_L).where(*_patient_filter(patient_id, since))
    return int(tx.execute(stmt).scalar_one())


def iter_events(
    tx: SqlTransaction, since: str | None = None, *, after_seq: int = 0, page: int = 1000
) -> Iterator[AuditRecord]:
    """Every event after ``after_seq`` (recorded at or after ``since``), in seq order.

    Pages by seq (keyset), so a long log streams in bounded memory; within a snapshot
    transaction the pages are consistent with each other.
    """
    columns = [_L.c[name] for name in _COLUMNS[:7]]
    where = [] if since is None else [_L.c.recorded >= normalise_instant(since)]
    while True:
        stmt = (
            sa.select(*columns).where(_L.c.seq > after_seq, *where).order_by(_L.c.seq).limit(page)
        )
        rows = tx.execute(stmt).all()
        for row in rows:
            yield AuditRecord(*row)
        if len(rows) < page:
            return
        after_seq = rows[-1][0]


def _patient_filter(patient_id: str | Sequence[str], since: str | None) -> list[Any]:
    ids = [patient_id] if isinstance(patient_id, str) else list(patient_id)
    where: list[Any] = [_L.c.patient_id == ids[0] if len(ids) == 1 else _L.c.patient_id.in_(ids)]
    if not ids:
        where = [sa.false()]
    if since is not None:
        where.append(_L.c.recorded >= normalise_instant(since))
    return where


def _with_id(seq: int, content: str) -> dict[str, Any]:
    event: dict[str, Any] = orjson.loads(content)
    event["id"] = str(seq)
    return event


def _dialect_sql(dialect: str) -> dict[str, str]:
    m = "?" if dialect == "sqlite" else "%s"
    lock = " FOR UPDATE" if dialect == "postgresql" else ""
    return {
        "head": f"SELECT seq, hash FROM audit_head WHERE id = 1{lock}",
        "move_head": f"UPDATE audit_head SET seq = {m}, hash = {m} WHERE id = 1",
    }


_SQL = {d: _dialect_sql(d) for d in ("sqlite", "postgresql")}

_PG_COPY = f"COPY audit_log ({', '.join(_COLUMNS)}) FROM STDIN"

_ROWS_PER_INSERT = 1000
"""Rows per INSERT on SQLite: 9,000 parameters, within its limit of 32,766."""


@functools.lru_cache(maxsize=64)
def _sqlite_insert(n: int) -> str:
    row = f"({', '.join(['?'] * len(_COLUMNS))})"
    return f"INSERT INTO audit_log ({', '.join(_COLUMNS)}) VALUES {', '.join([row] * n)}"
