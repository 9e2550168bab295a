"""The delivery worker: moves outbox rows to delivered, or to failed with a work item.

One round (:func:`deliver_due`) takes the due rows (``outbox.due``), leases them, and
delivers each in a transaction of its own:

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
  again). Errors, timeouts and dropped connections are retried with exponential backoff
  until ``outbox_max_attempts``; then the row is failed.

"Delivered" is set only with a receipt; a row is never deleted. Every failure puts a
``delivery-failure`` work item in the sender unit's queue in the same transaction.
Reads of the message content go through the guarded repository (audited: a message to
another organisation discloses the record).
"""

from __future__ import annotations

import logging
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
from fellesjournal.settings import Settings
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
}
#: Working days the receiving unit has to read a message (one, as home care promises).
READ_WITHIN_WORKING_DAYS: Final = 1
#: Receipt codes of MessageHeader.response.
OK: Final = "ok"
TRANSIENT: Final = "transient-error"
FATAL: Final = "fatal-error"


@dataclass(slots=True)
class RoundStats:
    delivered: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.delivered + self.sent + self.retried + self.failed


def worker_repository(store: SqlStore, settings: Settings) -> GuardedRepository:
    """The worker's repository. Its reads' events are flushed after each message's
    transaction (``defer_audit``): flushing opens a transaction of its own, which must not
    wait on the one still open (SQLite has one writer)."""
    return GuardedRepository(store, settings, RequestContext(actor=OUTBOX_ACTOR), defer_audit=True)


def _us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1_000_000, UTC).isoformat(timespec="seconds")


def deliver_due(
    repo: GuardedRepository,
    client: httpx.Client | None = None,
    *,
    now: datetime | None = None,
    limit: int | None = None,
) -> RoundStats:
    """One round of delivery; what happened to the rows it took."""
    settings = repo.settings
    now = now or datetime.now(UTC)
    at = _us(now)
    stats = RoundStats()
    lease = at + int((settings.outbox_timeout_s + 60) * 1_000_000)
    with repo.writing() as tx:
        taken = [
            item
            for item in outbox.due(tx, at, limit or settings.outbox_batch)
            if outbox.claim(tx, item, lease)
        ]
    own_client = client is None
    http = client or httpx.Client(timeout=settings.outbox_timeout_s)
    try:
        for item in taken:
            try:
                _deliver_one(repo, http, item, now, stats)
            except Exception:
                log.exception("outbox: delivering %s failed unexpectedly", item.message_id)
                with repo.writing() as tx:
                    _retry_or_fail(repo, tx, item, now, "internal error while delivering", stats)
    finally:
        if own_client:
            http.close()
    return stats


def _deliver_one(
    repo: GuardedRepository, http: httpx.Client, item: OutboxItem, now: datetime, stats: RoundStats
) -> None:
    with repo.writing() as tx:
        if item.recipient.startswith("Patient/"):
            _delivered(tx, item, now, {"route": "patient-record", "recipient": item.recipient})
            stats.delivered += 1
            return
        unit = units.unit(tx, item.recipient)
        if unit is None:
            _fail(repo, tx, item, now, f"the recipient {item.recipient} is not a known unit", stats)
            return
        if unit.member:
            task = _internal_task(repo, tx, item, unit, now)
            _delivered(tx, item, now, {"route": "internal", "task": f"Task/{task}"})
            stats.delivered += 1
            return
        search = _search(repo, tx)
        endpoint = units.message_endpoint(tx, search, unit.id)
        if endpoint is None or not endpoint.get("address"):
            _fail(
                repo,
                tx,
                item,
                now,
                f"{unit.name} is outside the shared record and has no FHIR messaging "
                "address (Endpoint)",
                stats,
            )
            return
        try:
            bundle = message_bundle(repo, tx, item, unit, endpoint, now)
        except FhirError as exc:
            _fail(repo, tx, item, now, f"the message cannot be built: {exc}", stats)
            return
    # The HTTP call runs outside any transaction: a slow receiver holds no lock.
    address = str(endpoint["address"])
    try:
        response = http.post(
            address,
            content=jsonio.dumps(bundle),
            headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"},
        )
    except httpx.HTTPError as exc:
        with repo.writing() as tx:
            _retry_or_fail(repo, tx, item, now, f"{type(exc).__name__}: {exc}", stats)
        return
    with repo.writing() as tx:
        if response.status_code >= 500 or response.status_code in (408, 429):
            _retry_or_fail(repo, tx, item, now, f"HTTP {response.status_code}", stats)
            return
        if response.status_code >= 400:
            _fail(repo, tx, item, now, f"refused: HTTP {response.status_code}", stats)
            return
        receipt = _receipt_in(response)
        if receipt is None:
            deadline = _us(now) + int(repo.settings.outbox_receipt_timeout_s * 1_000_000)
            outbox.update(
                tx,
                item.id,
                state=outbox.SENT,
                attempts=item.attempts + 1,
                sent=_us(now),
                next_attempt=deadline,
                last_error=None,
            )
            stats.sent += 1
            return
        _apply(repo, tx, item, receipt, now, stats)


