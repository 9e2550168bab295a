"""``/portal/record``: my record in plain words.

Problems (Condition), the medication list (active MedicationStatement), allergies
(AllergyIntolerance) and critical information (Flag), vaccinations (Immunization), and
contacts and stays (Encounter) across hospitals and municipalities with the unit's name.
Read as one chart through the citizen's repository (``portal/reading.py``): only what
the access layer releases to the patient actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fellesjournal.portal.base import Portal, answers, page
from fellesjournal.portal.reading import (
    Resource,
    Units,
    code,
    newest_first,
    read_chart,
    text,
    when,
)
from fellesjournal.service.repository import GuardedRepository

TYPES: Final = (
    "Condition",
    "MedicationStatement",
    "AllergyIntolerance",
    "Flag",
    "Immunization",
    "Encounter",
)
#: How many contacts and stays the page lists (newest first).
ENCOUNTERS: Final = 100
_V3_ACT: Final = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


@dataclass(frozen=True)
class Item:
    """One line of the record: what, since or when, and more in plain words."""

    name: str
    date: str = ""
    end: str = ""
    detail: str = ""
    serious: bool = False


@dataclass(frozen=True)
class Contact:
    """A contact or stay: its kind (encounter class code), unit and organisation."""

    kind: str
    what: str
    start: str
    end: str
    unit: str
    organization: str
    ongoing: bool


@dataclass
class Record:
    problems: list[Item]
    past_problems: list[Item]
    medications: list[Item]
    allergies: list[Item]
    critical: list[Item]
    vaccinations: list[Item]
    contacts: list[Contact]


def _active(resource: Resource) -> bool:
    return code(resource.get("clinicalStatus")) in ("", "active", "recurrence", "relapse")


def _problem(condition: Resource) -> Item:
    return Item(
        text(condition.get("code")),
        when(condition, "onsetDateTime", "onsetPeriod", "recordedDate"),
        str(condition.get("abatementDateTime") or ""),
    )


def _medication(statement: Resource) -> Item:
    dosage = "; ".join(
        str(d["text"])
        for d in statement.get("dosage") or ()
        if isinstance(d, dict) and d.get("text")
    )
    return Item(
        text(statement.get("medicationCodeableConcept"))
        or _display(statement, "medicationReference"),
        when(statement, "effectivePeriod", "effectiveDateTime", "dateAsserted"),
        detail=dosage,
    )


def _allergy(allergy: Resource) -> Item:
    reactions = [
        text(m)
        for r in allergy.get("reaction") or ()
        if isinstance(r, dict)
        for m in r.get("manifestation") or ()
    ]
    severe = allergy.get("criticality") == "high" or any(
        isinstance(r, dict) and r.get("severity") == "severe" for r in allergy.get("reaction") or ()
    )
    return Item(
        text(allergy.get("code")),
        when(allergy, "onsetDateTime", "recordedDate"),
        detail=", ".join(r for r in reactions if r),
        serious=severe,
    )


def _flag(flag: Resource) -> Item:
    categories = [text(c) for c in flag.get("category") or ()]
    return Item(
        text(flag.get("code")),
        when(flag, "period"),
        detail=", ".join(c for c in categories if c),
        serious=True,
    )


def _vaccination(immunization: Resource) -> Item:
    return Item(
        text(immunization.get("vaccineCode")),
        when(immunization, "occurrenceDateTime", "recorded"),
        detail=str(immunization.get("lotNumber") or ""),
    )


def _display(resource: Resource, name: str) -> str:
    value = resource.get(name)
    return str(value.get("display") or "") if isinstance(value, dict) else ""


def _contacts(repo: GuardedRepository, encounters: list[Resource]) -> list[Contact]:
    encounters = newest_first(encounters, "period")[:ENCOUNTERS]
    units = Units(repo)
    units.prepare(
        str(e.get("serviceProvider", {}).get("reference", "")).removeprefix("Organization/")
        for e in encounters
        if isinstance(e.get("serviceProvider"), dict)
    )
    out = []
    for enc in encounters:
        unit, organization = units.of(enc.get("serviceProvider"))
        period = enc.get("period") or {}
        kinds = enc.get("type") or ()
        out.append(
            Contact(
                kind=str((enc.get("class") or {}).get("code") or ""),
                what=text(kinds[0]) if kinds else "",
                start=str(period.get("start") or ""),
                end=str(period.get("end") or ""),
                unit=unit,
                organization=organization,
                ongoing=enc.get("status") in ("in-progress", "arrived", "onleave"),
            )
        )
    return out


def load_record(repo: GuardedRepository, patient_id: str) -> Record:
    """The record page's content for ``patient_id`` as the repository's actor sees it."""
    _patient, found = read_chart(repo, patient_id, TYPES, f"portal/record/{patient_id}")
    conditions = [
        c for c in found["Condition"] if code(c.get("verificationStatus")) != "entered-in-error"
    ]
    fields = ("onsetDateTime", "onsetPeriod", "recordedDate")
    return Record(
        problems=[
            _problem(c) for c in newest_first([c for c in conditions if _active(c)], *fields)
        ],
        past_problems=[
            _problem(c) for c in newest_first([c for c in conditions if not _active(c)], *fields)
        ],
        medications=[
            _medication(m)
            for m in newest_first(
                [m for m in found["MedicationStatement"] if m.get("status") == "active"],
                "effectivePeriod",
                "effectiveDateTime",
            )
        ],
        allergies=[
            _allergy(a)
            for a in found["AllergyIntolerance"]
            if _active(a) and code(a.get("verificationStatus")) != "entered-in-error"
        ],
        critical=[_flag(f) for f in found["Flag"] if f.get("status") == "active"],
        vaccinations=[
            _vaccination(i)
            for i in newest_first(
                [i for i in found["Immunization"] if i.get("status") == "completed"],
                "occurrenceDateTime",
            )
        ],
        contacts=_contacts(repo, found["Encounter"]),
    )


def routes(portal: Portal) -> list[BaseRoute]:
    @answers
    async def record(request: Request) -> Response:
        repo = portal.repository(request)
        portal.require(request, "read")
        content: Any = load_record(repo, portal.patient_id(request))
        return page(request, "portal/record.html", record=content)

    return [Route("/portal/record", record)]
