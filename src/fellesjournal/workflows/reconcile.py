"""The daily reconciliation: what should have been sent against what was delivered.

Helseplattformen's letter template that was never sent went unnoticed for a year because
the senders saw "sent" and nobody compared (domain.md §2, P1). :func:`reconcile` makes
that comparison for one day (Norwegian time):

* **expected**: every Communication *sent* that day (``status`` in-progress or completed,
  ``sent`` within the day, by the search index) times each of its recipients;
* **actual**: the outbox rows of those Communications, by recipient, and their states.

Per message kind (the template) and recipient it counts what was expected, delivered,
still pending (queued, or sent and waiting for the receipt), failed, **missing**
(expected, but no outbox row at all: written with the workflows off, or a row lost) and
**unexpected** (a row written that day for no Communication that is sent to that
recipient: deleted, withdrawn, or the recipient taken off). An expected message counts
once, in its best state: a message that failed and was then sent again and delivered is
delivered.

``fellesjournal outbox reconcile [--date]`` prints the report and exits non-zero when
anything is missing or failed. It reads the whole database: for system clients.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from fellesjournal.fhir import jsonio
from fellesjournal.store.schema import outbox as outbox_table
from fellesjournal.workflows import messages, outbox, units
from fellesjournal.workflows.outbox import OutboxItem

if TYPE_CHECKING:
    from fellesjournal.service.repository import GuardedRepository
    from fellesjournal.store.sql import SqlTransaction

Resource = dict[str, Any]

OSLO: Final = ZoneInfo("Europe/Oslo")
#: The order in which one expected message's rows count: the best state wins.
_RANK: Final = {outbox.DELIVERED: 3, outbox.SENT: 2, outbox.QUEUED: 2, outbox.FAILED: 1}
_CHUNK: Final = 500


@dataclass
class Line:
    """One message kind to one recipient on the day."""

    kind: str
    recipient: str
    recipient_name: str
    expected: int = 0
    delivered: int = 0
    pending: int = 0
    failed: int = 0
    missing: int = 0
    unexpected: int = 0

    @property
    def in_order(self) -> bool:
        return not (self.missing or self.failed or self.unexpected)


@dataclass
class Report:
    """The day's reconciliation: one line per (kind, recipient), and what to follow up."""

    day: date
    lines: list[Line] = field(default_factory=list)
    #: ``(Communication/id, recipient)`` expected with no outbox row.
    missing: list[tuple[str, str]] = field(default_factory=list)
    #: Failed rows (of expected messages not delivered otherwise).
    failed: list[OutboxItem] = field(default_factory=list)
    #: Rows for which nothing sent that day is to be found.
    unexpected: list[OutboxItem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing missing and nothing failed (pending messages are not yet a fault)."""
        return not self.missing and not self.failed

    def total(self, name: str) -> int:
        return sum(int(getattr(line, name)) for line in self.lines)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The day in Norway as ``[start, end)`` instants."""
    start = datetime.combine(day, time(), OSLO)
    end = datetime.combine(day + timedelta(days=1), time(), OSLO)
    return start, end


def reconcile(repo: GuardedRepository, day: date) -> Report:
    """The reconciliation of ``day`` (see the module doc). For system clients."""
    repo.guard_whole_database()
    start, end = day_bounds(day)
    report = Report(day)
    with repo.reading() as tx:
        names: dict[str, str] = {}

        def line_for(kind: str, recipient: str, lines: dict[tuple[str, str], Line]) -> Line:
            key = (kind, recipient)
            if key not in lines:
                if recipient not in names:
                    info = units.unit(tx, recipient)
                    names[recipient] = info.name if info else recipient
                lines[key] = Line(kind, recipient, names[recipient])
            return lines[key]

        lines: dict[tuple[str, str], Line] = {}
        sent = list(_sent_communications(repo, tx, start, end))
        expected: dict[str, tuple[str, list[str]]] = {}  # comm id -> (kind, recipients)
        for comm_id, comm in sent:
            recipients = _recipients(comm)
            if recipients:
                expected[comm_id] = (messages.kind_of(comm) or "dialogmelding", recipients)
        rows = _rows_for(tx, sent, expected)
        for comm_id, (kind, recipients) in expected.items():
            for recipient in recipients:
                line = line_for(kind, recipient, lines)
                line.expected += 1
                found = rows.get((comm_id, recipient), [])
                if not found:
                    line.missing += 1
                    report.missing.append((f"Communication/{comm_id}", recipient))
                    continue
                best = max(found, key=lambda r: (_RANK[r.state], r.id))
                if best.state == outbox.DELIVERED:
                    line.delivered += 1
                elif best.state == outbox.FAILED:
                    line.failed += 1
                    report.failed.append(best)
                else:
                    line.pending += 1
        for item in _unexpected(tx, start, end, expected):
            line_for(item.kind, item.recipient, lines).unexpected += 1
            report.unexpected.append(item)
    report.lines = sorted(lines.values(), key=lambda x: (x.kind, x.recipient_name, x.recipient))
    return report


def _us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _sent_communications(
    repo: GuardedRepository, tx: SqlTransaction, start: datetime, end: datetime
) -> Iterator[tuple[str, Resource]]:
    """Every current Communication in a sent status whose ``sent`` falls in the day."""
    from fellesjournal.service.searching import Searcher

    params = [
        ("status", ",".join(sorted(messages.SENT_STATUSES))),
        ("sent", f"ge{start.isoformat()}"),
        ("sent", f"lt{end.isoformat()}"),
    ]
    req = repo.parser.parse("Communication", params)
    req.count = 10_000_000
    req.total = "none"
    for comm_id in Searcher(tx, repo.store.registry).ids(req):
        stored = tx.read("Communication", comm_id)
        if stored is None or stored.deleted or not stored.content:
            continue
        comm = dict(jsonio.loads(stored.content))
        moment = _instant(comm.get("sent"))
        # The index holds a dateTime as its precision's range: keep those sent in the day.
        if moment is not None and start <= moment < end:
            yield comm_id, comm


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), OSLO)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=OSLO)


