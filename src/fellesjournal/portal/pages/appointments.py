"""Appointments in the portal: upcoming and past, cancel one, ask for a new time.

* ``GET /portal/appointments``: the Appointments with the patient as participant
  (:func:`appointment_list`), upcoming first (soonest first), then past and cancelled
  (newest first). The unit of each is its PractitionerRole's organisation, else its
  HealthcareService's provider, else its Location's managing organisation.
* ``GET|POST /portal/appointments/{id}/cancel``: a confirmation page, then
  :func:`cancel`: an update that changes only ``status`` (from proposed, pending or
  booked) to ``cancelled`` and sets ``cancelationReason`` ``pat`` (docs/portal.md); the
  workflow engine puts a work item in the unit's queue.
* ``GET|POST /portal/appointments/{id}/new-time``: a text, sent by :func:`ask_new_time`
  as a ``timeforesporsel`` Communication about the Appointment to its unit; the outbox
  delivers it as an ``appointment-request`` work item in the unit's queue.

Seeing appointments needs the capability ``appointments``; cancelling and asking for a
new time need ``act`` (``access/proxy.py``); the repository enforces the same.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from fellesjournal.fhir.errors import conflict, error, not_found
from fellesjournal.portal.base import Portal, answers, checked_form, page
from fellesjournal.portal.pages.acting import (
    MAX_TEXT,
    Directory,
    clean_text,
    concept_text,
    iso,
    load,
    now_utc,
    read_own,
    ref_of,
    search_all,
    sender_reference,
    without_meta,
)
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.web.i18n import N_
from fellesjournal.workflows import messages

Resource = dict[str, Any]

#: Appointments the patient may cancel (docs/portal.md).
CANCELLABLE: Final = frozenset({"proposed", "pending", "booked"})
#: Appointments still ahead of the patient (the others are past or called off).
ACTIVE: Final = frozenset({"proposed", "pending", "booked", "arrived", "checked-in", "waitlist"})
CANCELLATION_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
PATIENT_CANCELLED: Final = {"system": CANCELLATION_SYSTEM, "code": "pat", "display": "Patient"}
#: Appointment statuses in plain words.
STATUS_LABELS: Final[dict[str, str]] = {
    "proposed": N_("Proposed"),
    "pending": N_("Awaiting confirmation"),
    "booked": N_("Booked"),
    "arrived": N_("Arrived"),
    "checked-in": N_("Checked in"),
    "waitlist": N_("On the waiting list"),
    "fulfilled": N_("Completed"),
    "cancelled": N_("Cancelled"),
    "noshow": N_("Not attended"),
}
#: The kind of message that asks for a new time (docs/portal.md).
NEW_TIME_KIND: Final = "timeforesporsel"
#: The participant types whose unit is the appointment's, in order of preference.
UNIT_PARTICIPANTS: Final = ("PractitionerRole", "HealthcareService", "Location")


@dataclass(frozen=True, slots=True)
class AppointmentView:
    """One appointment as the portal shows it."""

    id: str
    version: int
    status: str
    status_label: str
    start: str | None
    end: str | None
    what: str  #: the service, type or description
    unit: str | None  #: ``Organization/id``
    unit_name: str
    where: str  #: the location's name
    with_whom: list[str]  #: the health workers named
    instruction: str  #: the patient's instruction (what to bring, fasting...)
    upcoming: bool
    cancellable: bool
    cancelled_by_patient: bool


@dataclass(frozen=True, slots=True)
class Appointments:
    upcoming: list[AppointmentView]
    past: list[AppointmentView]


def _participants(appointment: Resource) -> list[str]:
    out = []
    for participant in appointment.get("participant") or ():
        ref = ref_of((participant or {}).get("actor"))
        if ref:
            out.append(ref)
    return out


def unit_of(appointment: Resource, directory: Directory) -> str | None:
    """The appointment's unit (``Organization/id``; see the module docstring)."""
    refs = _participants(appointment)
    for res_type in UNIT_PARTICIPANTS:
        for ref in refs:
            if ref.startswith(f"{res_type}/"):
                unit = directory.unit_of(ref)
                if unit:
                    return unit
    return None


