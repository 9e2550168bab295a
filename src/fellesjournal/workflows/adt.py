"""Admission, transfer and discharge: the messages between the hospital and the municipality.

Reactions to writes of an Encounter (:func:`on_encounter`) and of a signed epikrise
(:func:`on_document`); everything is sent as a Communication through the outbox
(``workflows/messages.py``), so every message has its receipt or its failure item. The
messages carry ``encounter`` (and ``about``) the stay, so what a stay has sent is a
search: ``Communication?encounter=Encounter/{id}``.

**A stay** is an inpatient Encounter (``class`` v3 ActCode ``IMP``, ``ACUTE`` or
``NONAC``) whose ``serviceProvider`` is a hospital ward (a unit of kind ``ward``,
``workflows/units.py``).

**Municipal services.** The patient has municipal services when an *active*
EpisodeOfCare or an *active* CareTeam of theirs is managed by a municipal home-care or
nursing-home unit (kind ``hjemmetjeneste`` or ``sykehjem``), member of the shared
record or not. Those units receive the PLO messages of the stay.

**Admission.** When a stay is admitted (created ``arrived`` or ``in-progress``, or moved
into one of those from ``planned`` or from a class or unit that was not a stay), a
patient with municipal services gets one "melding om innlagt pasient" from the ward to
those units; once per stay (a return from leave, a transfer or a re-opening sends none).
The municipality's innleggelsesrapport, helseopplysninger and forespørsel/svar are plain
Communications written by their senders (``messages.on_communication`` sends them).

**Transfer** is a change of ``Encounter.location`` (the old location's period ends and
its status becomes ``completed``, a new ``active`` one starts): kept as written; it
sends nothing (the municipality is told of the admission and the discharge, not of moves
between the hospital's beds).

**Discharge**: a stay goes from ``arrived``/``triaged``/``in-progress``/``onleave`` to
``finished``. ``period.end`` (the time of discharge) is required (422 without it). Then,
from the ward:

* "utskrevet" to the units with municipal services and to every municipality unit the
  stay was declared utskrivningsklar to;
* the epikrise (the latest signed document of LOINC type 18842-5 "Discharge summary" for
  the stay: a DocumentReference, as the workspace writes notes, or a Composition, with
  ``docStatus``/``status`` final or amended) to the fastlege's unit
  (``Patient.generalPractitioner``: a PractitionerRole's organisation, or an
  Organization) and to the referrer's unit (a ServiceRequest in ``Encounter.basedOn``,
  its requester's organisation), the ward itself left out. Without a signed epikrise a
  work item (``message``, business status :data:`EPIKRISE_MISSING`, focus the stay)
  goes to the ward's queue; when the epikrise is signed, :func:`on_document` sends it and
  closes that item (as the workflow engine, naming the message in the reason);
* the nursing "utskrivningsrapport" to the units with municipal services, carrying the
  latest signed nursing discharge summary (LOINC 34745-0) of the stay, else its latest
  signed nursing note (34746-8), else only the discharge's time and unit as text.

**Utskrivningsklar** lives in ``workflows/utskrivningsklar.py`` (the record and the bill)
and ``api/adt.py`` (the operations). Its record on the Encounter may be changed only by
those operations (:func:`recording`): any other write that changes it is refused (422),
so a declaration's time is always the server's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from fellesjournal.clinical import notes
from fellesjournal.fhir.errors import error
from fellesjournal.norway import municipalities
from fellesjournal.norway.confidentiality import MUNICIPALITY_EXTENSION
from fellesjournal.norway.workdays import add_working_days
from fellesjournal.region.fhir import KIND_SYSTEM as ORG_KIND_SYSTEM
from fellesjournal.workflows import messages, model, units
from fellesjournal.workflows import utskrivningsklar as uk

if TYPE_CHECKING:
    from fellesjournal.workflows.reactions import Change, Effects

Resource = dict[str, Any]

V3_ACT: Final = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#: Encounter classes of an inpatient stay.
INPATIENT_CLASSES: Final = frozenset({"IMP", "ACUTE", "NONAC"})
#: Statuses of a patient admitted (the admission message goes when a stay enters one).
ADMITTED: Final = frozenset({"arrived", "in-progress"})
#: Statuses of a patient still in hospital (a discharge leaves one of these).
STAYING: Final = frozenset({"arrived", "triaged", "in-progress", "onleave"})
#: Unit kinds of municipal services that receive the PLO messages.
SERVICE_KINDS: Final = ("hjemmetjeneste", "sykehjem")
#: LOINC document types.
LOINC: Final = notes.LOINC
EPIKRISE_TYPES: Final = ("18842-5",)  #: Discharge summary
NURSING_DISCHARGE_TYPES: Final = ("34745-0",)  #: Nurse Discharge summary
NURSING_NOTE_TYPES: Final = ("34746-8",)  #: Nurse Note
#: Business status of the ward's item "the epikrise was not ready at discharge".
EPIKRISE_MISSING: Final = "epikrise-missing"
#: Working days the ward has to sign and send a missing epikrise.
EPIKRISE_WITHIN_WORKING_DAYS: Final = 1

_recording: ContextVar[bool] = ContextVar("discharge_ready_recording", default=False)


@contextmanager
def recording() -> Iterator[None]:
    """Within this block, writes may change the utskrivningsklar record (the
    ``$discharge-ready*`` operations only)."""
    token = _recording.set(True)
    try:
        yield
    finally:
        _recording.reset(token)


# -- what a stay is --------------------------------------------------------------------------


def ref_of(value: Any) -> str | None:
    """The ``reference`` of a Reference (None when there is none)."""
    ref = value.get("reference") if isinstance(value, dict) else None
    return ref if isinstance(ref, str) and ref else None


def is_inpatient(encounter: Resource | None) -> bool:
    cls = (encounter or {}).get("class")
    return isinstance(cls, dict) and cls.get("code") in INPATIENT_CLASSES


def provider_of(encounter: Resource | None) -> str | None:
    return ref_of((encounter or {}).get("serviceProvider"))


def patient_of(resource: Resource | None) -> str | None:
    ref = ref_of((resource or {}).get("subject"))
    return ref if ref and ref.startswith("Patient/") else None


def ward_of(fx: Effects, encounter: Resource | None) -> units.UnitInfo | None:
    """The ward holding the stay, or None when ``encounter`` is no stay at a ward."""
    if not is_inpatient(encounter):
        return None
    unit = units.unit(fx.tx, provider_of(encounter))
    return unit if unit is not None and unit.kind == "ward" else None


def _is_stay(fx: Effects, encounter: Resource | None, statuses: frozenset[str]) -> bool:
    return (
        encounter is not None
        and encounter.get("status") in statuses
        and ward_of(fx, encounter) is not None
    )


# -- who gets what ---------------------------------------------------------------------------


def municipal_services(fx: Effects, patient: str) -> list[str]:
    """The municipal home-care and nursing-home units (``Organization/id``) with an
    active EpisodeOfCare or CareTeam of ``patient``, sorted."""
    found: set[str] = set()
    candidates: list[str | None] = []
    for eoc_id in fx.search("EpisodeOfCare", [("patient", patient), ("status", "active")]):
        eoc = fx.read(f"EpisodeOfCare/{eoc_id}")
        candidates.append(ref_of((eoc or {}).get("managingOrganization")))
    for team_id in fx.search("CareTeam", [("patient", patient), ("status", "active")]):
        team = fx.read(f"CareTeam/{team_id}") or {}
        candidates += [ref_of(m) for m in team.get("managingOrganization") or ()]
    for ref in candidates:
        unit = units.unit(fx.tx, ref)
        if unit is not None and unit.kind in SERVICE_KINDS:
            found.add(unit.reference)
    return sorted(found)


_BY_NAME: Final = {name.casefold(): code for code, name in municipalities.MUNICIPALITIES.items()}


def municipality_number(patient: Resource | None) -> str | None:
    """The kommunenummer of the patient's oppholdskommune as the record knows it: of a
    temporary address (use ``temp``, oppholdsadresse), else the home address, else any;
    from the no-basis municipality-code extension, else ``district`` (a number, or a
    municipality's name in the served counties)."""
    addresses = [a for a in (patient or {}).get("address") or () if isinstance(a, dict)]
    order = {"temp": 0, "home": 1}
    for address in sorted(
        (a for a in addresses if a.get("use") != "old"),
        key=lambda a: order.get(str(a.get("use")), 2),
    ):
        for node in (address.get("_district"), address):
            for ext in (node or {}).get("extension") or () if isinstance(node, dict) else ():
                if isinstance(ext, dict) and ext.get("url") == MUNICIPALITY_EXTENSION:
                    code = (ext.get("valueCoding") or {}).get("code")
                    if isinstance(code, str) and code.isdigit() and len(code) == 4:
                        return code
        district = address.get("district")
        if isinstance(district, str):
            district = district.strip()
            if district.isdigit() and len(district) == 4:
                return district
            if district.casefold() in _BY_NAME:
                return _BY_NAME[district.casefold()]
    return None


def default_municipality_unit(fx: Effects, patient_ref: str) -> str | None:
    """Where "utskrivningsklar" goes when the caller names no unit: the home-care (else
    nursing-home) unit serving the patient, else the home-care unit of the patient's
    oppholdskommune (:func:`municipality_number`; the first by id when it has several)."""
    services = [units.unit(fx.tx, ref) for ref in municipal_services(fx, patient_ref)]
    for kind in SERVICE_KINDS:
        for unit in services:
            if unit is not None and unit.kind == kind:
                return unit.reference
    number = municipality_number(fx.read(patient_ref))
    if number is None:
        return None
    ids = fx.search(
        "Organization",
        [
            ("partof", f"Organization/kommune-{number}"),
            ("type", f"{ORG_KIND_SYSTEM}|hjemmetjeneste"),
        ],
    )
    return f"Organization/{sorted(ids)[0]}" if ids else None


def gp_unit(fx: Effects, patient: Resource | None) -> str | None:
    """The fastlege's unit: the organisation of the first generalPractitioner that names
    one (a PractitionerRole or an Organization)."""
    for gp in (patient or {}).get("generalPractitioner") or ():
        unit = units.unit_of_role(fx.tx, ref_of(gp))
        if unit:
            return unit
    return None


def referrer_units(fx: Effects, encounter: Resource) -> list[str]:
    """The units of the referrers of the stay (``basedOn`` ServiceRequests' requesters)."""
    out: list[str] = []
    for based in encounter.get("basedOn") or ():
        ref = ref_of(based)
        if not ref or not ref.startswith("ServiceRequest/"):
            continue
        unit = units.unit_of_role(fx.tx, ref_of((fx.read(ref) or {}).get("requester")))
        if unit and unit not in out:
            out.append(unit)
    return out


def epikrise_recipients(fx: Effects, encounter: Resource, ward: str) -> list[str]:
    patient = fx.read(patient_of(encounter))
    out: list[str] = []
    for unit in (gp_unit(fx, patient), *referrer_units(fx, encounter)):
        if unit and unit != ward and unit not in out:
            out.append(unit)
    return out


# -- documents of a stay ---------------------------------------------------------------------


def _signed(doc: Resource) -> bool:
    if doc.get("resourceType") == "Composition":
        return doc.get("status") in ("final", "amended")
    return doc.get("status") == "current" and doc.get("docStatus") in ("final", "amended")


def _signed_moment(doc: Resource) -> str:
    if doc.get("resourceType") == "DocumentReference":
        return notes.signed_at(doc) or str(doc.get("date") or "")
    return str(doc.get("date") or "")


def _has_type(doc: Resource, codes: tuple[str, ...]) -> bool:
    concept = doc.get("type")
    return isinstance(concept, dict) and any(
        c.get("system") == LOINC and c.get("code") in codes for c in concept.get("coding") or ()
    )


def _encounter_of(doc: Resource) -> str | None:
    if doc.get("resourceType") == "Composition":
        return ref_of(doc.get("encounter"))
    for enc in (doc.get("context") or {}).get("encounter") or ():
        return ref_of(enc)
    return None


def latest_signed(fx: Effects, encounter: str, codes: tuple[str, ...]) -> str | None:
    """``Type/id`` of the latest signed DocumentReference or Composition of a LOINC type
    in ``codes`` for ``encounter``, or None."""
    best: tuple[datetime, str] | None = None
    token = ",".join(f"{LOINC}|{c}" for c in codes)
    for res_type in ("DocumentReference", "Composition"):
        for doc_id in fx.search(res_type, [("encounter", encounter), ("type", token)]):
            ref = f"{res_type}/{doc_id}"
            doc = fx.read(ref)
            if doc is None or not _signed(doc):
                continue
            try:
                when = uk.parse_instant(_signed_moment(doc))
            except ValueError:
                continue
            if best is None or when > best[0]:
                best = (when, ref)
    return best[1] if best else None


# -- sending ---------------------------------------------------------------------------------


def _sent(fx: Effects, encounter: str, kind: str) -> list[str]:
    return fx.search(
        "Communication",
        [("encounter", encounter), ("category", f"{messages.KIND_SYSTEM}|{kind}")],
    )


def message(
    kind: str,
    *,
    sender: str,
    recipients: list[str],
    patient: str | None,
    encounter: str,
    sent: str,
    text: str | None = None,
    content: str | None = None,
    in_response_to: str | None = None,
) -> Resource:
    """A Communication about the stay ``encounter`` (``encounter`` and ``about`` set)."""
    comm = messages.communication(
        kind,
        sender=sender,
        recipients=recipients,
        patient=patient,
        sent=sent,
        about=[encounter],
        text=text,
        content_reference=content,
        in_response_to=in_response_to,
    )
    comm["encounter"] = {"reference": encounter}
    return comm


def _send(fx: Effects, kind: str, **kwargs: Any) -> str:
    return f"Communication/{fx.create(message(kind, sent=fx.now_iso, **kwargs)).res_id}"


def local_text(value: str | None) -> str:
    """``dd.mm.yyyy kl. HH:MM`` in Norway, for message texts."""
    if not value:
        return ""
    try:
        moment = uk.parse_instant(value)
    except ValueError:
        return value
    return moment.astimezone(uk.OSLO).strftime("%d.%m.%Y kl. %H:%M")


# -- the reactions ---------------------------------------------------------------------------


def on_encounter(fx: Effects, change: Change) -> None:
    """Admission and discharge messages; the utskrivningsklar record's guard."""
    new, old = change.resource, change.previous
    if new is None:
        return
    if uk.raw_extensions(new) != uk.raw_extensions(old) and not _recording.get():
        raise error(
            422,
            "business-rule",
            "the utskrivningsklar record on the Encounter (extension "
            f"{uk.EXTENSION_URL}) is written only by $discharge-ready, "
            "$discharge-ready-reply and $discharge-ready-withdraw: keep it as it is",
            "Encounter.extension",
        )
    if _is_stay(fx, new, ADMITTED) and not (
        old is not None and old.get("status") in STAYING and is_inpatient(old)
    ):
        _admitted(fx, change.reference, new)
    if new.get("status") == "finished" and _is_stay(fx, old, STAYING) and is_inpatient(new):
        _discharged(fx, change.reference, new)


def _admitted(fx: Effects, reference: str, encounter: Resource) -> None:
    patient = patient_of(encounter)
    ward = ward_of(fx, encounter)
    if patient is None or ward is None:
        return
    services = municipal_services(fx, patient)
    if not services or _sent(fx, reference, "melding-om-innlagt-pasient"):
        return
    start = (encounter.get("period") or {}).get("start") or fx.now_iso
    _send(
        fx,
        "melding-om-innlagt-pasient",
        sender=ward.reference,
        recipients=services,
        patient=patient,
        encounter=reference,
        text=f"Pasienten ble innlagt ved {ward.name} {local_text(start)}.",
    )


def _discharged(fx: Effects, reference: str, encounter: Resource) -> None:
    end = (encounter.get("period") or {}).get("end")
    if not isinstance(end, str) or not end:
        raise error(
            422,
            "required",
            "a discharge (status finished) needs its time in period.end",
            "Encounter.period.end",
        )
    patient = patient_of(encounter)
    ward = ward_of(fx, encounter)
    if patient is None or ward is None:
        return
    when = local_text(end)
    services = municipal_services(fx, patient)
    declared = [
        ev.municipality
        for ev in uk.events_of(encounter)
        if ev.event == uk.DECLARED and ev.municipality
    ]
    told = sorted({*services, *declared})
    if told:
        _send(
            fx,
            "utskrevet",
            sender=ward.reference,
            recipients=told,
            patient=patient,
            encounter=reference,
            text=f"Pasienten ble utskrevet fra {ward.name} {when}.{_destination(encounter)}",
        )
    recipients = epikrise_recipients(fx, encounter, ward.reference)
    if recipients:
        epikrise = latest_signed(fx, reference, EPIKRISE_TYPES)
        if epikrise is not None:
            _send_epikrise(fx, reference, encounter, ward, recipients, epikrise)
        else:
            _epikrise_missing(fx, reference, patient, ward, recipients, end)
    if services:
        report = latest_signed(fx, reference, NURSING_DISCHARGE_TYPES) or latest_signed(
            fx, reference, NURSING_NOTE_TYPES
        )
        _send(
            fx,
            "utskrivningsrapport",
            sender=ward.reference,
            recipients=services,
            patient=patient,
            encounter=reference,
            text=f"Utskrivningsrapport fra {ward.name}: utskrevet {when}."
            + ("" if report else " Ingen signert sykepleiedokumentasjon for oppholdet."),
            content=report,
        )


def _destination(encounter: Resource) -> str:
    disposition = (encounter.get("hospitalization") or {}).get("dischargeDisposition") or {}
    text = disposition.get("text") or next(
        (c.get("display") for c in disposition.get("coding") or () if c.get("display")), None
    )
    return f" Utskrevet til: {text}." if text else ""


def _send_epikrise(
    fx: Effects,
    reference: str,
    encounter: Resource,
    ward: units.UnitInfo,
    recipients: list[str],
    document: str,
) -> str:
    return _send(
        fx,
        "epikrise",
        sender=ward.reference,
        recipients=recipients,
        patient=patient_of(encounter),
        encounter=reference,
        text=f"Epikrise fra {ward.name}.",
        content=document,
    )


def _epikrise_missing(
    fx: Effects,
    reference: str,
    patient: str,
    ward: units.UnitInfo,
    recipients: list[str],
    end: str,
) -> None:
    names = ", ".join(u.name for u in (units.unit(fx.tx, r) for r in recipients) if u)
    try:
        day = uk.local_day(uk.parse_instant(end))
    except ValueError:
        day = uk.local_day(fx.now)
    task = model.work_item(
        model.MESSAGE,
        owner=ward.reference,
        patient=patient,
        focus=reference,
        authored=fx.now_iso,
        due=add_working_days(day, EPIKRISE_WITHIN_WORKING_DAYS).isoformat(),
        state=EPIKRISE_MISSING,
        description=(
            "Epikrisen var ikke signert ved utskrivning. Den sendes til "
            f"{names} straks den er signert."
        ),
    )
    fx.create(task)


def on_document(fx: Effects, change: Change) -> None:
    """An epikrise signed after the discharge of its stay: send it, and close the ward's
    "epikrise missing" item. A correction of a sent epikrise (signed again) is sent
    again: the recipients must have the corrected text."""
    new, old = change.resource, change.previous
    if new is None or not _has_type(new, EPIKRISE_TYPES) or not _signed(new):
        return
    if old is not None and _signed(old) and _signed_moment(old) == _signed_moment(new):
        return  # not newly signed
    reference = _encounter_of(new)
    encounter = fx.read(reference)
    if reference is None or encounter is None or encounter.get("status") != "finished":
        return  # a stay still going sends its epikrise at the discharge
    ward = ward_of(fx, encounter)
    if ward is None:
        return
    recipients = epikrise_recipients(fx, encounter, ward.reference)
    if not recipients:
        return
    sent = _send_epikrise(fx, reference, encounter, ward, recipients, change.reference)
    for task_id in fx.search("Task", [("focus", reference), ("owner", ward.reference)]):
        task = fx.read(f"Task/{task_id}")
        if task and model.is_open(task) and model.state_of(task) == EPIKRISE_MISSING:
            task["status"] = "completed"
            task.get("meta", {}).pop("versionId", None)
            model.set_state(task, "sent")
            task["statusReason"] = {
                "text": f"Epikrisen ble signert og sendt ({sent}, {change.reference})."
            }
            fx.update(task)