def _search(repo: GuardedRepository, tx: SqlTransaction) -> units.Search:
    from fellesjournal.service.searching import Searcher

    def search(res_type: str, params: list[tuple[str, str]]) -> list[str]:
        req = repo.parser.parse(res_type, params)
        req.count = 100
        req.total = "none"
        return Searcher(tx, repo.store.registry).ids(req)

    return search


def _internal_task(
    repo: GuardedRepository,
    tx: SqlTransaction,
    item: OutboxItem,
    unit: units.UnitInfo,
    now: datetime,
) -> str:
    focus_type, focus_id, _ = item.focus_ref
    due = add_working_days(now.date(), READ_WITHIN_WORKING_DAYS).isoformat()
    task = model.work_item(
        TASK_KIND.get(item.kind, model.MESSAGE),
        owner=unit.reference,
        patient=f"Patient/{item.patient_id}" if item.patient_id else None,
        focus=f"{focus_type}/{focus_id}",
        authored=now.isoformat(timespec="seconds"),
        due=due,
        requester=item.sender,
        description=messages.KINDS.get(item.kind, item.kind),
    )
    engine = repo.workflow_engine(1)
    return engine.create("Task", task, tx=tx).stored.res_id


def _delivered(tx: SqlTransaction, item: OutboxItem, now: datetime, receipt: Resource) -> None:
    at = _us(now)
    outbox.update(
        tx,
        item.id,
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
) -> None:
    attempts = item.attempts + 1
    settings = repo.settings
    if attempts >= settings.outbox_max_attempts:
        _fail(repo, tx, item, now, f"{reason} (after {attempts} attempts)", stats, attempts)
        return
    delay = min(settings.outbox_retry_base_s * 2 ** (attempts - 1), 3600.0)
    outbox.update(
        tx,
        item.id,
        state=outbox.QUEUED,
        attempts=attempts,
        next_attempt=_us(now + timedelta(seconds=delay)),
        last_error=reason,
    )
    stats.retried += 1


def _fail(
    repo: GuardedRepository,
    tx: SqlTransaction,
    item: OutboxItem,
    now: datetime,
    reason: str,
    stats: RoundStats,
    attempts: int | None = None,
) -> None:
    """Fail the row and put the failure in the sender unit's queue, in ``tx``."""
    outbox.update(
        tx,
        item.id,
        state=outbox.FAILED,
        attempts=attempts if attempts is not None else item.attempts + 1,
        last_error=reason,
    )
    focus_type, focus_id, _ = item.focus_ref
    task = model.work_item(
        model.DELIVERY_FAILURE,
        owner=item.sender,
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
    stats.failed += 1


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
    if version is not None:
        stored = repo.vread(focus_type, focus_id, str(version))
    else:
        stored = repo.read(focus_type, focus_id, tx=tx)
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
            found = repo.read(res_type, res_id, tx=tx)
        except FhirError:
            continue
        if found.content:
            add(dict(jsonio.loads(found.content)))
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
) -> None:
    if receipt.message_id != item.message_id:
        _retry_or_fail(repo, tx, item, now, "the receipt names another message", stats)
        return
    if receipt.code == OK:
        _delivered(tx, item, now, {"route": "fhir-message", "code": OK, "text": receipt.text})
        stats.delivered += 1
    elif receipt.code == TRANSIENT:
        _retry_or_fail(repo, tx, item, now, f"receiver: {receipt.text or TRANSIENT}", stats)
    else:
        _fail(repo, tx, item, now, f"error receipt: {receipt.text or FATAL}", stats)


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
        item = outbox.by_message_id(tx, receipt.message_id)
        if item is None:
            raise error(404, "not-found", f"no message {receipt.message_id} was sent from here")
        if item.state in (outbox.DELIVERED, outbox.FAILED):
            return item.state  # a repeated receipt changes nothing
        _apply(repo, tx, item, receipt, now, stats)
        after = outbox.by_message_id(tx, receipt.message_id)
        assert after is not None
        return after.state