def view(
    appointment: Resource, version: int, directory: Directory, now: dt.datetime
) -> AppointmentView:
    refs = _participants(appointment)
    directory.fetch(refs)
    status = str(appointment.get("status") or "")
    start = appointment.get("start")
    end = appointment.get("end")
    moment = _moment(end) or _moment(start)
    upcoming = status in ACTIVE and (moment is None or moment >= now)
    unit = unit_of(appointment, directory)
    # What it is for, in the unit's own words first (the service is often the unit).
    what = (
        str(appointment.get("description") or "")
        or concept_text(appointment.get("appointmentType"))
        or next(
            (concept_text(c) for c in appointment.get("serviceType") or () if concept_text(c)), ""
        )
    )
    where = next(
        (directory.name(r) for r in refs if r.startswith("Location/") and directory.name(r)), ""
    )
    people = [
        directory.name(r)
        for r in refs
        if r.split("/", 1)[0] in ("Practitioner", "PractitionerRole") and directory.name(r)
    ]
    reason = appointment.get("cancelationReason") or {}
    return AppointmentView(
        id=str(appointment.get("id")),
        version=version,
        status=status,
        status_label=STATUS_LABELS.get(status, status),
        start=start if isinstance(start, str) else None,
        end=end if isinstance(end, str) else None,
        what=what,
        unit=unit,
        unit_name=directory.name(unit),
        where=where,
        with_whom=sorted(set(people)),
        instruction=str(appointment.get("patientInstruction") or ""),
        upcoming=upcoming,
        cancellable=upcoming and status in CANCELLABLE,
        cancelled_by_patient=any(
            c.get("code") == "pat" for c in reason.get("coding") or () if isinstance(c, dict)
        ),
    )


