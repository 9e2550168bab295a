"""A few built-in demo resources for ``make run`` on an empty database.

Everything here is synthetic. Person numbers are Tenor-style *test* identities (month
+ 80), which the demo accepts (``FELLESJOURNAL_ALLOW_TEST_IDENTITIES=true``) and
production refuses. The deterministic Norwegian demo population replaces this later.
"""

from __future__ import annotations

from typing import Any

from fellesjournal.norway.identifiers import (
    FNR_SYSTEM,
    HPR_SYSTEM,
    ORGNR_SYSTEM,
    with_control_digits,
)
from fellesjournal.service.repository import GuardedRepository


def tenor_number(day: int, month: int, year: int, individ: int) -> str:
    """A valid Tenor test fødselsnummer (month + 80) near the given individnummer."""
    for i in range(individ, individ + 100):
        number = with_control_digits(f"{day:02d}{month + 80:02d}{year % 100:02d}{i % 1000:03d}")
        if number is not None:
            return number
    raise ValueError("no valid number in range")  # pragma: no cover - cannot happen


def _patient(
    pid: str, fnr: str, family: str, given: str, gender: str, born: str, city: str, kommune: str
) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": FNR_SYSTEM, "value": fnr}],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": gender,
        "birthDate": born,
        "address": [{"use": "home", "city": city, "country": "NO", "district": kommune}],
        "generalPractitioner": [{"reference": "Practitioner/demo-fastlege"}],
    }


def demo_resources() -> list[dict[str, Any]]:
    """The built-in demo set, with fixed ids so that links in the README work."""
    return [
        {
            "resourceType": "Organization",
            "id": "demo-st-olavs",
            "identifier": [{"system": ORGNR_SYSTEM, "value": "883974832"}],
            "name": "St. Olavs hospital (demo)",
            "active": True,
        },
        {
            "resourceType": "Practitioner",
            "id": "demo-fastlege",
            "identifier": [{"system": HPR_SYSTEM, "value": "9144900"}],
            "name": [{"family": "Fjellheim", "given": ["Ingrid"]}],
        },
        _patient(
            "demo-kari",
            tenor_number(12, 3, 1958, 496),
            "Nordmann",
            "Kari",
            "female",
            "1958-03-12",
            "Trondheim",
            "5001",
        ),
        _patient(
            "demo-ola",
            tenor_number(1, 11, 1947, 123),
            "Østbø",
            "Ola",
            "male",
            "1947-11-01",
            "Ålesund",
            "1508",
        ),
        _patient(
            "demo-aase",
            tenor_number(24, 6, 2014, 512),
            "Aasen",
            "Åse",
            "female",
            "2014-06-24",
            "Orkland",
            "5059",
        ),
        {
            "resourceType": "Encounter",
            "id": "demo-enc-1",
            "status": "in-progress",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "IMP",
                "display": "inpatient encounter",
            },
            "subject": {"reference": "Patient/demo-kari"},
            "serviceProvider": {"reference": "Organization/demo-st-olavs"},
            "period": {"start": "2026-11-20T08:15:00+01:00"},
        },
        {
            "resourceType": "Condition",
            "id": "demo-cond-1",
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                    }
                ]
            },
            "code": {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/sid/icd-10-no",
                        "code": "J18.9",
                        "display": "Pneumoni, uspesifisert",
                    }
                ]
            },
            "subject": {"reference": "Patient/demo-kari"},
            "encounter": {"reference": "Encounter/demo-enc-1"},
            "onsetDateTime": "2026-11-19",
        },
        {
            "resourceType": "Observation",
            "id": "demo-obs-1",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "vital-signs",
                        }
                    ]
                }
            ],
            "code": {
                "coding": [
                    {"system": "http://loinc.org", "code": "8310-5", "display": "Body temperature"}
                ]
            },
            "subject": {"reference": "Patient/demo-kari"},
            "effectiveDateTime": "2026-11-20T09:00:00+01:00",
            "valueQuantity": {
                "value": 38.6,
                "unit": "Cel",
                "system": "http://unitsofmeasure.org",
                "code": "Cel",
            },
        },
        {
            "resourceType": "AllergyIntolerance",
            "id": "demo-allergy-1",
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                        "code": "active",
                    }
                ]
            },
            "code": {"text": "Penicillin"},
            "criticality": "high",
            "patient": {"reference": "Patient/demo-kari"},
        },
    ]


def load_builtin(repo: GuardedRepository, *, force: bool = False) -> int:
    """Load the demo set unless patients exist already; returns how many were written."""
    if not force and repo.search("Patient", [("_count", "1"), ("_total", "none")]).matches:
        return 0
    from fellesjournal.service.writes import check_body
    from fellesjournal.store.base import WriteOp

    ops = []
    for res in demo_resources():
        body = check_body(res, res["resourceType"], res["id"], allow_test_identities=True)
        ops.append(WriteOp("PUT", res["resourceType"], res["id"], body))
    with repo.writing() as tx:
        repo.apply_many(tx, ops)
    return len(ops)
