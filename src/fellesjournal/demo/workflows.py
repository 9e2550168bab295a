"""Demo work items: the queues a morning's work starts from, made by the real workflows.

:func:`seed_work_items` runs after the population is written (``fellesjournal demo
seed``) with workflows on, so each item comes the way it would in use:

* **referrals** from the fastlege at Orkland legekontor to Medisinsk poliklinikk at
  St. Olavs hospital (ServiceRequest, category referral): the referral workflow puts
  the assessment item in the clinic's intake queue. Where that workflow is not built
  yet, the item is written here in its place, with the legal clock (10 working days
  from receipt);
* **lab results** for the fastlege to acknowledge (a lab order and its
  DiagnosticReport), likewise by the results workflow where it exists;
* **messages** between Hjemmetjenesten Østbyen (Trondheim) and Lungemedisinsk sengepost
  (Communications through the outbox, delivered by
  :func:`~fellesjournal.workflows.delivery.deliver_due` into the receiving unit's
  queue): health information and an admission report to the ward, notice of an
  admission to home care, one message taken by a ward nurse and one the nurse has
  closed with a reason;
* **one overdue and escalated item**: a request to home care received four working
  days ago and not answered (past its one-working-day due date, tagged by
  :func:`~fellesjournal.workflows.queues.escalate`, so the unit leader sees it);
* **one failed delivery**: health information from the ward to the home care of
  Vanylven, a municipality outside the shared record with no messaging address, which
  lands as a delivery-failure item in the ward's queue.

Deterministic: the same population and anchor date give the same items, patients and
due dates (the patients are chosen by id; the items the workflows write get their own
ids). Written once: a database that has the demo's first referral is left alone. After
it, ``fellesjournal queues check`` is clean.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

import httpx

from fellesjournal.access.actor import Actor, actor_from_claims
from fellesjournal.access.resolve import ContextResolver
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.norway.workdays import add_working_days, is_working_day
from fellesjournal.region.model import Staff
from fellesjournal.region.seed import build_region
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.workflows import delivery, messages, model, queues

Resource = dict[str, Any]
OSLO: Final = ZoneInfo("Europe/Oslo")

GP_OFFICE: Final = "kommune-5059-fastlegekontor"  #: Orkland legekontor
CLINIC: Final = "stolav-medisin-poliklinikk"  #: Medisinsk poliklinikk, St. Olavs hospital
WARD: Final = "stolav-lunge-sengepost"  #: Lungemedisinsk sengepost, St. Olavs hospital
HOME_CARE: Final = "kommune-5001-hjemmetjeneste-2"  #: Hjemmetjenesten Østbyen, Trondheim
OUTSIDE: Final = "kommune-1511-hjemmetjeneste"  #: Vanylven: not a member, no address
#: The id of the demo's first referral: its presence means the demo items are written.
MARKER: Final = "demo-wf-referral-1"
#: Extension (valueDate) stating when a referral was received (workflows/referral.py).
RECEIVED_URL: Final = "https://fellesjournal.no/fhir/StructureDefinition/referral-received"

SNOMED: Final = "http://snomed.info/sct"
REFERRAL_CATEGORY: Final = {"system": SNOMED, "code": "3457005", "display": "Patient referral"}
LAB_CATEGORY: Final = {"system": SNOMED, "code": "108252007", "display": "Laboratory procedure"}
LOINC: Final = "http://loinc.org"
#: Working days a fastlege has to acknowledge a result, where no results workflow says.
ACKNOWLEDGE_WITHIN: Final = 3
#: Working days to assess a referral (pasient- og brukerrettighetsloven § 2-2).
ASSESS_WITHIN: Final = 10


@dataclass(frozen=True, slots=True)
class Referral:
    ref_id: str
    days_ago: int  #: working days before the anchor date it was received
    reason: str
    priority: str = "routine"


REFERRALS: Final = (
    Referral(MARKER, 8, "Brystsmerter ved anstrengelse siste måned. Ønsker vurdering."),
    Referral("demo-wf-referral-2", 3, "Tungpust og hoste i over tre måneder. Spirometri?"),
    Referral(
        "demo-wf-referral-3",
        0,
        "Jernmangelanemi og vekttap uten kjent årsak. Mistanke om alvorlig sykdom.",
        "urgent",
    ),
)


#: The demo's messages: (id, kind, sender, recipient, which patient, text, working days
#: ago). Home care writes to the ward; the ward tells home care of an admission, asks it
#: something four working days ago (still unanswered: overdue and escalated), and sends
#: to Vanylven, which has no messaging address (a failed delivery at the ward).
MESSAGES: Final = (
    (
        "demo-wf-msg-1",
        "helseopplysninger",
        HOME_CARE,
        WARD,
        0,
        "Pasienten har hjemmesykepleie morgen og kveld, bruker rullator og har dosett fra "
        "apoteket. Kontaktperson er datteren.",
        0,
    ),
    (
        "demo-wf-msg-2",
        "innleggelsesrapport",
        HOME_CARE,
        WARD,
        1,
        "Innlagt fra hjemmet etter fall. Vanligvis selvhjulpen innendørs. Legemiddelliste "
        "vedlagt i kurven.",
        0,
    ),
    (
        "demo-wf-msg-3",
        "dialogmelding",
        HOME_CARE,
        WARD,
        2,
        "Kan dere gi beskjed om forventet utskrivningsdato?",
        0,
    ),
    (
        "demo-wf-msg-4",
        "dialogmelding",
        HOME_CARE,
        WARD,
        3,
        "Pårørende ønsker samtale med lege før utskrivning.",
        0,
    ),
    (
        "demo-wf-msg-5",
        "melding-om-innlagt-pasient",
        WARD,
        HOME_CARE,
        1,
        "Pasienten ble innlagt i går kveld med lungebetennelse. Hjemmesykepleien kan "
        "stanses inntil videre.",
        0,
    ),
    (
        "demo-wf-msg-6",
        "foresporsel",
        WARD,
        HOME_CARE,
        0,
        "Hvilke tjenester har pasienten i dag, og hvem er fastlege?",
        4,
    ),
    (
        "demo-wf-msg-7",
        "helseopplysninger",
        WARD,
        OUTSIDE,
        2,
        "Pasienten flytter til Vanylven. Oppdatert legemiddelliste og plan følger.",
        0,
    ),
)


@dataclass(frozen=True, slots=True)
class SeedSummary:
    items: int  #: open work items in the demo's queues afterwards
    delivered: int
    failed: int
    escalated: int


def seed_work_items(
    repo: GuardedRepository, today: dt.date, now: dt.datetime | None = None
) -> SeedSummary | None:
    """Write the demo's referrals, results and messages (see the module docstring) as
    the system ``repo`` (workflows on), deliver them, and escalate what is overdue.

    ``today`` is the population's anchor date; ``now`` the moment the workflows run
    (default: now, or noon of ``today`` when that is another day). None when the demo
    items are there already or the database has no patients to give them."""
    if not repo.ctx.workflows:
        raise ValueError("demo work items are made by the workflows: use a repository with them")
    if _exists(repo, "ServiceRequest", MARKER):
        return None
    if now is None:
        now = dt.datetime.now(dt.UTC)
        if now.astimezone(OSLO).date() != today:
            now = dt.datetime.combine(today, dt.time(12, 0), OSLO)
    pool = _Patients(repo)
    if not pool.all:
        return None
    staff = _Staff()
    gp_role = staff.role(GP_OFFICE, "doctor")
    story = _Story(repo, today)
    gp_patients = pool.listed_with(GP_OFFICE)
    for i, referral in enumerate(REFERRALS):
        story.referral(referral, gp_patients[i % len(gp_patients)], gp_role)
    for i, days_ago in enumerate((0, 1)):
        story.result(
            f"demo-wf-result-{i + 1}", gp_patients[(i + 1) % len(gp_patients)], gp_role, days_ago
        )
    home = pool.home_care(HOME_CARE)
    sent = story.messages(home)
    # Deliver: members get the items in their queue; Vanylven has no address and fails
    # at once (nothing is posted anywhere: the transport refuses every request).
    worker = delivery.worker_repository(repo.store, repo.settings)
    # The outbox rows are due from when they were written (the real time).
    deliver_at = max(now, dt.datetime.now(dt.UTC))
    with httpx.Client(transport=httpx.MockTransport(lambda _r: httpx.Response(503))) as client:
        stats = delivery.deliver_due(worker, client, now=deliver_at)
    worker.trail.flush()
    story.after_delivery(sent, staff)
    escalated = queues.escalate(repo, now)
    open_items = repo.search(
        "Task",
        [("status", ",".join(sorted(model.OPEN))), ("_summary", "count")],
        audit=False,
    ).total
    return SeedSummary(open_items or 0, stats.delivered, stats.failed, escalated)


def _exists(repo: GuardedRepository, res_type: str, res_id: str) -> bool:
    try:
        repo.read(res_type, res_id, audit=False)
    except FhirError:
        return False
    return True


def working_days_before(day: dt.date, days: int) -> dt.date:
    """The working day ``days`` working days before ``day`` (0: ``day`` itself, or the
    working day before it when ``day`` is a weekend or a holiday)."""

    def back_to_working_day(d: dt.date) -> dt.date:
        while not is_working_day(d):
            d -= dt.timedelta(days=1)
        return d

    out = back_to_working_day(day)
    for _ in range(days):
        out = back_to_working_day(out - dt.timedelta(days=1))
    return out


def _real_today() -> dt.date:
    return dt.datetime.now(OSLO).date()


def _at(day: dt.date, hour: int, minute: int = 0) -> str:
    return dt.datetime.combine(day, dt.time(hour, minute), OSLO).isoformat(timespec="seconds")


_POPULATION_ID = re.compile(r"^pop\d+-\d+$")


class _Patients:
    """The population's patients the demo items are about, chosen by id."""

    def __init__(self, repo: GuardedRepository) -> None:
        self.repo = repo
        self.all = self._patients([("_sort", "_id"), ("_count", "50")])

    def _patients(self, params: list[tuple[str, str]]) -> list[str]:
        found = self.repo.search("Patient", [*params, ("_total", "none")], audit=False)
        out = []
        for stored in found.matches:
            patient = jsonio.loads(stored.content or b"{}")
            if patient.get("deceasedDateTime") or patient.get("deceasedBoolean"):
                continue
            if _POPULATION_ID.match(stored.res_id) and patient.get("active", True):
                out.append(stored.res_id)
        return out

    def listed_with(self, office: str) -> list[str]:
        params = [("general-practitioner", f"Organization/{office}"), ("_sort", "_id")]
        return self._patients(params) or self.all

    def home_care(self, unit: str) -> list[str]:
        found = self.repo.search(
            "EpisodeOfCare",
            [("organization", f"Organization/{unit}"), ("status", "active"), ("_count", "20")],
            audit=False,
        )
        ids = sorted(
            str(
                jsonio.loads(s.content or b"{}").get("patient", {}).get("reference", "")
            ).removeprefix("Patient/")
            for s in found.matches
        )
        chosen = [i for i in ids if i in self.all or _POPULATION_ID.match(i)]
        # Too few home-care patients in a small demo: Trondheim's residents stand in.
        chosen += self._patients([("address-city", "Trondheim"), ("_sort", "_id")])
        chosen += self.all
        return list(dict.fromkeys(chosen))


