"""The delivery worker: moves outbox rows to delivered, or to failed with a work item.

One round (:func:`deliver_due`) takes the due rows (``outbox.due``) and leases them,
decides what to do with each from one snapshot, writes what needs no receiver, posts the
messages with no transaction open, and records the answers (see its steps):

* **inside the shared record** (the recipient unit is an active member): the message
  becomes a work item in the recipient's queue (``message``, or the kind
  :data:`TASK_KIND` names), committed together with the row's ``delivered`` state and a
  receipt naming the item. A letter to the patient is delivered to the patient's own
  record (the portal shows it).
* **outside** (a non-member unit): the message is a FHIR message (a ``message`` Bundle:
  MessageHeader, the Communication, the patient and what the payload references) posted
  to the unit's FHIR-messaging Endpoint. The receiver answers with an application
  receipt: a message Bundle whose MessageHeader.response names our message id and says
  ``ok`` (delivered), ``transient-error`` (try again) or ``fatal-error`` (failed). An
  answer without a receipt leaves the row ``sent`` until the receipt arrives at
  ``$process-message`` (:func:`apply_receipt`) or the receipt deadline passes (sent
  again, the same message id, at most ``outbox_max_attempts`` times in all; then
  failed). Errors, timeouts and dropped connections are retried with exponential
  backoff until ``outbox_max_attempts``; then the row is failed. A refusal (HTTP 4xx)
  fails it at once.

"Delivered" is set only with a receipt; a row is never deleted. Every failure puts a
``delivery-failure`` work item in the sender unit's queue in the same transaction.
Reads of the message content go through the guarded repository, and their audit events
are committed before the message leaves (a message to another organisation discloses
the record).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx

from fellesjournal.access.actor import Actor
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.norway.workdays import add_working_days
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.service.writes import new_id
from fellesjournal.settings import Settings
from fellesjournal.store.base import StoredResource, WriteOp
from fellesjournal.store.sql import SqlStore, SqlTransaction
from fellesjournal.workflows import messages, model, outbox, units
from fellesjournal.workflows.outbox import OutboxItem

log = logging.getLogger(__name__)

Resource = dict[str, Any]

#: The actor of the delivery worker's reads and writes.
OUTBOX_ACTOR: Final = Actor("system", "fellesjournal-outbox", scopes=("system/*.*",))
#: The work item a message becomes in the receiving unit's queue (default: ``message``).
TASK_KIND: Final[dict[str, str]] = {
    "utskrivningsklar": model.DISCHARGE_READY,
    "pasientmelding": model.MESSAGE,
    "timeforesporsel": model.APPOINTMENT_REQUEST,
    "avbestilling": model.APPOINTMENT_REQUEST,
}
#: Working days the receiving unit has to read a message (one, as home care promises).
READ_WITHIN_WORKING_DAYS: Final = 1
#: Receipt codes of MessageHeader.response.
OK: Final = "ok"
TRANSIENT: Final = "transient-error"
FATAL: Final = "fatal-error"


@dataclass(slots=True)
class RoundStats:
    """What one round did with the rows it took."""

    delivered: int = 0
    sent: int = 0  #: posted; the receipt is still to come
    retried: int = 0
    failed: int = 0
    deferred: int = 0  #: not tried: their receiver did not answer earlier in the round

    @property
    def handled(self) -> int:
        return self.delivered + self.sent + self.retried + self.failed + self.deferred

    def add(self, other: RoundStats) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def worker_repository(store: SqlStore, settings: Settings) -> GuardedRepository:
    """The worker's repository. Its reads' events are written by the round itself, in
    its own transactions (``defer_audit``: flushing would open a transaction of its own
    while the round's is open, and SQLite has one writer)."""
    return GuardedRepository(store, settings, RequestContext(actor=OUTBOX_ACTOR), defer_audit=True)


def http_client(settings: Settings) -> httpx.Client:
    """The worker's HTTP client: ``outbox_timeout_s``, and each request's headers and body
    sent without waiting on Nagle's algorithm (a receiver that delays its ACKs would add
    40 ms to every message)."""
    transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    return httpx.Client(timeout=settings.outbox_timeout_s, transport=transport)


def _us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1_000_000, UTC).isoformat(timespec="seconds")


