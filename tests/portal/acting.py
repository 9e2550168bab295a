"""What the tests of the portal's acting pages share (appointments, referrals, messages,
who has looked, blocks): a fresh citizen of their own for each test, the records they
need written through a system repository (test fixtures, never through the portal),
health workers' tokens from the built-in issuer, and one round of the outbox.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from starlette.testclient import TestClient

from fellesjournal.access.actor import Actor
from fellesjournal.access.context import CitizenContext
from fellesjournal.auth.issuer import issue_token
from fellesjournal.fhir import jsonio
from fellesjournal.norway.identifiers import FNR_SYSTEM, birth_date
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from fellesjournal.web.demo_users import DemoUser, demo_users
from fellesjournal.workflows import delivery, model
from tests.mpi.people import fresh_fnr
from tests.portal.conftest import SYSTEM, csrf_of, sign_in

#: The units and health workers the tests meet (``web/demo_users.py``).
GP_OFFICE = "kommune-5059-fastlegekontor"
CLINIC = "stolav-medisin-poliklinikk"
WARD = "stolav-lunge-sengepost"


def staff(unit_id: str, role: str) -> DemoUser:
    return next(u for u in demo_users() if u.unit_id == unit_id and u.role == role)


@dataclass(frozen=True)
class Citizen:
    patient_id: str
    fnr: str
    name: str


class World:
    """Writes the records a test needs, as the system (fixtures, not what is tested)."""

    def __init__(self, settings: Settings, store: SqlStore) -> None:
        self.settings = settings
        self.store = store
        # Deferred audit: the workflows' functions (referral.assess) read inside their
        # write transaction, which a flush of the reads' events would wait for.
        self.repo = GuardedRepository(
            store, settings, RequestContext(actor=SYSTEM), defer_audit=True
        )

    def create(self, resource: dict[str, Any]) -> str:
        return str(self.repo.create(resource["resourceType"], resource).stored.res_id)

    def read(self, res_type: str, res_id: str) -> dict[str, Any]:
        return dict(jsonio.loads(self.repo.read(res_type, res_id, audit=False).content or "{}"))

    def search(self, res_type: str, items: list[tuple[str, str]]) -> list[dict[str, Any]]:
        found = self.repo.search(res_type, [*items, ("_count", "500")], audit=False)
        return [dict(jsonio.loads(s.content)) for s in found.matches if s.content]

    def citizen(self, given: str = "Siri", family: str = "Testesen") -> Citizen:
        """A new adult (born in the 1900s) with a record of their own, listed with the GP
        office. The number is random: a fixed birth date would soon repeat one."""
        while True:
            fnr = fresh_fnr()
            if not self.search("Patient", [("identifier", f"{FNR_SYSTEM}|{fnr}")]):
                break
        born = birth_date(fnr)
        assert born is not None
        patient_id = self.create(
            {
                "resourceType": "Patient",
                "identifier": [{"system": FNR_SYSTEM, "value": fnr}],
                "name": [{"family": family, "given": [given]}],
                "gender": "female",
                "birthDate": born.isoformat(),
                "generalPractitioner": [{"reference": f"Organization/{GP_OFFICE}"}],
            }
        )
        return Citizen(patient_id, fnr, f"{given} {family}")

    def appointment(
        self,
        patient_id: str,
        start: dt.datetime,
        *,
        unit: str = CLINIC,
        status: str = "booked",
        what: str = "Kontroll hjerte",
    ) -> str:
        worker = next(u for u in demo_users() if u.unit_id == unit)
        return self.create(
            {
                "resourceType": "Appointment",
                "status": status,
                "serviceType": [{"text": what}],
                "start": start.isoformat(timespec="seconds"),
                "end": (start + dt.timedelta(minutes=30)).isoformat(timespec="seconds"),
                "participant": [
                    {"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"},
                    {
                        "actor": {"reference": f"PractitionerRole/{worker.role_id}"},
                        "status": "accepted",
                    },
                ],
            }
        )

    def encounter(self, patient_id: str, unit: str = WARD) -> str:
        now = dt.datetime.now(dt.UTC)
        return self.create(
            {
                "resourceType": "Encounter",
                "status": "in-progress",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "IMP",
                },
                "subject": {"reference": f"Patient/{patient_id}"},
                "serviceProvider": {"reference": f"Organization/{unit}"},
                "period": {"start": (now - dt.timedelta(days=1)).isoformat(timespec="seconds")},
            }
        )

    def proxy(self, patient_id: str, holder: Citizen, level: str) -> str:
        """A fullmakt at ``level`` from ``patient_id`` to ``holder``."""
        return self.create(
            {
                "resourceType": "RelatedPerson",
                "patient": {"reference": f"Patient/{patient_id}"},
                "active": True,
                "identifier": [{"system": FNR_SYSTEM, "value": holder.fnr}],
                "name": [{"text": holder.name}],
                "relationship": [
                    {
                        "coding": [
                            {
                                "system": "https://fellesjournal.no/fhir/CodeSystem/proxy-access",
                                "code": level,
                            }
                        ]
                    }
                ],
                "period": {"start": "2020-01-01T00:00:00+01:00"},
            }
        )

    def deliver(self) -> delivery.RoundStats:
        """One round of the outbox (what ``fellesjournal outbox run --once`` does)."""
        return delivery.deliver_due(delivery.worker_repository(self.store, self.settings))

    def work_items(self, unit: str, kind: str, patient_id: str) -> list[dict[str, Any]]:
        return self.search(
            "Task",
            [
                ("owner", f"Organization/{unit}"),
                ("code", f"{model.CODE_SYSTEM}|{kind}"),
                ("patient", f"Patient/{patient_id}"),
            ],
        )

    def as_citizen(self, citizen: Citizen) -> GuardedRepository:
        """A repository acting as ``citizen`` on their own record (the data functions'
        tests; the pages resolve the actor from the session)."""
        actor = Actor(
            "patient",
            citizen.fnr,
            scopes=("patient/*.*",),
            claims={"fhirUser": f"Patient/{citizen.patient_id}"},
            citizen=CitizenContext(citizen.fnr, citizen.patient_id),
        )
        return GuardedRepository(self.store, self.settings, RequestContext(actor=actor))

    def practitioner_token(self, user: DemoUser) -> str:
        claims = {
            "fhir_actor": "practitioner",
            "scope": "user/*.*",
            "fhirUser": f"Practitioner/{user.practitioner_id}",
            "fj_role": f"PractitionerRole/{user.role_id}",
        }
        return issue_token(self.settings, user.hpr, claims, ttl=600)


def signed_in(client: TestClient, citizen: Citizen, acting_for: str | None = None) -> TestClient:
    """``client`` signed in to the portal as ``citizen``, acting for themselves or for
    ``acting_for`` (a patient id)."""
    landed = sign_in(client, citizen.fnr)
    assert landed.status_code == 200, landed.text
    wanted = acting_for or citizen.patient_id
    if str(landed.url.path) == "/portal/acting-for" or acting_for:
        choose = client.get("/portal/acting-for")
        chosen = client.post(
            "/portal/acting-for",
            data={"csrf": csrf_of(choose.text), "patient_id": wanted},
            follow_redirects=False,
        )
        assert chosen.status_code == 303, chosen.text
    return client


def post_form(client: TestClient, path: str, data: dict[str, str], **kwargs: Any) -> Any:
    """POST ``data`` to ``path`` with the CSRF token of the page at ``path``."""
    form_page = client.get(path)
    return client.post(
        path, data={"csrf": csrf_of(form_page.text), **data}, follow_redirects=False, **kwargs
    )


def text_of(html: str) -> str:
    """The page's text, tags removed and whitespace collapsed (for plain-words checks)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())
