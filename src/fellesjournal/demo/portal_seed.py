"""Writing the portal's demo family and circle (``fellesjournal demo seed``).

:func:`seed_portal` runs after the region, the population and the demo work items, so
that ``make run`` shows every page of the portal with the citizens of
:data:`fellesjournal.demo.portal.DEMO_CITIZENS`:

1. **the past** (:func:`fellesjournal.demo.portal_records.history`), validated with the
   product's own write check and written in one transaction through the guarded
   repository as the system, with workflows off (``repo.historical()``): history starts
   no work;
2. **two referrals** from Kari's fastlege, written by the fastlege and received by the
   real referral workflow (an assessment item in the receiving unit's queue): the one
   to Hjertepoliklinikk is then assessed by a doctor there with a right to health care
   and a deadline for the start (``workflows.referral.assess``: a waiting-list item and
   a ``vurderingsbrev`` to Kari through the outbox); the one to Ortopedisk poliklinikk
   still waits for its assessment;
3. **a message thread**: Kari's ``pasientmelding`` to Orkland legekontor, written by
   Kari herself (a citizen's write) and delivered by the outbox as a work item in the
   office's queue;
4. **reads of Kari's record** by her fastlege and by the lung ward's doctor, each as
   that health worker through the guarded repository, so that the access log has them
   with their care relation; and a **break-the-glass** by a doctor at Ålesund legevakt
   (``service.access_ops.break_glass``) followed by that doctor's reads, so that the
   portal's emergency-access highlight shows;
5. **the answer** of the fastlege to Kari's message (``inResponseTo`` it, delivered to
   Kari's record), and the message's work item closed with a reason.

Written once: a database holding the answer (:data:`MARKER`, the last write) is left
alone, so seeding again changes nothing. A run that stopped before it starts again
from the top: the past is rewritten with the same ids, and the referrals, the message
and the assessment are not made twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

import httpx

from fellesjournal.access.actor import actor_from_claims
from fellesjournal.access.resolve import ContextResolver
from fellesjournal.demo.portal import KARI, DemoCitizen
from fellesjournal.demo.portal_records import (
    HEART_CLINIC,
    LUNG_WARD,
    ORKLAND_GP,
    ORTHO_CLINIC,
    history,
)
from fellesjournal.demo.seeder import DemoError
from fellesjournal.demo.workflows import worker_repository, working_days_before
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.region.model import Staff
from fellesjournal.region.seed import build_region
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.service.writes import content_issues
from fellesjournal.store.base import WriteOp
from fellesjournal.workflows import delivery, messages, model, referral

Resource = dict[str, Any]
OSLO: Final = ZoneInfo("Europe/Oslo")

KARI_ID: Final = str(KARI.patient)
#: Kari's referrals: assessed with a right to care, and still waiting for assessment.
REFERRAL_RIGHT: Final = f"{KARI_ID}-referral-heart"
REFERRAL_WAITING: Final = f"{KARI_ID}-referral-knee"
#: Kari's message to her fastlege's office, and its answer (the last write: the marker).
MESSAGE: Final = f"{KARI_ID}-message"
MARKER: Final = f"{KARI_ID}-message-answer"
REFERRAL_CATEGORY: Final = {
    "system": referral.SNOMED,
    "code": referral.REFERRAL_CATEGORY,
    "display": "Patient referral",
}
#: Weeks from the assessment to the deadline for the start of care (frist).
DEADLINE_WEEKS: Final = 8
#: The doctor who breaks the glass: the first doctor of Ålesund legevakt, a unit with no
#: care relation to Kari (she lives in Orkland), on the demo sign-in page.
LEGEVAKT: Final = "kommune-1508-legevakt"
BREAK_GLASS_TEXT: Final = (
    "Pasienten innbrakt bevisstløs etter fall på ferie i Ålesund. Trenger legemiddelliste, "
    "allergier og kritisk informasjon."
)


@dataclass(frozen=True, slots=True)
class PortalSummary:
    """What :func:`seed_portal` wrote."""

    resources: int  #: resources of the past
    referrals: int  #: referrals made through the referral workflow
    delivered: int  #: messages the outbox delivered meanwhile
    reads: int  #: health workers who read Kari's record (the access log's entries)
    break_glass: str  #: the break-the-glass grant (``Consent/{id}``)


def seed_portal(
    repo: GuardedRepository, today: dt.date, now: dt.datetime | None = None
) -> PortalSummary | None:
    """Write the portal's demo family and circle (see the module docstring) as the system
    ``repo`` (workflows on). ``today`` is the demo's anchor date; ``now`` the moment the
    demo starts (default: now, or noon of ``today`` when that is another day).

    None when it is there already (:data:`MARKER`) or the region is not (its units are
    what the records point at). Raises :class:`DemoError` when test identities are not
    allowed or a resource does not validate (a bug); database and workflow errors
    propagate."""
    if not repo.ctx.workflows:
        raise ValueError("the portal demo uses the workflows: use a repository with them")
    if not repo.settings.allow_test_identities:
        raise DemoError(
            "the portal's demo citizens have synthetic test identities: "
            "set FELLESJOURNAL_ALLOW_TEST_IDENTITIES=true"
        )
    if _exists(repo, "Communication", MARKER) or not _exists(repo, "Organization", ORKLAND_GP):
        return None
    now = _moment(today, now)
    local_now = now.astimezone(OSLO).replace(tzinfo=None)
    staff = _Staff()
    written = _write_past(repo, today, local_now)
    referrals = _referrals(repo, staff, today, now)
    _send_message(repo, now)
    delivered = _deliver(repo, now)
    reads = _reads(repo, staff)
    grant = _break_glass(repo, staff)
    delivered += _answer(repo, staff, now)
    return PortalSummary(written, referrals, delivered, reads + 1, grant)


def _moment(today: dt.date, now: dt.datetime | None) -> dt.datetime:
    if now is not None:
        return now
    now = dt.datetime.now(dt.UTC)
    if now.astimezone(OSLO).date() != today:
        now = dt.datetime.combine(today, dt.time(12, 0), OSLO)
    return now


def _exists(repo: GuardedRepository, res_type: str, res_id: str) -> bool:
    try:
        repo.read(res_type, res_id, audit=False)
    except FhirError:
        return False
    return True


def _at(moment: dt.datetime) -> str:
    return moment.astimezone(OSLO).isoformat(timespec="seconds")


class _Staff:
    """The region's staff the story needs (no I/O) and repositories as them."""

    def __init__(self) -> None:
        self.units = {u.id: u for u in build_region().units()}

    def first(self, unit_id: str, role: str) -> Staff:
        return next(s for s in self.units[unit_id].staff if s.role == role)

    def repository(self, repo: GuardedRepository, unit_id: str, role: str) -> GuardedRepository:
        return worker_repository(repo, self.first(unit_id, role))


