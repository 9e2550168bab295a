"""Checking the audit log's hash chain from the first row to the head.

:func:`verify` reads the log in seq order in one snapshot and recomputes every hash. It
names the first row that is wrong and how:

- a row's fields or event changed  -> its hash no longer matches (``altered``);
- a row removed in the middle       -> a gap in seq;
- a row rewritten with a fresh hash, or rows renumbered -> the next row's ``prev_hash``
  (or its own hash, which covers its seq) no longer matches;
- a row inserted                    -> a seq gap or duplicate, or a hash that does not
  match; at the end, a row beyond ``audit_head``;
- rows removed at the end           -> the log ends before ``audit_head``.

What it cannot see: someone with write access to the database who rewrites a row *and*
recomputes every later hash *and* moves ``audit_head`` along. Only a hash kept outside
the database shows that: note ``fellesjournal audit head`` somewhere the database's
administrators cannot write (a log shipper, a signed mail, the privacy officer's
journal) and pass it back as ``anchor``; every row up to it is then proven unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from fellesjournal.audit.chain import GENESIS, row_hash
from fellesjournal.store import schema
from fellesjournal.store.sql import SqlStore

_L = schema.audit_log
_H = schema.audit_head


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of :func:`verify`: ``ok``, or the first bad seq and what is wrong."""

    ok: bool
    rows: int
    first_bad_seq: int | None = None
    reason: str | None = None
    last_seq: int = 0
    last_hash: str = GENESIS

    @property
    def summary(self) -> str:
        """One line for people: ``audit log intact: N events`` or where it is broken."""
        if self.ok:
            return f"audit log intact: {self.rows} events (head {self.last_seq}:{self.last_hash})"
        return f"audit log broken at seq {self.first_bad_seq}: {self.reason}"


class _Broken(Exception):
    def __init__(self, seq: int, reason: str) -> None:
        self.seq = seq
        self.reason = reason


def verify(
    source: sa.Engine | SqlStore, *, anchor: tuple[int, str] | None = None, page: int = 5000
) -> VerifyResult:
    """Recompute the chain of the whole log; see the module docstring for what is found.

    ``anchor`` is a (seq, hash) noted earlier (``audit head``): the row at that seq
    must still carry that hash. Reads in one snapshot (REPEATABLE READ on PostgreSQL),
    so appends running meanwhile neither disturb nor enter the check. Database errors
    (a missing table, no connection) propagate.
    """
    engine = source.engine if isinstance(source, SqlStore) else source
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            head_row = conn.execute(sa.select(_H.c.seq, _H.c.hash).where(_H.c.id == 1)).first()
            if head_row is None:
                return VerifyResult(False, 0, 1, "audit_head is missing (its row was removed)")
            head = (int(head_row[0]), str(head_row[1]))
            checker = _Checker(head, anchor)
            try:
                after = 0
                while True:
                    rows = conn.execute(
                        sa.select(*_L.c).where(_L.c.seq > after).order_by(_L.c.seq).limit(page)
                    ).all()
                    for row in rows:
                        checker.row(*row)
                    if len(rows) < page:
                        break
                    after = rows[-1][0]
                checker.end()
            except _Broken as broken:
                return VerifyResult(False, checker.rows, broken.seq, broken.reason)
    return VerifyResult(True, checker.rows, last_seq=checker.seq, last_hash=checker.hash)


class _Checker:
    """Walks the rows in seq order; raises :class:`_Broken` at the first bad one."""

    def __init__(self, head: tuple[int, str], anchor: tuple[int, str] | None) -> None:
        self.head = head
        self.anchor = anchor
        self.rows = 0
        self.seq = 0
        self.hash = GENESIS

    def row(
        self,
        seq: int,
        recorded: str,
        patient_id: str | None,
        agent: str,
        action: str,
        outcome: str,
        content: str,
        prev_hash: str,
        stored: str,
    ) -> None:
        expected = self.seq + 1
        if seq > expected:
            missing = str(expected) if seq == expected + 1 else f"{expected}-{seq - 1}"
            raise _Broken(expected, f"row removed (seq {missing} missing before seq {seq})")
        if seq < expected:
            raise _Broken(seq, f"row inserted (seq {seq} again, after seq {self.seq})")
        if seq > self.head[0]:
            raise _Broken(
                seq, f"row inserted (beyond the recorded head, seq {self.head[0]}; not appended)"
            )
        computed = row_hash(prev_hash, seq, recorded, patient_id, agent, action, outcome, content)
        if computed != stored:
            raise _Broken(seq, "row altered (hash mismatch)")
        if prev_hash != self.hash:
            raise _Broken(
                seq,
                f"chain broken (prev_hash is not the hash of seq {self.seq}: a row before "
                "was rewritten, removed or inserted)",
            )
        if self.anchor is not None and seq == self.anchor[0] and stored != self.anchor[1]:
            raise _Broken(seq, "row differs from the anchor (the log was rewritten up to here)")
        if seq == self.head[0] and stored != self.head[1]:
            raise _Broken(seq, "row differs from the recorded head (hash mismatch)")
        self.rows += 1
        self.seq = seq
        self.hash = stored

    def end(self) -> None:
        if self.seq < self.head[0]:
            raise _Broken(
                self.seq + 1,
                f"rows removed at the end (the log ends at seq {self.seq}, "
                f"the recorded head is seq {self.head[0]})",
            )
        if self.anchor is not None and self.seq < self.anchor[0]:
            raise _Broken(
                self.seq + 1,
                f"rows removed at the end (the log ends at seq {self.seq}, "
                f"before the anchor seq {self.anchor[0]})",
            )