class _Staff:
    """The region's staff (no I/O): PractitionerRole ids and names by unit and role."""

    def __init__(self) -> None:
        self.region = build_region()

    def member(self, unit_id: str, role: str) -> Any:
        return next(s for s in self.region.staff() if s.unit_id == unit_id and s.role == role)

    def role(self, unit_id: str, role: str) -> str:
        return f"PractitionerRole/{self.member(unit_id, role).role_id}"

    def repository(self, repo: GuardedRepository, unit_id: str, role: str) -> GuardedRepository:
        """A repository as that health worker in that unit (closing stamps them)."""
        return worker_repository(repo, self.member(unit_id, role))


def worker_repository(repo: GuardedRepository, s: Staff) -> GuardedRepository:
    """A guarded repository on ``repo``'s store as the region's staff member ``s`` in
    their unit, resolved from the stored PractitionerRole as a sign-in would be: their
    reads and writes are audited as theirs and need their care relations."""
    claims = {
        "sub": s.hpr,
        "fhir_actor": "practitioner",
        "scope": "user/*.*",
        "fhirUser": f"Practitioner/{s.practitioner_id}",
        "fj_role": f"PractitionerRole/{s.role_id}",
    }
    resolver = ContextResolver(repo.store, repo.settings)
    actor: Actor = resolver.resolve(actor_from_claims(claims, ("user/*.*",)))
    return GuardedRepository(repo.store, repo.settings, RequestContext(actor=actor))


