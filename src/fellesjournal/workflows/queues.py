"""Queues: saved views of work items, what watches them, and the invariant over them.

A queue is the open work items (Tasks) one unit owns, all of them or of one kind
(``Task?owner=Organization/{unit}&status=...&code=...``); the unit's leader also watches
the unit's escalated items (past due, :func:`escalate`). A queue is *monitored* when its
unit is an active member of the shared record with at least one active PractitionerRole:
someone signs in to that unit and sees it.

:func:`check` is the invariant behind ``fellesjournal queues check``:

* every open work item has an owner, that owner is a unit that exists, and the unit's
  queue is monitored (so the item appears in at least one monitored queue);
* every closed item names a reason and who closed it;
* every failed delivery has its ``delivery-failure`` item at the sender;
* the workflows' own checks (:data:`EXTRA_CHECKS`): every referral has its assessment
  item, every patient with a right to care a waiting-list entry, ...

:func:`dashboard` summarises every queue (owner, open items, oldest item's age, overdue,
escalated, delivery failures) for the dashboard page and ``Task/$queues``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from fellesjournal.fhir import jsonio
from fellesjournal.service import references
from fellesjournal.workflows import model, outbox, units

if TYPE_CHECKING:
    from fellesjournal.service.repository import GuardedRepository
    from fellesjournal.store.sql import SqlTransaction

Resource = dict[str, Any]

#: Further invariants of the workflows, ``module:function(repo, tx, now) -> [Violation]``.
EXTRA_CHECKS: Final = ("referral:check",)


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken invariant: what (a code), where (a reference), and in words."""

    code: str
    reference: str
    message: str

    def __str__(self) -> str:
        return f"{self.reference}: {self.message} [{self.code}]"


@dataclass(slots=True)
class QueueSummary:
    """One queue on the dashboard: one unit's open items of one kind."""

    unit_id: str
    unit_name: str
    kind: str
    monitored: bool
    open: int = 0
    oldest: str | None = None  #: ``authoredOn`` of the oldest open item
    overdue: int = 0
    escalated: int = 0
    failures: int = 0  #: failed deliveries sent from the unit (the delivery-failure queue)

    def age_days(self, now: datetime) -> float | None:
        if not self.oldest:
            return None
        return (now - parse_instant(self.oldest)).total_seconds() / 86_400


def parse_instant(value: str) -> datetime:
    """A FHIR date or dateTime as an aware datetime (a date is its midnight, UTC)."""
    if len(value) == 10:
        value += "T00:00:00+00:00"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_overdue(task: Resource, now: datetime) -> bool:
    due = model.due_of(task)
    if not due:
        return False
    end = parse_instant(due)
    if len(due) == 10:  # a due date lasts the whole day
        end = end.replace(hour=23, minute=59, second=59)
    return end < now


def tasks(tx: SqlTransaction) -> Iterator[tuple[str, Resource]]:
    """Every current Task: ``(id, content)``."""
    for stored in references.scan(tx, "Task"):
        if stored.content:
            yield stored.res_id, dict(jsonio.loads(stored.content))


@dataclass
class _Units:
    """Unit look-ups memoised for one pass."""

    tx: SqlTransaction
    search: Callable[[str, list[tuple[str, str]]], list[str]]
    _info: dict[str, units.UnitInfo | None] = field(default_factory=dict)
    _watched: dict[str, bool] = field(default_factory=dict)

    def info(self, ref: str) -> units.UnitInfo | None:
        if ref not in self._info:
            self._info[ref] = units.unit(self.tx, ref)
        return self._info[ref]

    def monitored(self, unit: units.UnitInfo) -> bool:
        if unit.id not in self._watched:
            self._watched[unit.id] = unit.member and bool(units.staff_roles(self.search, unit.id))
        return self._watched[unit.id]