def _moment(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def appointment_list(
    repo: GuardedRepository, patient_id: str, now: dt.datetime | None = None
) -> Appointments:
    """The patient's appointments: upcoming (soonest first), past and cancelled (newest
    first). One guarded search for the appointments, one per directory type."""
    now = now or now_utc()
    found = search_all(repo, "Appointment", [("patient", f"Patient/{patient_id}")])
    resources = [(load(s), s.version) for s in found if s.content]
    resources = [(a, v) for a, v in resources if a.get("status") != "entered-in-error"]
    directory = Directory(repo)
    directory.fetch(ref for a, _ in resources for ref in _participants(a))
    views = [view(a, v, directory, now) for a, v in resources]
    upcoming = sorted((v for v in views if v.upcoming), key=lambda v: v.start or "")
    past = sorted((v for v in views if not v.upcoming), key=lambda v: v.start or "", reverse=True)
    return Appointments(upcoming, past)


def one(
    repo: GuardedRepository, patient_id: str, appointment_id: str, now: dt.datetime | None = None
) -> tuple[Resource, AppointmentView]:
    """The patient's appointment ``appointment_id`` (404 when it is not theirs)."""
    appointment, version = read_own(repo, "Appointment", appointment_id)
    if f"Patient/{patient_id}" not in _participants(appointment):
        raise not_found(f"Appointment/{appointment_id} not found")
    return appointment, view(appointment, version, Directory(repo), now or now_utc())


def cancel(
    repo: GuardedRepository,
    patient_id: str,
    appointment_id: str,
    version: int,
    now: dt.datetime | None = None,
) -> None:
    """Cancel the appointment as the patient: only ``status`` and
    ``cancelationReason`` change. 409 when it changed since ``version`` was shown or
    cannot be cancelled (any more)."""
    appointment, shown = one(repo, patient_id, appointment_id, now)
    if shown.version != version:
        raise conflict(f"Appointment/{appointment_id} was changed meanwhile")
    if not shown.cancellable:
        raise conflict(f"Appointment/{appointment_id} is {shown.status}: it cannot be cancelled")
    updated = without_meta(appointment)
    updated["status"] = "cancelled"
    updated["cancelationReason"] = {"coding": [dict(PATIENT_CANCELLED)]}
    repo.update("Appointment", appointment_id, updated, if_match=version)


def ask_new_time(
    repo: GuardedRepository,
    patient_id: str,
    appointment_id: str,
    text: str,
    now: dt.datetime | None = None,
) -> str:
    """Ask the appointment's unit for a new time: a ``timeforesporsel`` Communication
    about the Appointment, from the patient (or their proxy) to the unit; its id. 422
    for an empty or too long text, or an appointment without a unit to ask."""
    now = now or now_utc()
    text = clean_text(text)
    if not text or len(text) > MAX_TEXT:
        raise error(422, "invalid", f"the message needs 1 to {MAX_TEXT} characters")
    _, shown = one(repo, patient_id, appointment_id, now)
    if shown.unit is None:
        raise error(422, "business-rule", "the appointment names no unit to ask")
    message = messages.communication(
        NEW_TIME_KIND,
        sender=sender_reference(repo.ctx.actor)["reference"],
        recipients=[shown.unit],
        patient=f"Patient/{patient_id}",
        sent=iso(now),
        about=[f"Appointment/{appointment_id}"],
        text=text,
    )
    message["sender"] = sender_reference(repo.ctx.actor)
    message["recipient"][0]["display"] = shown.unit_name or shown.unit
    return str(repo.create("Communication", message).stored.res_id)


# -- pages ------------------------------------------------------------------------------


class AppointmentPages:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    @answers
    async def index(self, request: Request) -> Response:
        repo = self.portal.repository(request)
        self.portal.require(request, "appointments")
        patient_id = self.portal.patient_id(request)
        found = appointment_list(repo, patient_id)
        return page(
            request,
            "portal/appointments.html",
            appointments=found,
            done=str(request.query_params.get("done") or ""),
        )

    @answers
    async def cancel(self, request: Request) -> Response:
        repo = self.portal.repository(request)
        self.portal.require(request, "act")
        patient_id = self.portal.patient_id(request)
        appointment_id = str(request.path_params["appointment_id"])
        if request.method == "POST":
            form = await checked_form(request)
            shown = str(form.get("version") or "")
            if not shown.isdigit():
                raise error(400, "invalid", "the form names no version")
            cancel(repo, patient_id, appointment_id, int(shown))
            return RedirectResponse("/portal/appointments?done=cancelled", status_code=303)
        _, shown_view = one(repo, patient_id, appointment_id)
        if not shown_view.cancellable:
            # Cancelled or past meanwhile: nothing to cancel any more.
            return page(request, "portal/conflict.html", status_code=409)
        return page(request, "portal/appointment_cancel.html", appointment=shown_view)

    @answers
    async def new_time(self, request: Request) -> Response:
        repo = self.portal.repository(request)
        self.portal.require(request, "act")
        patient_id = self.portal.patient_id(request)
        appointment_id = str(request.path_params["appointment_id"])
        _, shown = one(repo, patient_id, appointment_id)
        if request.method == "POST":
            form = await checked_form(request)
            text = clean_text(form.get("text"))
            if not text or len(text) > MAX_TEXT:
                return page(
                    request,
                    "portal/appointment_new_time.html",
                    status_code=422,
                    appointment=shown,
                    text=text[:MAX_TEXT],
                    error=True,
                    max_text=MAX_TEXT,
                )
            ask_new_time(repo, patient_id, appointment_id, text)
            return RedirectResponse("/portal/appointments?done=asked", status_code=303)
        return page(
            request,
            "portal/appointment_new_time.html",
            appointment=shown,
            text="",
            error=False,
            max_text=MAX_TEXT,
        )


def routes(portal: Portal) -> list[BaseRoute]:
    pages = AppointmentPages(portal)
    return [
        Route("/portal/appointments", pages.index),
        Route(
            "/portal/appointments/{appointment_id}/cancel",
            pages.cancel,
            methods=["GET", "POST"],
        ),
        Route(
            "/portal/appointments/{appointment_id}/new-time",
            pages.new_time,
            methods=["GET", "POST"],
        ),
    ]