# -- one round --------------------------------------------------------------------------------

#: Receivers (Endpoint addresses) posted to at the same time; one receiver's messages go
#: one after another, oldest first, so a receiver sees them in the order they were sent.
PARALLEL_RECEIVERS: Final = 8
#: Rows written per transaction when a round records what happened (a transaction holds
#: SQLite's one write lock: a few hundred rows would keep the API's writes waiting).
WRITE_CHUNK: Final = 50
#: A round stops posting after this long and leaves the rest for the next (well inside
#: the rows' lease, so no other worker takes a row while it is still being posted).
ROUND_BUDGET_S: Final = 30.0


@dataclass(slots=True)
class _Plan:
    """What to do with one taken row, decided from a snapshot before anything is written.

    ``action``: ``patient`` (deliver to the patient's record), ``internal`` (a work item
    in the member unit's queue), ``fail`` (``reason``), ``retry`` (``reason``) or ``post``
    (``body`` to ``address``)."""

    item: OutboxItem
    action: str
    reason: str = ""
    unit: units.UnitInfo | None = None
    address: str = ""
    body: bytes = b""
    resent: bool = False  #: posted before, no receipt came: this is a repeat


@dataclass(slots=True)
class _Outcome:
    plan: _Plan
    response: httpx.Response | None = None
    receipt: Receipt | None = None  #: the application receipt in a 2xx answer
    error: str | None = None  #: the transport failed (timeout, refused, dropped)
    deferred: bool = False

    @property
    def acknowledged(self) -> bool:
        """An ``ok`` receipt for this very message: the common case, settled in bulk."""
        r = self.receipt
        return r is not None and r.code == OK and r.message_id == self.plan.item.message_id


def deliver_due(
    repo: GuardedRepository,
    client: httpx.Client | None = None,
    *,
    now: datetime | None = None,
    limit: int | None = None,
) -> RoundStats:
    """One round of delivery; what happened to the rows it took.

    1. take the due rows and lease them (one transaction);
    2. decide each from a snapshot: the recipient, its Endpoint, the FHIR message;
    3. write what needs no receiver (work items in member units' queues, letters to the
       patient, failures without an address) together with the audit events of the
       round's reads, before any message leaves;
    4. post the messages, receivers in parallel, each receiver's in order, no transaction
       open;
    5. record each answer (chunks of :data:`WRITE_CHUNK`), only on a row still leased to
       this round: a receipt that came in on its own meanwhile wins.
    """
    settings = repo.settings
    now = now or datetime.now(UTC)
    at = _us(now)
    stats = RoundStats()
    # A lease of its own (to the microsecond) tells this round's rows from another
    # process's taken at the same moment.
    lease = at + int((settings.outbox_timeout_s + ROUND_BUDGET_S + 60) * 1_000_000)
    lease += random.randrange(1_000_000)
    with repo.writing() as tx:
        taken = outbox.claim_due(tx, at, limit or settings.outbox_batch, lease)
    if not taken:
        return stats
    plans = _plan_all(repo, taken, now)
    local = [p for p in plans if p.action != "post"]
    posts = [p for p in plans if p.action == "post"]
    events, repo.trail.pending = repo.trail.pending, []
    for chunk in _chunks(local, WRITE_CHUNK) if local else [[]] if events else []:
        with repo.writing() as tx:
            repo.trail.append_in(tx, events)
            events = []
            _settle_local_chunk(repo, tx, chunk, now, lease, stats)
    if posts:
        own_client = client is None
        http = client or http_client(settings)
        try:
            outcomes = _post_all(http, posts)
        finally:
            if own_client:
                http.close()
        for chunk in _chunks(outcomes, WRITE_CHUNK):
            with repo.writing() as tx:
                _settle_posted_chunk(repo, tx, chunk, now, lease, stats)
    return stats


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _plan_all(repo: GuardedRepository, taken: list[OutboxItem], now: datetime) -> list[_Plan]:
    plans: list[_Plan] = []
    endpoints: dict[str, Resource | None] = {}
    known: dict[str, units.UnitInfo | None] = {}
    with repo.reading() as tx:
        search = units.searcher(repo, tx, 100)
        for item in taken:
            try:
                plans.append(_plan(repo, tx, search, item, now, endpoints, known))
            except Exception:
                log.exception("outbox: preparing %s failed unexpectedly", item.message_id)
                plans.append(_Plan(item, "retry", "internal error while preparing the message"))
    return plans