def check(repo: GuardedRepository, now: datetime | None = None) -> list[Violation]:
    """Every violation of the work-item invariant in the database (empty: all is well).

    For system clients (the CLI): it reads every work item."""
    repo.guard_whole_database()
    now = now or datetime.now(UTC)
    found: list[Violation] = []
    with repo.reading() as tx:
        known = _Units(tx, units.searcher(repo, tx))
        task_ids: dict[str, set[str]] = {}
        for task_id, task in tasks(tx):
            ref = f"Task/{task_id}"
            kind = model.kind_of(task) or "?"
            focus = (task.get("focus") or {}).get("reference")
            if isinstance(focus, str):
                task_ids.setdefault(focus, set()).add(kind)
            if model.is_open(task):
                found += _check_open(ref, task, known)
            elif task.get("status") in model.CLOSED:
                if not model.reason_text(task) and kind != "?":
                    found.append(Violation("closed-without-reason", ref, "closed without a reason"))
                if model.extension_value(task, model.CLOSED_BY_URL) is None:
                    found.append(
                        Violation(
                            "closed-without-actor", ref, "closed without naming who closed it"
                        )
                    )
        for item in outbox.items(tx, states=[outbox.FAILED], limit=1_000_000):
            comm = item.focus.split("/_history/")[0]
            if model.DELIVERY_FAILURE not in task_ids.get(comm, set()):
                found.append(
                    Violation(
                        "failure-without-item",
                        f"outbox/{item.message_id}",
                        f"failed delivery of {item.kind} to {item.recipient} has no "
                        f"delivery-failure work item at {item.sender}",
                    )
                )
        for name in EXTRA_CHECKS:
            module_name, _, func = name.partition(":")
            try:
                module = importlib.import_module(f"fellesjournal.workflows.{module_name}")
            except ModuleNotFoundError:
                continue
            found += getattr(module, func)(repo, tx, now)
    return found


def _check_open(ref: str, task: Resource, known: _Units) -> list[Violation]:
    owner = model.owner_of(task)
    if not owner:
        return [Violation("no-owner", ref, "open work item without an owner")]
    unit = known.info(owner)
    if unit is None:
        return [Violation("owner-unknown", ref, f"owner {owner} is not a stored unit")]
    if not unit.member:
        return [
            Violation(
                "owner-not-member",
                ref,
                f"owner {unit.name} ({owner}) is not an active member: nobody here watches "
                "its queue",
            )
        ]
    if not known.monitored(unit):
        return [
            Violation(
                "queue-unwatched",
                ref,
                f"owner {unit.name} ({owner}) has no active staff: nobody watches its queue",
            )
        ]
    return []


def dashboard(repo: GuardedRepository, now: datetime | None = None) -> list[QueueSummary]:
    """Every queue with open items or failed deliveries, by unit and kind.

    Counts only: no patient data leaves here. For system clients and health workers."""
    repo.guard("search", "Task")
    now = now or datetime.now(UTC)
    queues: dict[tuple[str, str], QueueSummary] = {}
    with repo.reading() as tx:
        known = _Units(tx, units.searcher(repo, tx))

        def summary(owner: str, kind: str) -> QueueSummary:
            key = (owner, kind)
            if key not in queues:
                unit = known.info(owner)
                queues[key] = QueueSummary(
                    unit_id=owner.split("/", 1)[-1],
                    unit_name=unit.name if unit else owner,
                    kind=kind,
                    monitored=bool(unit and known.monitored(unit)),
                )
            return queues[key]

        for _task_id, task in tasks(tx):
            if not model.is_open(task):
                continue
            owner = model.owner_of(task) or "?"
            row = summary(owner, model.kind_of(task) or "other")
            row.open += 1
            authored = task.get("authoredOn")
            if isinstance(authored, str) and (row.oldest is None or authored < row.oldest):
                row.oldest = authored
            if is_overdue(task, now):
                row.overdue += 1
            if any(t.get("code") == "escalated" for t in (task.get("meta") or {}).get("tag", ())):
                row.escalated += 1
        for (sender, state), count in outbox.counts_by_sender(tx).items():
            if state == outbox.FAILED:
                summary(sender, model.DELIVERY_FAILURE).failures += count
    return sorted(queues.values(), key=lambda q: (q.unit_name, q.kind))


def escalate(repo: GuardedRepository, now: datetime | None = None) -> int:
    """Tag every open item past its due date as escalated (it stays in its queue and
    shows in the unit leader's); the number newly escalated. Runs as the workflow engine."""
    now = now or datetime.now(UTC)
    engine = repo.workflow_engine(1)
    count = 0
    with engine.writing() as tx:
        for task_id, task in list(tasks(tx)):
            if not model.is_open(task) or not is_overdue(task, now):
                continue
            tags = (task.get("meta") or {}).get("tag") or []
            if any(t.get("code") == model.ESCALATED_TAG["code"] for t in tags):
                continue
            task.setdefault("meta", {})["tag"] = [*tags, dict(model.ESCALATED_TAG)]
            task.setdefault("meta", {}).pop("versionId", None)
            engine.update("Task", task_id, task, tx=tx)
            count += 1
    return count
