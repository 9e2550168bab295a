"""The portal's access core tested through the FHIR API, on a database of its own.

:class:`World` writes what a test needs as the system (fixtures, never what is tested):
a health trust with a clinic and a GP office (both member units: an operator's active
Organization counts as one), a doctor at the clinic, citizens of any age, their records,
fullmakt and parents' representations (RelatedPerson). Citizens and proxies then act
through ``/fhir`` with the tokens the portal builds (``portal/base.py``): ``sub`` the
fødselsnummer, ``fhir_actor: patient``, ``scope: patient/*.*``, and ``fj_on_behalf_of``
for a proxy.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.access import proxy, release
from fellesjournal.access.actor import Actor
from fellesjournal.app import create_app
from fellesjournal.auth.issuer import issue_practitioner_token, issue_system_token, issue_token
from fellesjournal.demo.identity import person_number
from fellesjournal.fhir import jsonio
from fellesjournal.norway.identifiers import FNR_SYSTEM, HPR_SYSTEM
from fellesjournal.region.fhir import ROLE_SYSTEM, VOLVEN_9060
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.migrate import upgrade
from fellesjournal.store.sql import SqlStore
from tests.conftest import fresh_database_url, make_settings

FHIR_JSON = "application/fhir+json"
TODAY = dt.datetime.now(dt.UTC).date()
WITHHOLD = release.WITHHOLD_SYSTEM
_RNG = random.SystemRandom()
_USED: set[str] = set()


def born_years_ago(years: int, *, days: int = 30) -> dt.date:
    """A birth date making someone ``years`` old today: ``days`` before their
    ``years``-th birthday (far from a birthday falling today)."""
    anniversary = dt.date(TODAY.year - years, TODAY.month, min(TODAY.day, 28))
    return anniversary - dt.timedelta(days=days)


def fnr_born(born: dt.date) -> str:
    """A fresh Tenor test fødselsnummer for someone born ``born`` (any century)."""
    return person_number(born, _RNG.random() < 0.5, _RNG, _USED)


def ago(**delta: float) -> str:
    """A FHIR instant ``delta`` before now."""
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(**delta)
    return moment.isoformat(timespec="seconds")


def ids(bundle: dict[str, Any], res_type: str | None = None) -> set[str]:
    """``Type/id`` of every resource in a search Bundle (of ``res_type`` only, if given)."""
    out = set()
    for entry in bundle.get("entry") or ():
        res = entry.get("resource") or {}
        kind = res.get("resourceType")
        if kind != "OperationOutcome" and (res_type is None or kind == res_type):
            out.add(f"{kind}/{res['id']}")
    return out


@dataclass(frozen=True)
class Person:
    patient_id: str
    fnr: str
    name: str
    born: dt.date

    @property
    def ref(self) -> str:
        return f"Patient/{self.patient_id}"


class World:
    """The units, the doctor, and the writes of the tests' records (as the system)."""

    def __init__(self, settings: Settings, store: SqlStore, app: Any) -> None:
        self.settings = settings
        self.store = store
        self.app = app
        actor = Actor("system", "portal-access-test", scopes=("system/*.*",))
        self.repo = GuardedRepository(store, settings, RequestContext(actor=actor))
        self._clients: list[TestClient] = []
        u = uuid.uuid4().hex[:8]
        self.trust, self.clinic, self.gp_office = f"hf-{u}", f"hf-{u}-pol", f"kommune-{u}-lege"
        self.hpr = str(_RNG.randint(800_000_000, 899_999_999))
        self.practitioner_id, self.role_id = f"hpr-{self.hpr}", f"role-{u}"
        self.put({"resourceType": "Organization", "id": self.trust, "active": True, "name": "HF"})
        for org, name in ((self.clinic, "Poliklinikk"), (self.gp_office, "Legekontor")):
            self.put(
                {
                    "resourceType": "Organization",
                    "id": org,
                    "active": True,
                    "name": name,
                    "partOf": {"reference": f"Organization/{self.trust}"},
                }
            )
        self.put(
            {
                "resourceType": "Practitioner",
                "id": self.practitioner_id,
                "active": True,
                "name": [{"family": "Lege", "given": ["Lise"]}],
                "identifier": [{"system": HPR_SYSTEM, "value": self.hpr}],
                "qualification": [{"code": {"coding": [{"system": VOLVEN_9060, "code": "LE"}]}}],
            }
        )
        self.put(
            {
                "resourceType": "PractitionerRole",
                "id": self.role_id,
                "active": True,
                "practitioner": {"reference": f"Practitioner/{self.practitioner_id}"},
                "organization": {"reference": f"Organization/{self.clinic}"},
                "code": [{"coding": [{"system": ROLE_SYSTEM, "code": "doctor"}]}],
            }
        )

    # -- writing fixtures ----------------------------------------------------------------

    def put(self, resource: dict[str, Any]) -> str:
        self.repo.update(resource["resourceType"], resource["id"], resource)
        return f"{resource['resourceType']}/{resource['id']}"

    def add(self, resource: dict[str, Any]) -> str:
        """Create ``resource`` as the system; ``Type/id``."""
        stored = self.repo.create(resource["resourceType"], resource).stored
        return f"{stored.res_type}/{stored.res_id}"

    def read(self, ref: str) -> dict[str, Any]:
        res_type, res_id = ref.split("/")
        return dict(jsonio.loads(self.repo.read(res_type, res_id, audit=False).content or "{}"))

    def search(self, res_type: str, items: list[tuple[str, str]]) -> list[dict[str, Any]]:
        found = self.repo.search(res_type, [*items, ("_count", "500")], audit=False)
        return [dict(jsonio.loads(s.content)) for s in found.matches if s.content]

    def person(self, years: int, *, given: str = "Kari", days: int = 30) -> Person:
        """A new Patient ``years`` old (born ``days`` before 1 January of that year)."""
        born = born_years_ago(years, days=days)
        fnr = fnr_born(born)
        pid = f"p-{uuid.uuid4().hex[:12]}"
        self.put(
            {
                "resourceType": "Patient",
                "id": pid,
                "identifier": [{"system": FNR_SYSTEM, "value": fnr}],
                "name": [{"family": "Testesen", "given": [given]}],
                "birthDate": born.isoformat(),
                "generalPractitioner": [{"reference": f"Organization/{self.gp_office}"}],
            }
        )
        return Person(pid, fnr, f"{given} Testesen", born)

    def adult_number(self, years: int = 40) -> str:
        """A fødselsnummer of someone ``years`` old with no Patient of their own."""
        return fnr_born(born_years_ago(years, days=30))

    def representation(
        self,
        patient: Person,
        holder_fnr: str,
        level: str,
        *,
        active: bool = True,
        period: dict[str, str] | None = None,
        name: str = "Fullmektig Fullmektigsen",
    ) -> str:
        """A RelatedPerson making ``holder_fnr`` a proxy of ``patient``; its id."""
        rid = f"rp-{uuid.uuid4().hex[:12]}"
        self.put(
            {
                "resourceType": "RelatedPerson",
                "id": rid,
                "patient": {"reference": patient.ref},
                "active": active,
                "identifier": [{"system": FNR_SYSTEM, "value": holder_fnr}],
                "name": [{"text": name}],
                "relationship": [{"coding": [{"system": proxy.PROXY_SYSTEM, "code": level}]}],
                "period": period or {"start": ago(days=1)},
            }
        )
        return rid

    def care_relation(self, patient: Person) -> str:
        """An Encounter in progress at the clinic: the doctor's care relation."""
        return self.add(
            {
                "resourceType": "Encounter",
                "status": "in-progress",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                },
                "subject": {"reference": patient.ref},
                "serviceProvider": {"reference": f"Organization/{self.clinic}"},
                "period": {"start": ago(hours=1)},
            }
        )

    # -- clients -------------------------------------------------------------------------

    def _client(self, token: str) -> TestClient:
        c = TestClient(self.app, base_url="http://testserver")
        c.__enter__()
        c.headers.update({"Authorization": f"Bearer {token}", "Accept": FHIR_JSON})
        self._clients.append(c)
        return c

    def citizen(self, fnr: str, on_behalf: Person | str | None = None) -> TestClient:
        """``/fhir`` as the holder of ``fnr`` (for themselves, or for ``on_behalf``)."""
        claims: dict[str, Any] = {"fhir_actor": "patient", "scope": "patient/*.*"}
        if on_behalf is not None:
            ref = on_behalf.ref if isinstance(on_behalf, Person) else on_behalf
            claims[proxy.ON_BEHALF_CLAIM] = ref
        return self._client(issue_token(self.settings, fnr, claims, ttl=3600))

    def doctor(self) -> TestClient:
        return self._client(
            issue_practitioner_token(
                self.settings, self.hpr, self.role_id, self.practitioner_id, ttl=3600
            )
        )

    def system(self) -> TestClient:
        return self._client(issue_system_token(self.settings, ttl=3600))

    def close(self) -> None:
        for c in self._clients:
            c.__exit__(None, None, None)


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("portal_access")
    settings = make_settings(fresh_database_url(folder, "portal_access"), folder)
    store = SqlStore.from_settings(settings)
    upgrade(store.engine)
    app = create_app(settings, store=store)
    w = World(settings, store, app)
    yield w
    w.close()
    store.dispose()