def _plan(
    repo: GuardedRepository,
    tx: SqlTransaction,
    search: units.Search,
    item: OutboxItem,
    now: datetime,
    endpoints: dict[str, Resource | None],
    known: dict[str, units.UnitInfo | None],
) -> _Plan:
    settings = repo.settings
    if item.recipient.startswith("Patient/"):
        return _Plan(item, "patient")
    if item.recipient not in known:
        known[item.recipient] = units.unit(tx, item.recipient)
    unit = known[item.recipient]
    if unit is None:
        return _Plan(item, "fail", f"the recipient {item.recipient} is not a known unit")
    if unit.member:
        return _Plan(item, "internal", unit=unit)
    resent = item.state == outbox.SENT
    if resent and item.attempts >= settings.outbox_max_attempts:
        return _Plan(
            item,
            "fail",
            f"no application receipt after {item.attempts} sendings "
            f"({settings.outbox_receipt_timeout_s:.0f} s each)",
        )
    if unit.id not in endpoints:
        endpoints[unit.id] = units.message_endpoint(tx, search, unit.id)
    endpoint = endpoints[unit.id]
    if endpoint is None or not endpoint.get("address"):
        return _Plan(
            item,
            "fail",
            f"{unit.name} is outside the shared record and has no FHIR messaging "
            "address (Endpoint)",
        )
    try:
        bundle = message_bundle(repo, tx, item, unit, endpoint, now)
    except FhirError as exc:
        return _Plan(item, "fail", f"the message cannot be built: {exc}")
    return _Plan(
        item,
        "post",
        unit=unit,
        address=str(endpoint["address"]),
        body=jsonio.dumps(bundle),
        resent=resent,
    )


def _post_all(http: httpx.Client, posts: list[_Plan]) -> list[_Outcome]:
    """Post every message: one receiver's one after another (oldest first), receivers in
    parallel. After a transport failure the rest of that receiver's messages wait for
    the next round (a receiver that times out must not hold the round for each one)."""
    groups: dict[str, list[_Plan]] = {}
    for plan in posts:
        groups.setdefault(plan.address, []).append(plan)
    deadline = time.monotonic() + ROUND_BUDGET_S

    def post_group(plans: list[_Plan]) -> list[_Outcome]:
        out: list[_Outcome] = []
        broken = False
        for plan in plans:
            if broken or time.monotonic() > deadline:
                out.append(_Outcome(plan, deferred=True))
                continue
            try:
                response = http.post(
                    plan.address,
                    content=plan.body,
                    headers={
                        "Content-Type": "application/fhir+json",
                        "Accept": "application/fhir+json",
                    },
                )
            except httpx.HTTPError as exc:
                out.append(_Outcome(plan, error=f"{type(exc).__name__}: {exc}"))
                broken = True
                continue
            except Exception as exc:  # a fault here must not lose the round's answers
                log.exception("outbox: posting %s failed unexpectedly", plan.item.message_id)
                out.append(_Outcome(plan, error=f"internal error while posting: {exc}"))
                continue
            receipt = _receipt_in(response) if 200 <= response.status_code < 300 else None
            out.append(_Outcome(plan, response=response, receipt=receipt))
        return out

    if len(groups) == 1:
        return post_group(next(iter(groups.values())))
    with ThreadPoolExecutor(
        max_workers=min(PARALLEL_RECEIVERS, len(groups)), thread_name_prefix="outbox-post"
    ) as pool:
        results = list(pool.map(post_group, groups.values()))
    return [outcome for group in results for outcome in group]