def _write_past(repo: GuardedRepository, today: dt.date, local_now: dt.datetime) -> int:
    past = repo.historical()  # history starts no workflows
    ops = []
    for res in history(build_region(), today, local_now):
        issues = content_issues(res, allow_test_identities=True)
        if issues:
            first = issues[0]
            raise DemoError(
                f"portal demo {res['resourceType']}/{res['id']} is not valid: "
                f"{first.diagnostics} ({first.expression})"
            )
        ops.append(WriteOp("PUT", res["resourceType"], res["id"], res))
    with past.writing() as tx:
        past.apply_many(tx, ops)
    return len(ops)


def _referrals(repo: GuardedRepository, staff: _Staff, today: dt.date, now: dt.datetime) -> int:
    """Kari's two referrals, written by her fastlege; the first assessed with a right."""
    gp = staff.first(ORKLAND_GP, "doctor")
    gp_repo = staff.repository(repo, ORKLAND_GP, "doctor")
    made = 0
    for ref_id, unit_id, days_ago, reason in (
        (
            REFERRAL_RIGHT,
            HEART_CLINIC,
            6,
            "Hjertebank og trykk i brystet ved anstrengelse de siste to månedene. EKG hos "
            "fastlege viser sinusrytme. Ønsker vurdering og utredning.",
        ),
        (
            REFERRAL_WAITING,
            ORTHO_CLINIC,
            2,
            "Smerter og hevelse i høyre kne i et halvt år, ikke bedre etter fysioterapi. "
            "Spørsmål om meniskskade.",
        ),
    ):
        if _exists(repo, "ServiceRequest", ref_id):
            continue
        # Received on a working day before the demo's today, never after the real today
        # (the referral workflow refuses a receipt date in the future).
        received = min(working_days_before(today, days_ago), now.astimezone(OSLO).date())
        body: Resource = {
            "resourceType": "ServiceRequest",
            "id": ref_id,
            "status": "active",
            "intent": "order",
            "priority": "routine",
            "category": [{"coding": [dict(REFERRAL_CATEGORY)]}],
            "code": {"text": f"Vurdering ved {staff.units[unit_id].name}"},
            "subject": {"reference": f"Patient/{KARI_ID}", "display": KARI.name},
            "authoredOn": _at(dt.datetime.combine(received, dt.time(9, 20), OSLO)),
            "requester": {
                "reference": f"PractitionerRole/{gp.role_id}",
                "display": f"{gp.given} {gp.family}",
            },
            "performer": [
                {"reference": f"Organization/{unit_id}", "display": staff.units[unit_id].name}
            ],
            "reasonCode": [{"text": reason}],
            "extension": [{"url": referral.RECEIVED_URL, "valueDate": received.isoformat()}],
        }
        gp_repo.update("ServiceRequest", ref_id, body)
        made += 1
    stored = repo.read("ServiceRequest", REFERRAL_RIGHT, audit=False)
    if referral.assessment_of(jsonio.loads(stored.content or b"{}")) is None:
        # As over HTTP: the operation reads inside its writing transaction, so the
        # events of those reads wait for the transaction to end (SQLite has one writer).
        doctor = staff.repository(repo, HEART_CLINIC, "doctor")
        assessor = GuardedRepository(doctor.store, doctor.settings, doctor.ctx, defer_audit=True)
        deadline = now.astimezone(OSLO).date() + dt.timedelta(weeks=DEADLINE_WEEKS)
        referral.assess(
            assessor,
            REFERRAL_RIGHT,
            referral.RIGHT,
            deadline=deadline,
            reason="Rett til nødvendig helsehjelp: utredning av hjertebank og brystsmerter.",
            now=now,
        )
        assessor.trail.flush()
    return made