@dataclass(frozen=True, slots=True)
class _Sent:
    comm_id: str
    days_ago: int = 0  #: working days before the anchor date it arrived


class _Story:
    """The demo's items, written one by one."""

    def __init__(self, repo: GuardedRepository, today: dt.date) -> None:
        self.repo = repo
        self.today = today

    def _put(self, resource: Resource) -> None:
        self.repo.update(resource["resourceType"], resource["id"], resource)

    def _task_for(self, focus: str) -> Resource | None:
        found = self.repo.search("Task", [("focus", focus), ("_count", "1")], audit=False)
        content = found.matches[0].content if found.matches else None
        return dict(jsonio.loads(content)) if content else None

    def _ensure_item(self, focus: str, item: Callable[[], Resource]) -> None:
        """The workflow's item for ``focus``, or (no workflow built for it yet) ours."""
        if self._task_for(focus) is None:
            task = item()
            task["id"] = f"{focus.split('/', 1)[1]}-item"
            self._put(task)

    def referral(self, r: Referral, patient: str, gp_role: str) -> None:
        # The receipt date is stated (a referral registered today may have come in
        # earlier); never after the real today, which the referral workflow refuses.
        received = min(working_days_before(self.today, r.days_ago), _real_today())
        authored = _at(received, 9, 10 + (7 * r.days_ago) % 40)
        self._put(
            {
                "resourceType": "ServiceRequest",
                "id": r.ref_id,
                "status": "active",
                "intent": "order",
                "priority": r.priority,
                "category": [{"coding": [REFERRAL_CATEGORY]}],
                "code": {"text": "Vurdering ved medisinsk poliklinikk"},
                "subject": {"reference": f"Patient/{patient}"},
                "authoredOn": authored,
                "requester": {"reference": gp_role},
                "performer": [{"reference": f"Organization/{CLINIC}"}],
                "reasonCode": [{"text": r.reason}],
                "extension": [{"url": RECEIVED_URL, "valueDate": received.isoformat()}],
            }
        )
        self._ensure_item(
            f"ServiceRequest/{r.ref_id}",
            lambda: model.work_item(
                model.REFERRAL_ASSESSMENT,
                owner=f"Organization/{CLINIC}",
                patient=f"Patient/{patient}",
                focus=f"ServiceRequest/{r.ref_id}",
                authored=authored,
                due=add_working_days(received, ASSESS_WITHIN).isoformat(),
                priority=r.priority,
                description=f"Henvisning fra Orkland legekontor: {r.reason}",
                requester=gp_role,
            ),
        )

    def result(self, res_id: str, patient: str, gp_role: str, days_ago: int) -> None:
        issued_day = working_days_before(self.today, days_ago)
        issued = _at(issued_day, 7, 30)
        order_id = f"{res_id}-order"
        self._put(
            {
                "resourceType": "ServiceRequest",
                "id": order_id,
                "status": "completed",
                "intent": "order",
                "category": [{"coding": [LAB_CATEGORY]}],
                "code": {"coding": [{"system": LOINC, "code": "4548-4", "display": "HbA1c"}]},
                "subject": {"reference": f"Patient/{patient}"},
                "authoredOn": _at(working_days_before(issued_day, 2), 10, 0),
                "requester": {"reference": gp_role},
            }
        )
        conclusion = "HbA1c 58 mmol/mol, over referanseområdet (20–42)."
        self._put(
            {
                "resourceType": "DiagnosticReport",
                "id": res_id,
                "status": "final",
                "basedOn": [{"reference": f"ServiceRequest/{order_id}"}],
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                                "code": "LAB",
                                "display": "Laboratory",
                            }
                        ]
                    }
                ],
                "code": {"coding": [{"system": LOINC, "code": "4548-4", "display": "HbA1c"}]},
                "subject": {"reference": f"Patient/{patient}"},
                "effectiveDateTime": _at(working_days_before(issued_day, 1), 8, 15),
                "issued": issued,
                "conclusion": conclusion,
            }
        )
        self._ensure_item(
            f"DiagnosticReport/{res_id}",
            lambda: model.work_item(
                model.RESULT_ACKNOWLEDGEMENT,
                owner=f"Organization/{GP_OFFICE}",
                patient=f"Patient/{patient}",
                focus=f"DiagnosticReport/{res_id}",
                authored=issued,
                due=add_working_days(issued_day, ACKNOWLEDGE_WITHIN).isoformat(),
                description=f"Prøvesvar: {conclusion}",
                assignee=gp_role,
            ),
        )

    def _message(
        self, comm_id: str, kind: str, sender: str, to: str, patient: str, text: str, days_ago: int
    ) -> _Sent:
        sent = working_days_before(self.today, days_ago)
        body = messages.communication(
            kind,
            sender=f"Organization/{sender}",
            recipients=[f"Organization/{to}"],
            patient=f"Patient/{patient}",
            sent=_at(sent, 10, 15),
            text=text,
        )
        body["id"] = comm_id
        self._put(body)
        return _Sent(comm_id, days_ago)

    def messages(self, patients: list[str]) -> list[_Sent]:
        """The messages (:data:`MESSAGES`), sent: queued in the outbox until delivery.
        A small demo may have fewer patients than messages: they take turns."""
        return [
            self._message(comm_id, kind, sender, to, patients[i % len(patients)], text, days_ago)
            for comm_id, kind, sender, to, i, text, days_ago in MESSAGES
        ]

    def after_delivery(self, sent: list[_Sent], staff: _Staff) -> None:
        """What happened since delivery: the request received four working days ago is
        still unanswered, a ward nurse has taken one message and closed another."""
        for message in sent:
            task = self._task_for(f"Communication/{message.comm_id}")
            if task is None or message.days_ago == 0:
                continue
            # Delivered when it was sent; the due date follows from that day.
            arrived = working_days_before(self.today, message.days_ago)
            task["authoredOn"] = task["lastModified"] = _at(arrived, 10, 16)
            task["restriction"] = {
                "period": {
                    "end": add_working_days(arrived, delivery.READ_WITHIN_WORKING_DAYS).isoformat()
                }
            }
            self._put(task)
        nurse = staff.repository(self.repo, WARD, "nurse")
        taken = self._task_for("Communication/demo-wf-msg-3")
        if taken is not None:
            model.set_extension(
                taken,
                model.ASSIGNEE_URL,
                "valueReference",
                {"reference": staff.role(WARD, "nurse"), "display": _name(staff, WARD, "nurse")},
            )
            nurse.update("Task", taken["id"], taken)
        closed = self._task_for("Communication/demo-wf-msg-4")
        if closed is not None:
            closed["status"] = "completed"
            closed["statusReason"] = {"text": "Samtale avtalt med lege torsdag."}
            nurse.update("Task", closed["id"], closed)


def _name(staff: _Staff, unit_id: str, role: str) -> str:
    s = staff.member(unit_id, role)
    return f"{s.given} {s.family}"