def _settle_local_chunk(
    repo: GuardedRepository,
    tx: SqlTransaction,
    plans: list[_Plan],
    now: datetime,
    lease: int,
    stats: RoundStats,
) -> None:
    """Settle rows that need no receiver; the messages to member units in bulk (their
    work items in one write), the rest one by one."""
    internal = [p for p in plans if p.action == "internal"]
    rest = [p for p in plans if p.action != "internal"]
    if internal:
        try:
            with repo.savepoint(tx):
                stats.delivered += _deliver_internal(repo, tx, internal, now, lease)
        except Exception:
            log.exception("outbox: %d internal deliveries in bulk failed", len(internal))
            rest = internal + rest  # one by one: one bad row must not hold the others
    for plan in rest:
        _settle(repo, tx, plan, now, lease, stats)


def _deliver_internal(
    repo: GuardedRepository, tx: SqlTransaction, plans: list[_Plan], now: datetime, lease: int
) -> int:
    """Work items in the member units' queues and the rows delivered, for the rows still
    leased to this round; how many."""
    held = outbox.lock_many(tx, [p.item.id for p in plans])
    ours = [p for p in plans if held.get(p.item.id) == (p.item.state, lease)]
    if not ours:
        return 0
    ops = []
    for plan in ours:
        assert plan.unit is not None
        ops.append(
            WriteOp("POST", "Task", new_id(), _internal_task_resource(plan.item, plan.unit, now))
        )
    repo.workflow_engine(1).apply_many(tx, ops)
    receipts = [
        (p.item, jsonio.dumps({"route": "internal", "task": f"Task/{op.res_id}"}).decode())
        for p, op in zip(ours, ops, strict=True)
    ]
    return outbox.mark_delivered(tx, receipts, _us(now), lease)


def _settle_posted_chunk(
    repo: GuardedRepository,
    tx: SqlTransaction,
    outcomes: list[_Outcome],
    now: datetime,
    lease: int,
    stats: RoundStats,
) -> None:
    """Record the answers: ``ok`` receipts in one statement, the rest one by one."""
    acked = [o for o in outcomes if o.acknowledged]
    if acked:
        receipts = []
        for o in acked:
            assert o.receipt is not None
            kept = {"route": "fhir-message", "code": OK, "text": o.receipt.text}
            receipts.append((o.plan.item, jsonio.dumps(kept).decode()))
        stats.delivered += outbox.mark_delivered(tx, receipts, _us(now), lease)
    for outcome in outcomes:
        if not outcome.acknowledged:
            _settle(repo, tx, outcome.plan, now, lease, stats, outcome)


def _settle(
    repo: GuardedRepository,
    tx: SqlTransaction,
    plan: _Plan,
    now: datetime,
    lease: int,
    stats: RoundStats,
    outcome: _Outcome | None = None,
) -> None:
    """Write what became of one row in ``tx``, only while the row is still leased to this
    round (``expect``): a receipt that came in on its own meanwhile wins. What writes a
    work item does so in a savepoint: a row that cannot be written is retried, not lost
    with the others of its chunk."""
    expect = (plan.item.state, lease)
    try:
        if outcome is None:
            with repo.savepoint(tx):
                current = outbox.lock(tx, plan.item.id)
                if current is None or (current.state, current.next_attempt) != expect:
                    log.info("outbox: %s was settled meanwhile", plan.item.message_id)
                    return
                _settle_local(repo, tx, plan, now, stats)
        else:
            _settle_post(repo, tx, plan, outcome, now, stats, expect)
    except Exception:
        log.exception("outbox: recording %s failed unexpectedly", plan.item.message_id)
        try:
            with repo.savepoint(tx):
                reason = "internal error while delivering"
                _retry_or_fail(repo, tx, plan.item, now, reason, stats, expect)
        except Exception:
            # Left leased: the lease runs out and a later round takes it again.
            log.exception("outbox: %s left for a later round", plan.item.message_id)


def _settle_local(
    repo: GuardedRepository, tx: SqlTransaction, plan: _Plan, now: datetime, stats: RoundStats
) -> None:
    item = plan.item
    if plan.action == "patient":
        _delivered(tx, item, now, {"route": "patient-record", "recipient": item.recipient})
        stats.delivered += 1
    elif plan.action == "internal":
        assert plan.unit is not None
        task = _internal_task(repo, tx, item, plan.unit, now)
        _delivered(tx, item, now, {"route": "internal", "task": f"Task/{task}"})
        stats.delivered += 1
    elif plan.action == "fail":
        _fail(repo, tx, item, now, plan.reason, stats)
    else:
        _retry_or_fail(repo, tx, item, now, plan.reason, stats)