def citizen_repository(repo: GuardedRepository, citizen: DemoCitizen) -> GuardedRepository:
    """A guarded repository as ``citizen`` on their own record, resolved from the stored
    data as the portal resolves a signed-in citizen (``portal/base.py``)."""
    claims = {"sub": citizen.fnr, "fhir_actor": "patient", "scope": "patient/*.*"}
    resolver = ContextResolver(repo.store, repo.settings)
    actor = resolver.resolve(actor_from_claims(claims, ("patient/*.*",)))
    return GuardedRepository(repo.store, repo.settings, RequestContext(actor=actor))


def _send_message(repo: GuardedRepository, now: dt.datetime) -> None:
    """Kari's message to her fastlege's office, written by Kari (a citizen's write,
    ``access/citizen_writes.py``): sent, so the outbox delivers it."""
    if _exists(repo, "Communication", MESSAGE):
        return
    body = messages.communication(
        "pasientmelding",
        sender=f"Patient/{KARI_ID}",
        recipients=[f"Organization/{ORKLAND_GP}"],
        patient=f"Patient/{KARI_ID}",
        sent=_at(now - dt.timedelta(hours=20)),
        text="Hei! Jeg har fått time på hjertepoliklinikken om tre uker. Skal jeg fortsette "
        "med Levaxin og Symbicort som før fram til da? Hilsen Kari",
    )
    body["id"] = MESSAGE
    citizen_repository(repo, KARI).update("Communication", MESSAGE, body)


