"""Who has looked at my record (``/portal/access-log``), in plain words.

Every access to the patient's record from the hash-chained audit log, read as the
citizen through ``service/access_ops.audit_log_search`` (``AuditEvent?patient=``: a
citizen reads their own record's events only), newest first, :data:`PAGE_SIZE` events a
page. Each event becomes an :class:`Access`: the person (name, work role), their unit and
organisation, the time, what they did and touched, and the reason (the care relation,
or emergency access, which is highlighted and also listed above the log from the
break-the-glass Consents in the record, ``access/consents.py``). Events next to each
other by the same person for the same reason within :data:`COLLAPSE_MINUTES` are one
line ("opened your record 4 times"). Needs the capability ``access-log``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fellesjournal.access import consents
from fellesjournal.audit import events as ev
from fellesjournal.fhir.errors import FhirError
from fellesjournal.portal.base import Portal, answers, page
from fellesjournal.portal.pages.acting import Directory, instant, load, ref_of, search_all
from fellesjournal.service.access_ops import audit_log_search
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.web.i18n import N_

Resource = dict[str, Any]

PAGE_SIZE: Final = 50
#: Events by one person for one reason this close together are shown as one line.
COLLAPSE_MINUTES: Final = 10
#: The most kinds of information one line names.
MAX_WHAT: Final = 6

#: The reason of an access (the audit basis), in plain words.
BASIS_LABELS: Final[dict[str, str]] = {
    "encounter-in-progress": N_("You are admitted to the unit, or have an ongoing contact there"),
    "encounter-recent": N_("You were treated at the unit recently"),
    "episode-of-care": N_("You have an ongoing course of treatment at the unit"),
    "appointment": N_("You have an appointment at the unit"),
    "referral": N_("You have been referred to the unit"),
    "fastlege": N_("They are your regular GP (fastlege)"),
    "fastlegekontor": N_("The unit is your regular GP's office"),
    "care-team": N_("They take part in your care team"),
    "work-item": N_("The unit has a task about you in its work queue"),
    "work-item-recent": N_("The unit recently had a task about you in its work queue"),
    ev.BREAK_GLASS: N_("Emergency access (break-the-glass)"),
    ev.OWN_RECORD: N_("Your own use of the record"),
    ev.SYSTEM: N_("Automatic processing in Fellesjournal"),
    ev.NO_BASIS: N_("No reason: the access was refused"),
}
#: What was done, in plain words.
ACTION_LABELS: Final[dict[str, str]] = {
    "read": N_("Opened your record"),
    "vread": N_("Opened an earlier version in your record"),
    "search": N_("Searched your record"),
    "history": N_("Looked at the history of your record"),
    "operation": N_("Looked something up in your record"),
    "create": N_("Added to your record"),
    "update": N_("Changed your record"),
    "patch": N_("Changed your record"),
    "delete": N_("Deleted from your record"),
    "break-glass": N_("Took emergency access to your record"),
    "access-explain": N_("Checked their access to your record"),
    "login": N_("Signed in"),
    "review": N_("Reviewed the access log of your record"),
    "other": N_("Used your record"),
}
#: What was touched, in plain words (the resource types of ``entity.what``).
WHAT_LABELS: Final[dict[str, str]] = {
    "Patient": N_("personal details"),
    "Condition": N_("problems and diagnoses"),
    "MedicationStatement": N_("medication"),
    "MedicationRequest": N_("prescriptions"),
    "AllergyIntolerance": N_("allergies"),
    "Flag": N_("critical information"),
    "Immunization": N_("vaccinations"),
    "Observation": N_("measurements and test results"),
    "DiagnosticReport": N_("test results"),
    "DocumentReference": N_("documents"),
    "Composition": N_("documents"),
    "Encounter": N_("contacts and stays"),
    "EpisodeOfCare": N_("courses of treatment"),
    "Appointment": N_("appointments"),
    "ServiceRequest": N_("referrals and orders"),
    "Communication": N_("messages"),
    "Task": N_("work items"),
    "Consent": N_("blocks and emergency access"),
    "CareTeam": N_("care team"),
    "CarePlan": N_("care plans"),
    "Procedure": N_("procedures"),
    "RelatedPerson": N_("next of kin and proxies"),
}
OTHER_WHAT: Final = N_("other information")

#: Who acted: a health worker, the patient, a proxy, the system.
HEALTH_WORKER, SELF, PROXY, SYSTEM = "health-worker", "self", "proxy", "system"


@dataclass(frozen=True, slots=True)
class Access:
    """One line of the access log (one event, or several alike close together)."""

    id: str  #: the newest event's sequence number
    when: str  #: the newest event's time
    since: str  #: the oldest event's time (the same for one event)
    count: int
    who: str  #: ``health-worker``, ``self``, ``proxy``, ``system``
    person: str
    person_ref: str | None
    role: str  #: work role code (``doctor``...)
    unit: str
    organisation: str
    basis: str
    basis_label: str
    emergency: bool
    emergency_text: str  #: the reason they gave for emergency access
    action: str  #: a key of :data:`ACTION_LABELS`
    denied: bool
    what: tuple[str, ...] = field(default=())  #: labels of :data:`WHAT_LABELS`


@dataclass(frozen=True, slots=True)
class EmergencyAccess:
    """A break-the-glass grant on the patient's record."""

    id: str
    person: str
    start: str
    end: str
    reason: str
    text: str