def _settle_post(
    repo: GuardedRepository,
    tx: SqlTransaction,
    plan: _Plan,
    outcome: _Outcome,
    now: datetime,
    stats: RoundStats,
    expect: tuple[str, int],
) -> None:
    item = plan.item
    if outcome.deferred:
        if outbox.update(
            tx,
            item.id,
            expect=expect,
            next_attempt=_us(now) + int(repo.settings.outbox_retry_base_s * 1_000_000),
            last_error=f"not sent: {plan.address} did not answer an earlier message",
        ):
            stats.deferred += 1
        return
    if outcome.error is not None:
        _retry_or_fail(repo, tx, item, now, outcome.error, stats, expect)
        return
    response = outcome.response
    assert response is not None
    status = response.status_code
    if status >= 500 or status in (408, 429):
        _retry_or_fail(repo, tx, item, now, f"HTTP {status}", stats, expect)
        return
    if not 200 <= status < 300:
        _fail(repo, tx, item, now, f"refused: HTTP {status}", stats, expect=expect)
        return
    receipt = outcome.receipt
    if receipt is None:
        deadline = _us(now) + int(repo.settings.outbox_receipt_timeout_s * 1_000_000)
        sent = outbox.update(
            tx,
            item.id,
            expect=expect,
            state=outbox.SENT,
            attempts=item.attempts + 1,
            sent=item.sent or _us(now),
            next_attempt=deadline,
            last_error=(
                "no application receipt came back in time; sent again" if plan.resent else None
            ),
        )
        stats.sent += sent
        return
    _apply(repo, tx, item, receipt, now, stats, expect)


def _internal_task(
    repo: GuardedRepository,
    tx: SqlTransaction,
    item: OutboxItem,
    unit: units.UnitInfo,
    now: datetime,
) -> str:
    task = _internal_task_resource(item, unit, now)
    engine = repo.workflow_engine(1)
    return engine.create("Task", task, tx=tx).stored.res_id


def _internal_task_resource(item: OutboxItem, unit: units.UnitInfo, now: datetime) -> Resource:
    """The work item a message to a member unit becomes in its queue."""
    focus_type, focus_id, _ = item.focus_ref
    due = add_working_days(now.date(), READ_WITHIN_WORKING_DAYS).isoformat()
    return model.work_item(
        TASK_KIND.get(item.kind, model.MESSAGE),
        owner=unit.reference,
        patient=f"Patient/{item.patient_id}" if item.patient_id else None,
        focus=f"{focus_type}/{focus_id}",
        authored=now.isoformat(timespec="seconds"),
        due=due,
        requester=item.sender,
        description=messages.KINDS.get(item.kind, item.kind),
    )


def _delivered(
    tx: SqlTransaction,
    item: OutboxItem,
    now: datetime,
    receipt: Resource,
    expect: tuple[str, int] | None = None,
) -> bool:
    at = _us(now)
    return outbox.update(
        tx,
        item.id,
        expect=expect,
        state=outbox.DELIVERED,
        attempts=item.attempts + 1,
        sent=item.sent or at,
        delivered=at,
        receipt=jsonio.dumps(receipt).decode(),
        last_error=None,
    )


def _retry_or_fail(
    repo: GuardedRepository,
    tx: SqlTransaction,
    item: OutboxItem,
    now: datetime,
    reason: str,
    stats: RoundStats,
    expect: tuple[str, int] | None = None,
) -> None:
    attempts = item.attempts + 1
    settings = repo.settings
    if attempts >= settings.outbox_max_attempts:
        why = f"{reason} (after {attempts} attempts)"
        _fail(repo, tx, item, now, why, stats, attempts, expect=expect)
        return
    delay = min(settings.outbox_retry_base_s * 2 ** (attempts - 1), 3600.0)
    if outbox.update(
        tx,
        item.id,
        expect=expect,
        state=outbox.QUEUED,
        attempts=attempts,
        next_attempt=_us(now + timedelta(seconds=delay)),
        last_error=reason,
    ):
        stats.retried += 1