def _recipients(comm: Resource) -> list[str]:
    out: list[str] = []
    for item in comm.get("recipient") or ():
        ref = item.get("reference") if isinstance(item, dict) else None
        if isinstance(ref, str) and ref and ref not in out:
            out.append(ref)
    return out


def _comm_id(item: OutboxItem) -> str | None:
    res_type, res_id, _ = item.focus_ref
    return res_id if res_type == "Communication" else None


def _rows_for(
    tx: SqlTransaction,
    sent: list[tuple[str, Resource]],
    expected: dict[str, tuple[str, list[str]]],
) -> dict[tuple[str, str], list[OutboxItem]]:
    """The outbox rows of the expected Communications, by (id, recipient): looked up by
    patient (indexed), and by focus for the few without one."""
    patients: set[str] = set()
    loose: list[str] = []
    for comm_id, comm in sent:
        if comm_id not in expected:
            continue
        subject = (comm.get("subject") or {}).get("reference")
        if isinstance(subject, str) and subject.startswith("Patient/"):
            patients.add(subject.split("/", 1)[1])
        else:
            loose.append(comm_id)
    found: dict[tuple[str, str], list[OutboxItem]] = {}

    def keep(items: Iterable[OutboxItem]) -> None:
        for item in items:
            comm_id = _comm_id(item)
            if comm_id in expected:
                found.setdefault((comm_id, item.recipient), []).append(item)

    ordered = sorted(patients)
    for i in range(0, len(ordered), _CHUNK):
        keep(_select(tx, outbox_table.c.patient_id.in_(ordered[i : i + _CHUNK])))
    for i in range(0, len(loose), _CHUNK):
        prefixes = [
            outbox_table.c.focus.startswith(f"Communication/{c}/", autoescape=True)
            for c in loose[i : i + _CHUNK]
        ]
        keep(_select(tx, sa.or_(*prefixes)))
    return found


def _select(tx: SqlTransaction, where: Any) -> list[OutboxItem]:
    rows = tx.execute(sa.select(*outbox_table.columns).where(where))
    return [outbox._item(r) for r in rows]


def _unexpected(
    tx: SqlTransaction,
    start: datetime,
    end: datetime,
    expected: dict[str, tuple[str, list[str]]],
) -> list[OutboxItem]:
    """Rows written in the day that no Communication sent to that recipient explains
    (one sent on another day is that day's business, not unexpected)."""
    out: list[OutboxItem] = []
    rows = outbox.items(tx, created_from=_us(start), created_to=_us(end), limit=10_000_000)
    for item in rows:
        comm_id = _comm_id(item)
        if comm_id is None:
            out.append(item)
            continue
        if comm_id in expected:
            if item.recipient not in expected[comm_id][1]:
                out.append(item)
            continue
        stored = tx.read("Communication", comm_id)
        if stored is None or stored.deleted or not stored.content:
            out.append(item)
            continue
        comm = dict(jsonio.loads(stored.content))
        still_sent = comm.get("status") in messages.SENT_STATUSES
        if not still_sent or item.recipient not in _recipients(comm):
            out.append(item)
    return out


def default_day(now: datetime | None = None) -> date:
    """Yesterday in Norway: the last whole day (the report is run in the morning)."""
    moment = (now or datetime.now(UTC)).astimezone(OSLO)
    return moment.date() - timedelta(days=1)