@dataclass(frozen=True, slots=True)
class LogPage:
    accesses: list[Access]
    page: int
    has_more: bool
    total: int


def _agents(event: Resource) -> tuple[Resource, Resource | None, Resource | None]:
    requestor: Resource = {}
    unit = org = None
    for agent in event.get("agent") or ():
        kinds = {
            c.get("code")
            for c in (agent.get("type") or {}).get("coding") or ()
            if c.get("system") == ev.AGENT_TYPE
        }
        if "unit" in kinds:
            unit = agent
        elif "organization" in kinds:
            org = agent
        elif agent.get("requestor") and not requestor:
            requestor = agent
    return requestor, unit, org


def _action(event: Resource) -> str:
    for coding in event.get("subtype") or ():
        code = coding.get("code")
        if coding.get("system") == ev.SUBTYPE_SYSTEM and code == "break-the-glass":
            return "break-glass"
        if code in ACTION_LABELS:
            return str(code)
        if coding.get("system") == ev.DCM and code == "110122":
            return "login"
    return "other"


def _detail(event: Resource, name: str) -> str:
    for ext in event.get("extension") or ():
        if ext.get("url") == ev.CARE_RELATION_EXTENSION:
            for sub in ext.get("extension") or ():
                if sub.get("url") == name:
                    return str(sub.get("valueString") or "")
    return ""


def access_of(event: Resource, patient_id: str) -> Access:
    """One AuditEvent (``audit/events.py``) as a line of the log."""
    requestor, unit, org = _agents(event)
    who_ref = ref_of(requestor.get("who"))
    display = str((requestor.get("who") or {}).get("display") or "")
    if who_ref and who_ref.startswith("Practitioner/"):
        who = HEALTH_WORKER
    elif who_ref == f"Patient/{patient_id}" or (who_ref or "").startswith("Patient/"):
        who = SELF
    elif who_ref and who_ref.startswith("RelatedPerson/"):
        who = PROXY
    else:
        who, display = SYSTEM, ""
    role = next(
        (
            str(c.get("code"))
            for r in requestor.get("role") or ()
            for c in r.get("coding") or ()
            if c.get("system") == ev.WORK_ROLE_SYSTEM
        ),
        "",
    )
    basis = ev.basis_of(event)
    types = []
    for entity in event.get("entity") or ():
        ref = ref_of(entity.get("what"))
        role_code = (entity.get("role") or {}).get("code")
        if ref and role_code != "1":  # role 1: the patient the event is about
            label = WHAT_LABELS.get(ref.split("/", 1)[0], OTHER_WHAT)
            if label not in types:
                types.append(label)
    recorded = str(event.get("recorded") or "")
    return Access(
        id=str(event.get("id") or ""),
        when=recorded,
        since=recorded,
        count=1,
        who=who,
        person=display,
        person_ref=who_ref,
        role=role,
        unit=str(((unit or {}).get("who") or {}).get("display") or ""),
        organisation=str(((org or {}).get("who") or {}).get("display") or ""),
        basis=basis,
        basis_label=BASIS_LABELS.get(basis, BASIS_LABELS[ev.NO_BASIS]),
        emergency=basis == ev.BREAK_GLASS,
        # The reason given is on the grant's event; the reads under it name only the basis.
        emergency_text=_detail(event, "decision-ref-description")
        if basis == ev.BREAK_GLASS and _action(event) == "break-glass"
        else "",
        action=_action(event),
        denied=str(event.get("outcome") or "0") != ev.SUCCESS,
        what=tuple(types),
    )