def _fail(
    repo: GuardedRepository,
    tx: SqlTransaction,
    item: OutboxItem,
    now: datetime,
    reason: str,
    stats: RoundStats,
    attempts: int | None = None,
    *,
    expect: tuple[str, int] | None = None,
) -> None:
    """Fail the row and put the failure in the sender unit's queue (a citizen's: the
    error queue of unmatched work), in a savepoint of ``tx`` (with ``expect``: only
    while the row is as expected)."""
    with tx.conn.begin_nested():
        if outbox.update(
            tx,
            item.id,
            expect=expect,
            state=outbox.FAILED,
            attempts=attempts if attempts is not None else item.attempts + 1,
            last_error=reason,
        ):
            _failure_item(repo, tx, item, now, reason)
            stats.failed += 1


def _failure_item(
    repo: GuardedRepository, tx: SqlTransaction, item: OutboxItem, now: datetime, reason: str
) -> None:
    focus_type, focus_id, _ = item.focus_ref
    owner = item.sender
    if not owner.startswith("Organization/"):
        # A sender that is no unit (a citizen's message: a Patient, a proxy's
        # RelatedPerson) has no queue: the failure goes to the monitored error queue.
        owner = f"Organization/{repo.settings.result_error_queue_unit}"
    task = model.work_item(
        model.DELIVERY_FAILURE,
        owner=owner,
        patient=f"Patient/{item.patient_id}" if item.patient_id else None,
        focus=f"{focus_type}/{focus_id}",
        authored=now.isoformat(timespec="seconds"),
        due=now.date().isoformat(),
        priority="urgent",
        description=(
            f"{messages.KINDS.get(item.kind, item.kind)} til {item.recipient} ble ikke levert: "
            f"{reason}"
        ),
    )
    repo.workflow_engine(1).create("Task", task, tx=tx)


# -- FHIR messages and receipts ---------------------------------------------------------------


def message_bundle(
    repo: GuardedRepository,
    tx: SqlTransaction,
    item: OutboxItem,
    unit: units.UnitInfo,
    endpoint: Resource,
    now: datetime,
) -> Resource:
    """The FHIR message for ``item``: MessageHeader, the Communication (the version that
    was sent), its patient and the resources its payload and ``about`` reference."""
    focus_type, focus_id, version = item.focus_ref
    shown: list[StoredResource] = []  # what the message discloses: one audit event
    current = tx.read(focus_type, focus_id)
    if version is None or (current and not current.deleted and current.version == version):
        stored = repo.read(focus_type, focus_id, tx=tx, audit=False)
        shown.append(stored)
    else:  # changed since it was sent: the version that was sent (vread audits it)
        stored = repo.vread(focus_type, focus_id, str(version))
    assert stored.content is not None
    focus = dict(jsonio.loads(stored.content))
    entries: list[Resource] = []
    seen: set[str] = set()

    def add(resource: Resource) -> None:
        ref = f"{resource['resourceType']}/{resource.get('id')}"
        if ref not in seen:
            seen.add(ref)
            entries.append(
                {"fullUrl": f"{repo.settings.fhir_base_url}/{ref}", "resource": resource}
            )

    header: Resource = {
        "resourceType": "MessageHeader",
        "id": item.message_id,
        "eventCoding": {
            "system": messages.KIND_SYSTEM,
            "code": item.kind,
            "display": messages.KINDS.get(item.kind, item.kind),
        },
        "destination": [
            {"endpoint": str(endpoint["address"]), "receiver": {"reference": item.recipient}}
        ],
        "sender": {"reference": item.sender},
        "source": {"name": "Fellesjournal", "endpoint": repo.settings.fhir_base_url},
        "focus": [{"reference": f"{focus_type}/{focus_id}"}],
    }
    entries.append({"fullUrl": f"urn:uuid:{item.message_id}", "resource": header})
    add(focus)
    for ref in _referenced(focus):
        res_type, _, res_id = ref.partition("/")
        try:
            found = repo.read(res_type, res_id, tx=tx, audit=False)
        except FhirError:
            continue
        if found.content:
            shown.append(found)
            add(dict(jsonio.loads(found.content)))
    repo.gate.disclosed(tx, "read", shown)
    return {
        "resourceType": "Bundle",
        "id": item.message_id,
        "type": "message",
        "timestamp": now.isoformat(timespec="seconds"),
        "entry": entries,
    }