# -- resource builders ---------------------------------------------------------------------


def document(
    patient: Person,
    loinc: str,
    *,
    hours_ago: float = 48,
    status: str = "current",
    doc_status: str | None = "final",
    security: list[str] = (),  # type: ignore[assignment]
    signed_hours_ago: float | None = None,
    labels: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "status": status,
        "type": {"coding": [{"system": release.LOINC, "code": loinc}], "text": f"Type {loinc}"},
        "subject": {"reference": patient.ref},
        "date": ago(hours=hours_ago),
        "content": [{"attachment": {"contentType": "text/plain", "data": "SGVp"}}],
    }
    if doc_status:
        doc["docStatus"] = doc_status
    sec = [{"system": WITHHOLD, "code": c} for c in security]
    sec += [{"system": s, "code": c} for s, c in labels]
    if sec:
        doc["meta"] = {"security": sec}
    if signed_hours_ago is not None:
        doc["extension"] = [
            {
                "url": "https://fellesjournal.no/fhir/StructureDefinition/note-signed",
                "valueDateTime": ago(hours=signed_hours_ago),
            }
        ]
    return doc


def observation(
    patient: Person, *, laboratory: bool = True, tag: str | None = None
) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": release.LOINC, "code": "718-7"}], "text": "Hemoglobin"},
        "subject": {"reference": patient.ref},
        "valueQuantity": {"value": 13.2, "unit": "g/dL"},
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory" if laboratory else "vital-signs",
                    }
                ]
            }
        ],
    }
    if tag:
        obs["meta"] = {"tag": [{"system": release.RELEASE_SYSTEM, "code": tag}]}
    return obs


def report(
    patient: Person,
    category: str | None,
    *,
    days_ago: float = 1,
    results: list[str] = (),  # type: ignore[assignment]
    status: str = "final",
) -> dict[str, Any]:
    rep: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "status": status,
        "code": {"coding": [{"system": release.LOINC, "code": "58410-2"}], "text": "Blodprøver"},
        "subject": {"reference": patient.ref},
        "issued": ago(days=days_ago),
        "effectiveDateTime": ago(days=days_ago),
    }
    if results:
        rep["result"] = [{"reference": r} for r in results]
    if category:
        rep["meta"] = {"tag": [{"system": release.RELEASE_SYSTEM, "code": category}]}
    return rep