def _alike(a: Access, b: Access) -> bool:
    """May ``b`` (older) be shown on ``a``'s line? The same person doing the same for the
    same reason; the patient's own use and the system's, whatever they did."""
    if (a.who, a.person_ref, a.denied) != (b.who, b.person_ref, b.denied):
        return False
    loose = a.who in (SELF, SYSTEM)
    if not loose and (a.role, a.unit, a.basis, a.action) != (b.role, b.unit, b.basis, b.action):
        return False
    if a.emergency_text != b.emergency_text:
        return False
    newer, older = instant(a.since), instant(b.when)
    if newer is None or older is None:
        return False
    return newer - older <= dt.timedelta(minutes=COLLAPSE_MINUTES)


def collapse(accesses: list[Access]) -> list[Access]:
    """Neighbouring lines alike (:func:`_alike`), newest first, as one."""
    out: list[Access] = []
    for access in accesses:
        if out and _alike(out[-1], access):
            last = out[-1]
            what = last.what + tuple(w for w in access.what if w not in last.what)
            action = last.action if last.action == access.action else "other"
            out[-1] = replace(
                last,
                since=access.when,
                count=last.count + access.count,
                what=what[:MAX_WHAT],
                action=action,
            )
        else:
            out.append(access)
    return out


def log_page(repo: GuardedRepository, patient_id: str, page_number: int = 1) -> LogPage:
    """Page ``page_number`` (from 1) of the access log, newest first."""
    page_number = max(1, page_number)
    found = audit_log_search(
        repo,
        [
            ("patient", f"Patient/{patient_id}"),
            ("_count", str(PAGE_SIZE)),
            ("_offset", str((page_number - 1) * PAGE_SIZE)),
        ],
    )
    accesses = [access_of(load(s), patient_id) for s in found.matches if s.content]
    # The log's order is the order events were committed: reads reach it in batches a
    # few milliseconds late, so a sign-in can come between one person's reads. Within a
    # page the lines follow the time of the access.
    accesses.sort(key=_newest_first, reverse=True)
    return LogPage(collapse(accesses), page_number, found.has_more, int(found.total or 0))


def _newest_first(access: Access) -> tuple[dt.datetime, int]:
    moment = instant(access.when) or dt.datetime.min.replace(tzinfo=dt.UTC)
    return moment, int(access.id) if access.id.isdigit() else 0


def emergency_accesses(repo: GuardedRepository, patient_id: str) -> list[EmergencyAccess]:
    """Every break-the-glass grant on the patient's record, newest first (none when the
    citizen's representation does not see Consents)."""
    try:
        found = search_all(
            repo,
            "Consent",
            [
                ("patient", f"Patient/{patient_id}"),
                ("category", f"{consents.CATEGORY_SYSTEM}|{consents.BREAK_GLASS}"),
            ],
            limit=200,
        )
    except FhirError as exc:
        if exc.status in (403, 404):
            return []
        raise
    grants = [load(s) for s in found if s.content]
    directory = Directory(repo)
    people = [ref_of(p) for g in grants for p in g.get("performer") or ()]
    directory.fetch(people)
    out = []
    for grant in grants:
        performer = next((ref_of(p) for p in grant.get("performer") or () if ref_of(p)), None)
        period = (grant.get("provision") or {}).get("period") or {}
        rule = grant.get("policyRule") or {}
        code = next((str(c.get("code")) for c in rule.get("coding") or ()), "other")
        out.append(
            EmergencyAccess(
                id=str(grant.get("id")),
                person=directory.name(performer),
                start=str(period.get("start") or grant.get("dateTime") or ""),
                end=str(period.get("end") or ""),
                reason=code if code in consents.REASONS else "other",
                text=str(rule.get("text") or ""),
            )
        )
    out.sort(key=lambda e: e.start, reverse=True)
    return out


class AccessLogPages:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    @answers
    async def index(self, request: Request) -> Response:
        repo = self.portal.repository(request)
        self.portal.require(request, "access-log")
        patient_id = self.portal.patient_id(request)
        raw = str(request.query_params.get("page") or "1")
        number = min(int(raw), 100_000) if raw.isdigit() and int(raw) > 0 else 1
        return page(
            request,
            "portal/access_log.html",
            log=log_page(repo, patient_id, number),
            emergencies=emergency_accesses(repo, patient_id) if number == 1 else [],
            action_labels=ACTION_LABELS,
        )


def routes(portal: Portal) -> list[BaseRoute]:
    return [Route("/portal/access-log", AccessLogPages(portal).index)]