def _referenced(communication: Resource) -> list[str]:
    refs: list[str] = []
    subject = (communication.get("subject") or {}).get("reference")
    if isinstance(subject, str):
        refs.append(subject)
    for about in communication.get("about") or ():
        if isinstance(about.get("reference"), str):
            refs.append(about["reference"])
    for part in communication.get("payload") or ():
        ref = (part.get("contentReference") or {}).get("reference")
        if isinstance(ref, str):
            refs.append(ref)
    return [r for r in refs if r.count("/") == 1]


@dataclass(frozen=True, slots=True)
class Receipt:
    message_id: str  #: the id of the message it answers
    code: str  #: ok, transient-error or fatal-error
    text: str = ""


def parse_receipt(bundle: Any) -> Receipt | None:
    """The application receipt in a message Bundle, or None when it is not one."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return None
    for entry in bundle.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "MessageHeader":
            continue
        response = resource.get("response")
        if not isinstance(response, dict):
            return None
        code = response.get("code")
        identifier = response.get("identifier")
        if code not in (OK, TRANSIENT, FATAL) or not isinstance(identifier, str):
            return None
        text = ""
        for other in bundle.get("entry") or ():
            res = other.get("resource") if isinstance(other, dict) else None
            if isinstance(res, dict) and res.get("resourceType") == "OperationOutcome":
                text = "; ".join(
                    str(i.get("diagnostics") or "") for i in res.get("issue") or ()
                ).strip("; ")
        return Receipt(identifier, code, text)
    return None


def _receipt_in(response: httpx.Response) -> Receipt | None:
    try:
        return parse_receipt(response.json())
    except ValueError:
        return None


def _apply(
    repo: GuardedRepository,
    tx: SqlTransaction,
    item: OutboxItem,
    receipt: Receipt,
    now: datetime,
    stats: RoundStats,
    expect: tuple[str, int] | None = None,
) -> None:
    if receipt.message_id != item.message_id:
        reason = "the receipt names another message"
        _retry_or_fail(repo, tx, item, now, reason, stats, expect)
        return
    if receipt.code == OK:
        kept = {"route": "fhir-message", "code": OK, "text": receipt.text}
        stats.delivered += _delivered(tx, item, now, kept, expect)
    elif receipt.code == TRANSIENT:
        reason = f"receiver: {receipt.text or TRANSIENT}"
        _retry_or_fail(repo, tx, item, now, reason, stats, expect)
    else:
        _fail(repo, tx, item, now, f"error receipt: {receipt.text or FATAL}", stats, expect=expect)


def apply_receipt(repo: GuardedRepository, bundle: Any, now: datetime | None = None) -> str:
    """Apply an application receipt that came in on its own (``$process-message``);
    the state the message is in afterwards. Raises 422 for a bundle that is not a
    receipt and 404 for a receipt of no message we sent."""
    from fellesjournal.fhir.errors import error

    receipt = parse_receipt(bundle)
    if receipt is None:
        raise error(
            422,
            "invalid",
            "not an application receipt: a message Bundle whose MessageHeader.response has "
            "an identifier and a code (ok, transient-error, fatal-error)",
        )
    now = now or datetime.now(UTC)
    stats = RoundStats()
    with repo.writing() as tx:
        item = outbox.by_message_id(tx, receipt.message_id, lock=True)
        if item is None:
            raise error(404, "not-found", f"no message {receipt.message_id} was sent from here")
        if item.state in (outbox.DELIVERED, outbox.FAILED):
            return item.state  # a repeated receipt changes nothing
        _apply(repo, tx, item, receipt, now, stats)
        after = outbox.by_message_id(tx, receipt.message_id)
        assert after is not None
        return after.state
