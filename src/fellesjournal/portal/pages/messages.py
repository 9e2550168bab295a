"""Messages in the portal: threads with the units that treat the patient.

* ``GET /portal/messages``: the patient's conversations (:func:`threads`): the
  Communications of the kinds between patient and units (:data:`THREAD_KINDS`) with the
  patient as ``subject`` and the patient's side (the Patient, or a proxy's RelatedPerson)
  as sender or recipient, grouped by ``inResponseTo`` into threads, the newest first.
* ``GET|POST /portal/messages/new``: a new ``pasientmelding`` to one of the units that
  treat the patient (:func:`treating_units`: their Encounters, EpisodeOfCare, CareTeams,
  Appointments, their fastlege, and the units they already write with).
* ``GET|POST /portal/messages/{id}``: the thread holding message ``id``, oldest first,
  with each sent message's delivery state, and a reply to the unit (``inResponseTo``
  the thread's latest message).

A message the citizen sends is written with ``workflows.messages.communication`` from
the Patient (or from the proxy's RelatedPerson, docs/portal.md); the outbox delivers it
as a work item in the unit's queue, and the unit's answer (a Communication from the unit
to the patient, ``inResponseTo`` the message) shows in the thread. Needs the capability
``act``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from fellesjournal.fhir.errors import FhirError, error, not_found
from fellesjournal.portal.base import Answered, Portal, answers, checked_form, page
from fellesjournal.portal.pages.acting import (
    MAX_TEXT,
    Directory,
    care_references,
    clean_text,
    general_practitioners,
    is_citizen_side,
    iso,
    load,
    now_utc,
    patient_appointments,
    ref_of,
    search_all,
    sender_reference,
)
from fellesjournal.portal.pages.appointments import unit_of as appointment_unit
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.web.i18n import N_
from fellesjournal.workflows import messages, outbox

Resource = dict[str, Any]

#: The kinds of message between patient and units (docs/portal.md), as the pages name them.
THREAD_KINDS: Final[dict[str, str]] = {
    "pasientmelding": N_("Message"),
    "timeforesporsel": N_("Request for a new time"),
    "avbestilling": N_("Cancellation"),
    "vurderingsbrev": N_("Answer to a referral"),
    "innkalling": N_("Notice of an appointment"),
}
#: The kind of a message the citizen writes.
MESSAGE_KIND: Final = "pasientmelding"
#: Delivery states of the outbox, in plain words.
DELIVERY_LABELS: Final[dict[str, str]] = {
    "queued": N_("Sending"),
    "sent": N_("Sent"),
    "delivered": N_("Delivered to the unit"),
    "failed": N_("Not delivered yet: the unit has been alerted"),
}
#: The most messages a page reads (a citizen's conversations over many years).
MAX_MESSAGES: Final = 1000


@dataclass(frozen=True, slots=True)
class MessageView:
    id: str
    kind: str
    kind_label: str
    sent: str
    from_patient: bool
    sender_name: str
    text: str
    delivery: str  #: a key of :data:`DELIVERY_LABELS`, or "" (the unit's messages)
    in_response_to: str | None


@dataclass(frozen=True, slots=True)
class Thread:
    """One conversation with a unit, oldest message first."""

    id: str  #: the first message's id
    unit: str | None  #: ``Organization/id``
    unit_name: str
    kind_label: str
    messages: list[MessageView]

    @property
    def last(self) -> MessageView:
        return self.messages[-1]

    @property
    def answered(self) -> bool:
        return (
            any(not m.from_patient for m in self.messages[1:]) or not self.messages[0].from_patient
        )


def _text(comm: Resource) -> str:
    return "\n".join(
        str(p["contentString"])
        for p in comm.get("payload") or ()
        if isinstance(p, dict) and p.get("contentString")
    )


def _recipients(comm: Resource) -> list[str]:
    return [r for r in (ref_of(x) for x in comm.get("recipient") or ()) if r]


def _counterpart(comm: Resource, directory: Directory) -> str | None:
    """The unit at the other end of ``comm``: the recipient unit of the patient's
    message, the sending unit of the unit's."""
    sender = ref_of(comm.get("sender"))
    if is_citizen_side(sender):
        for recipient in _recipients(comm):
            unit = directory.unit_of(recipient)
            if unit:
                return unit
        return None
    return directory.unit_of(sender)


def conversation_messages(repo: GuardedRepository, patient_id: str) -> list[Resource]:
    """The patient's messages with units (sent by or to the patient's side)."""
    kinds = ",".join(f"{messages.KIND_SYSTEM}|{k}" for k in THREAD_KINDS)
    found = search_all(
        repo,
        "Communication",
        [("subject", f"Patient/{patient_id}"), ("category", kinds)],
        limit=MAX_MESSAGES,
    )
    out = []
    for stored in found:
        comm = load(stored)
        if comm.get("status") in ("preparation", "entered-in-error", "not-done"):
            continue
        ends = [ref_of(comm.get("sender")), *_recipients(comm)]
        if any(is_citizen_side(ref) for ref in ends):
            out.append(comm)
    return out