def _deliver(repo: GuardedRepository, now: dt.datetime) -> int:
    """One delivery round: members get the items in their queue, patients their letters
    (nothing is posted anywhere: the transport refuses every request)."""
    worker = delivery.worker_repository(repo.store, repo.settings)
    # The outbox rows are due from when they were written (the real time).
    at = max(now, dt.datetime.now(dt.UTC))
    with httpx.Client(transport=httpx.MockTransport(lambda _r: httpx.Response(503))) as client:
        stats = delivery.deliver_due(worker, client, now=at)
    worker.trail.flush()
    return stats.delivered


def _reads(repo: GuardedRepository, staff: _Staff) -> int:
    """Kari's fastlege looks at her record; the lung ward's doctor at the epikrise."""
    gp = staff.repository(repo, ORKLAND_GP, "doctor")
    gp.read("Patient", KARI_ID)
    for res_type in ("Condition", "MedicationStatement"):
        gp.search(res_type, [("patient", KARI_ID)])
    gp.read("DocumentReference", f"{KARI_ID}-discharge")
    ward = staff.repository(repo, LUNG_WARD, "doctor")
    ward.read("DocumentReference", f"{KARI_ID}-discharge")
    return 2


def _break_glass(repo: GuardedRepository, staff: _Staff) -> str:
    """A doctor without a care relation breaks the glass, then reads what the emergency
    needs."""
    from fellesjournal.service.access_ops import break_glass

    doctor = staff.repository(repo, LEGEVAKT, "doctor")
    grant = break_glass(doctor, KARI_ID, "emergency", BREAK_GLASS_TEXT)
    doctor.read("Patient", KARI_ID)
    for res_type in ("AllergyIntolerance", "Flag", "MedicationStatement"):
        doctor.search(res_type, [("patient", KARI_ID)])
    return f"Consent/{grant.consent_id}"


def _answer(repo: GuardedRepository, staff: _Staff, now: dt.datetime) -> int:
    """The fastlege answers Kari and closes the message's work item; the answer goes to
    Kari's record through the outbox. Written last: it is the :data:`MARKER`."""
    gp = staff.first(ORKLAND_GP, "doctor")
    gp_repo = staff.repository(repo, ORKLAND_GP, "doctor")
    item = _work_item(repo, f"Communication/{MESSAGE}")
    if item is not None and model.is_open(item):
        assignee = {
            "reference": f"PractitionerRole/{gp.role_id}",
            "display": f"{gp.given} {gp.family}",
        }
        model.set_extension(item, model.ASSIGNEE_URL, "valueReference", assignee)
        item["status"] = "completed"
        item["statusReason"] = {"text": "Besvart i meldingstråden."}
        gp_repo.update("Task", item["id"], item)
    body = messages.communication(
        "pasientmelding",
        sender=f"Organization/{ORKLAND_GP}",
        recipients=[f"Patient/{KARI_ID}"],
        patient=f"Patient/{KARI_ID}",
        sent=_at(now - dt.timedelta(minutes=30)),
        text="Hei Kari. Ja, fortsett med samme dose av begge til du har vært på "
        "hjertepoliklinikken. Vi tar nye blodprøver ved kontrollen her. "
        f"Hilsen {gp.given} {gp.family}, fastlege",
        in_response_to=f"Communication/{MESSAGE}",
    )
    body["id"] = MARKER
    gp_repo.update("Communication", MARKER, body)
    return _deliver(repo, now)


def _work_item(repo: GuardedRepository, focus: str) -> Resource | None:
    found = repo.search("Task", [("focus", focus), ("_count", "1")], audit=False)
    content = found.matches[0].content if found.matches else None
    return dict(jsonio.loads(content)) if content else None