def delivery_states(repo: GuardedRepository, patient_id: str) -> dict[str, str]:
    """The outbox state of the patient's messages, by Communication id (the best state
    over its recipients: delivered wins). Read after the guarded search that decided
    which messages the citizen sees, as ``Communication/$delivery`` does."""
    rank = {"failed": 0, "queued": 1, "sent": 2, "delivered": 3}
    out: dict[str, str] = {}
    with repo.reading() as tx:
        rows = outbox.items(tx, patient_id=patient_id, limit=5 * MAX_MESSAGES)
    for row in rows:
        res_type, res_id, _ = row.focus_ref
        if res_type != "Communication":
            continue
        if rank.get(row.state, -1) > rank.get(out.get(res_id, ""), -1):
            out[res_id] = row.state
    return out


def threads(repo: GuardedRepository, patient_id: str) -> list[Thread]:
    """The patient's conversations, the one with the newest message first."""
    comms = conversation_messages(repo, patient_id)
    by_id = {str(c.get("id")): c for c in comms}
    directory = Directory(repo)
    directory.fetch(ref for c in comms for ref in [ref_of(c.get("sender")), *_recipients(c)])
    states = delivery_states(repo, patient_id) if comms else {}

    def parent(comm: Resource) -> str | None:
        for item in comm.get("inResponseTo") or ():
            ref = ref_of(item)
            if ref and ref.startswith("Communication/") and ref.split("/", 1)[1] in by_id:
                return ref.split("/", 1)[1]
        return None

    def root(comm_id: str) -> str:
        seen = {comm_id}
        current = comm_id
        while (up := parent(by_id[current])) is not None and up not in seen:
            seen.add(up)
            current = up
        return current

    grouped: dict[str, list[Resource]] = {}
    for comm_id in by_id:
        grouped.setdefault(root(comm_id), []).append(by_id[comm_id])
    out = []
    for root_id, items in grouped.items():
        # Sent to the second: within one, the order they were stored in.
        items.sort(
            key=lambda c: (
                str(c.get("sent") or ""),
                str((c.get("meta") or {}).get("lastUpdated") or ""),
                str(c.get("id")),
            )
        )
        first = by_id[root_id]
        unit = _counterpart(first, directory) or next(
            (u for u in (_counterpart(c, directory) for c in items) if u), None
        )
        kind = messages.kind_of(first) or MESSAGE_KIND
        out.append(
            Thread(
                id=root_id,
                unit=unit,
                unit_name=directory.name(unit),
                kind_label=THREAD_KINDS.get(kind, THREAD_KINDS[MESSAGE_KIND]),
                messages=[_view(c, directory, states) for c in items],
            )
        )
    out.sort(key=lambda t: (t.last.sent, t.id), reverse=True)
    return out


def _view(comm: Resource, directory: Directory, states: dict[str, str]) -> MessageView:
    sender_ref = ref_of(comm.get("sender"))
    from_patient = is_citizen_side(sender_ref)
    kind = messages.kind_of(comm) or MESSAGE_KIND
    sender = comm.get("sender") or {}
    if from_patient:
        proxy = (sender_ref or "").startswith("RelatedPerson/")
        name = str(sender.get("display") or "") if proxy else ""
    else:
        unit = directory.unit_of(sender_ref)
        name = directory.name(sender_ref, str(sender.get("display") or ""))
        if unit and unit != sender_ref:
            name = f"{name}, {directory.name(unit)}"
    reply_to = next((ref_of(r) for r in comm.get("inResponseTo") or () if ref_of(r)), None)
    comm_id = str(comm.get("id"))
    return MessageView(
        id=comm_id,
        kind=kind,
        kind_label=THREAD_KINDS.get(kind, THREAD_KINDS[MESSAGE_KIND]),
        sent=str(comm.get("sent") or ""),
        from_patient=from_patient,
        sender_name=name,
        text=_text(comm),
        delivery=states.get(comm_id, "") if from_patient else "",
        in_response_to=reply_to,
    )


def thread_of(repo: GuardedRepository, patient_id: str, message_id: str) -> Thread:
    """The thread holding message ``message_id`` (404 when the patient has none)."""
    for thread in threads(repo, patient_id):
        if any(m.id == message_id for m in thread.messages):
            return thread
    raise not_found(f"Communication/{message_id} not found")


@dataclass(frozen=True, slots=True)
class Unit:
    reference: str  #: ``Organization/id``
    name: str


def treating_units(repo: GuardedRepository, patient_id: str) -> list[Unit]:
    """The units the patient may write to: those of their Encounters, EpisodeOfCare,
    CareTeams and Appointments, their fastlege, and those they already write with;
    sorted by name."""
    refs = care_references(repo, patient_id)
    directory = Directory(repo)
    for appointment in patient_appointments(repo, patient_id):
        unit = appointment_unit(appointment, directory)
        if unit:
            refs.append(unit)
    refs += general_practitioners(repo, patient_id)
    directory.fetch(refs)
    units = {directory.unit_of(r) for r in refs}
    units |= {t.unit for t in threads(repo, patient_id)}
    found = [Unit(u, directory.name(u, u)) for u in units if u]
    return sorted(found, key=lambda u: (u.name.casefold(), u.reference))


def _check_text(text: str) -> str:
    text = clean_text(text)
    if not text or len(text) > MAX_TEXT:
        raise error(422, "invalid", f"a message needs 1 to {MAX_TEXT} characters")
    return text


def send_new(
    repo: GuardedRepository,
    patient_id: str,
    unit: str,
    text: str,
    now: dt.datetime | None = None,
) -> str:
    """A new message from the patient (or proxy) to ``unit`` (``Organization/id``, one of
    :func:`treating_units`); the Communication's id. 422 for another unit or a text
    that is empty or too long."""
    text = _check_text(text)
    units = {u.reference: u for u in treating_units(repo, patient_id)}
    if unit not in units:
        raise error(422, "business-rule", f"{unit} is not among the units that treat you")
    return _send(repo, patient_id, units[unit], text, None, now)


def reply(
    repo: GuardedRepository,
    patient_id: str,
    message_id: str,
    text: str,
    now: dt.datetime | None = None,
) -> str:
    """A reply in the thread of ``message_id`` to the thread's unit, ``inResponseTo``
    the thread's latest message; the new Communication's id. 404 when the thread is not
    the patient's, 422 when it has no unit or for a bad text."""
    text = _check_text(text)
    thread = thread_of(repo, patient_id, message_id)
    if thread.unit is None:
        raise error(422, "business-rule", "the conversation names no unit to answer")
    unit = Unit(thread.unit, thread.unit_name)
    return _send(repo, patient_id, unit, text, f"Communication/{thread.last.id}", now)


def _send(
    repo: GuardedRepository,
    patient_id: str,
    unit: Unit,
    text: str,
    in_response_to: str | None,
    now: dt.datetime | None,
) -> str:
    sender = sender_reference(repo.ctx.actor)
    message = messages.communication(
        MESSAGE_KIND,
        sender=sender["reference"],
        recipients=[unit.reference],
        patient=f"Patient/{patient_id}",
        sent=iso(now or now_utc()),
        text=text,
        in_response_to=in_response_to,
    )
    message["sender"] = sender
    message["recipient"] = [{"reference": unit.reference, "display": unit.name}]
    return str(repo.create("Communication", message).stored.res_id)


# -- pages ------------------------------------------------------------------------------


class MessagePages:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    @answers
    async def index(self, request: Request) -> Response:
        repo, patient_id = self.portal.page_repository(request, "act")
        return page(request, "portal/messages.html", threads=threads(repo, patient_id))

    @answers
    async def new(self, request: Request) -> Response:
        repo, patient_id = self.portal.page_repository(request, "act")
        units = treating_units(repo, patient_id)
        chosen, text, problem = str(request.query_params.get("unit") or ""), "", ""
        if request.method == "POST":
            form = await checked_form(request)
            chosen, text = str(form.get("unit") or ""), clean_text(form.get("text"))
            if chosen not in {u.reference for u in units}:
                problem = "unit"
            elif not text or len(text) > MAX_TEXT:
                problem = "text"
            else:
                new_id = send_new(repo, patient_id, chosen, text)
                return RedirectResponse(f"/portal/messages/{new_id}?done=sent", status_code=303)
        return page(
            request,
            "portal/message_new.html",
            status_code=422 if problem else 200,
            units=units,
            chosen=chosen,
            text=text[:MAX_TEXT],
            problem=problem,
            max_text=MAX_TEXT,
        )

    @answers
    async def thread(self, request: Request) -> Response:
        repo, patient_id = self.portal.page_repository(request, "act")
        message_id = str(request.path_params["message_id"])
        text, problem = "", False
        if request.method == "POST":
            form = await checked_form(request)
            text = clean_text(form.get("text"))
            if text and len(text) <= MAX_TEXT:
                new_id = reply(repo, patient_id, message_id, text)
                return RedirectResponse(f"/portal/messages/{new_id}?done=sent", status_code=303)
            problem = True
        try:
            found = thread_of(repo, patient_id, message_id)
        except FhirError as exc:
            if exc.status == 404:
                raise Answered(page(request, "portal/not_found.html", status_code=404)) from None
            raise
        return page(
            request,
            "portal/message_thread.html",
            status_code=422 if problem else 200,
            thread=found,
            text=text[:MAX_TEXT],
            problem=problem,
            max_text=MAX_TEXT,
            done=str(request.query_params.get("done") or ""),
            delivery_labels=DELIVERY_LABELS,
        )


def routes(portal: Portal) -> list[BaseRoute]:
    pages = MessagePages(portal)
    return [
        Route("/portal/messages", pages.index),
        Route("/portal/messages/new", pages.new, methods=["GET", "POST"]),
        Route("/portal/messages/{message_id}", pages.thread, methods=["GET", "POST"]),
    ]
