"""The patient overview: everything the first screen of a chart shows, in one snapshot.

Read through the guarded repository as the signed-in health worker: the Patient read
decides access (404 when there is no care relation or the patient has blocked them),
and every search is filtered in SQL like the API's. The page is one disclosure: the
searches run unaudited and one AuditEvent names everything shown (not one per search).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fellesjournal.fhir import jsonio
from fellesjournal.norway.identifiers import DNR_SYSTEM, FNR_SYSTEM
from fellesjournal.search.normalize import date_range
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.store.base import StoredResource
from fellesjournal.web.directory import person_name
from fellesjournal.web.i18n import format_number

Resource = dict[str, Any]

#: How much of each list the first screen shows (the rest is one click away, later).
TIMELINE_SIZE = 30
LAB_POINTS = 200


@dataclass
class LabSeries:
    """One analyte's results over time, oldest first, with its reference range."""

    name: str
    unit: str
    points: list[tuple[str, float]] = field(default_factory=list)  #: (effective, value)
    low: float | None = None
    high: float | None = None

    @property
    def latest(self) -> tuple[str, float]:
        return self.points[-1]

    @property
    def out_of_range(self) -> bool:
        value = self.latest[1]
        return (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        )


@dataclass
class Overview:
    patient: Resource
    name: str
    identifier: str
    gender: str
    birth_date: str
    fastlege: str
    confidential_address: bool
    blocked: bool
    flags: list[Resource]
    allergies: list[Resource]
    problems: list[Resource]
    medications: list[Resource]
    timeline: list[dict[str, str]]
    vitals: list[dict[str, str]]
    labs: list[LabSeries]


#: The types of the record the overview shows.
CHART_TYPES = (
    "Flag",
    "AllergyIntolerance",
    "Condition",
    "MedicationStatement",
    "Encounter",
    "DocumentReference",
    "Consent",
)
#: How many of the newest Observations of each category the overview shows.
OBSERVATIONS = {"vital-signs": 50, "laboratory": LAB_POINTS}


def load_overview(repo: GuardedRepository, patient_id: str) -> Overview:
    """The overview of ``patient_id`` as the repository's actor may see it.

    Raises the repository's 404 when the actor may not see the patient.

    The record is read as a chart (``GuardedRepository.chart``: the types listed, in one
    query by patient; ``chart_newest``: the newest Observations per category, chosen by
    the index tables), each row judged as a read by id, and sorted and filtered here.
    Ten access-filtered searches, as this page was first written, took 0.6-0.9 s for a
    record of 2,000 resources (make bench): the searches' access filter tested the care
    relation again for every row, and their date sort went through the date index row
    by row.
    """
    with repo.reading() as tx:
        stored, rows = repo.chart(patient_id, CHART_TYPES, tx)
        record: dict[str, list[tuple[StoredResource, Resource]]] = {t: [] for t in CHART_TYPES}
        for row in rows:
            if row.content:
                record[row.res_type].append((row, jsonio.loads(row.content)))
        shown: list[StoredResource] = [stored]

        def pick(res_type: str, keep: Any = None, newest: int | None = None) -> list[Resource]:
            """The ``res_type`` resources kept by ``keep``; the ``newest`` only if given."""
            found = [(s, r) for s, r in record[res_type] if keep is None or keep(r)]
            if newest is not None:
                found.sort(key=lambda pair: _clinical_time(pair[1]), reverse=True)
                found = found[:newest]
            shown.extend(s for s, _r in found)
            return [r for _s, r in found]

        flags = pick("Flag", lambda r: r.get("status") == "active")
        allergies = pick("AllergyIntolerance", _clinically_active)
        problems = pick("Condition", _clinically_active)[:100]
        medications = pick("MedicationStatement", lambda r: r.get("status") == "active")[:100]
        encounters = pick("Encounter", newest=TIMELINE_SIZE)
        notes = pick("DocumentReference", newest=TIMELINE_SIZE)
        observations = repo.chart_newest(patient_id, "Observation", "category", OBSERVATIONS, tx)
        shown.extend(o for found in observations.values() for o in found)
        vitals = [jsonio.loads(o.content or "{}") for o in observations["vital-signs"]]
        # Lab values are only charted (as floats): no need for exact decimals.
        labs = [jsonio.loads_inexact(o.content or "{}") for o in observations["laboratory"]]
        consents = pick("Consent", lambda r: r.get("status") == "active")
        patient = jsonio.loads(stored.content or "{}")
        fastlege = _fastlege(repo, tx, patient, shown)
        repo.gate.disclosed(tx, "read", shown, query=f"workspace/patient/{patient_id}")
    repo.trail.flush()
    return Overview(
        patient=patient,
        name=person_name(patient),
        identifier=_national_id(patient),
        gender=str(patient.get("gender") or "unknown"),
        birth_date=str(patient.get("birthDate") or ""),
        fastlege=fastlege,
        confidential_address=_confidential(patient),
        blocked=any(_is_block(c) for c in consents),
        flags=flags,
        allergies=allergies,
        problems=sorted(problems, key=lambda c: str(c.get("onsetDateTime") or ""), reverse=True),
        medications=medications,
        timeline=_timeline(encounters, notes),
        vitals=_latest_vitals(vitals),
        labs=_lab_series(labs),
    )


def _clinically_active(resource: Resource) -> bool:
    status = resource.get("clinicalStatus") or {}
    return any(c.get("code") == "active" for c in status.get("coding") or ())


def _clinical_time(resource: Resource) -> int:
    """When it happened, as the search's ``date`` sorts it (microseconds; 0 unknown)."""
    value = (
        resource.get("effectiveDateTime")
        or resource.get("effectiveInstant")
        or (resource.get("effectivePeriod") or {}).get("start")
        or (resource.get("period") or {}).get("start")
        or resource.get("date")
        or resource.get("issued")
    )
    try:
        return date_range(str(value))[0] if value else 0
    except ValueError:
        return 0


def _national_id(patient: Resource) -> str:
    for system in (FNR_SYSTEM, DNR_SYSTEM):
        for ident in patient.get("identifier") or ():
            if ident.get("system") == system and ident.get("value"):
                return str(ident["value"])
    return ""


def _confidential(patient: Resource) -> bool:
    labels = (patient.get("meta") or {}).get("security") or ()
    if any(label.get("code") == "REDACTED" for label in labels):
        return True
    for address in patient.get("address") or ():
        for ext in address.get("extension") or ():
            coding = ext.get("valueCoding") or {}
            if str(ext.get("url", "")).endswith("address-confidentiality") and coding.get(
                "code"
            ) in ("fortrolig", "strengt-fortrolig", "strengt-fortrolig-utland"):
                return True
    return False


def _is_block(consent: Resource) -> bool:
    provision = consent.get("provision") or {}
    return provision.get("type") == "deny"


def _fastlege(
    repo: GuardedRepository, tx: Any, patient: Resource, shown: list[StoredResource]
) -> str:
    for ref in patient.get("generalPractitioner") or ():
        value = str(ref.get("reference") or "")
        if value.startswith("Practitioner/"):
            try:
                found = repo.read("Practitioner", value.removeprefix("Practitioner/"), tx)
            except Exception:  # noqa: BLE001 - a dangling reference shows its display text
                return str(ref.get("display") or "")
            return person_name(jsonio.loads(found.content or "{}"))
        if ref.get("display"):
            return str(ref["display"])
    return ""


def _text(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding") or ():
        if coding.get("display"):
            return str(coding["display"])
        if coding.get("code"):
            return str(coding["code"])
    return ""


def _timeline(encounters: list[Resource], notes: list[Resource]) -> list[dict[str, str]]:
    """Contacts and notes across hospital and municipality, newest first: who, where, when."""
    items = []
    for enc in encounters:
        who = next(
            (
                str((p.get("individual") or {}).get("display") or "")
                for p in enc.get("participant") or ()
            ),
            "",
        )
        items.append(
            {
                "kind": "encounter",
                "id": str(enc.get("id") or ""),
                "when": str((enc.get("period") or {}).get("start") or ""),
                "what": _text((enc.get("type") or [{}])[0])
                or str((enc.get("class") or {}).get("display") or ""),
                "where": str((enc.get("serviceProvider") or {}).get("display") or ""),
                "who": who,
                "status": str(enc.get("status") or ""),
            }
        )
    for doc in notes:
        authors = [str(a.get("display") or "") for a in doc.get("author") or ()]
        items.append(
            {
                "kind": "note",
                "id": str(doc.get("id") or ""),
                "when": str(doc.get("date") or ""),
                "what": _text(doc.get("type")),
                "where": str((doc.get("custodian") or {}).get("display") or ""),
                "who": ", ".join(a for a in authors if a),
                "status": str(doc.get("docStatus") or doc.get("status") or ""),
            }
        )
    items.sort(key=lambda i: i["when"], reverse=True)
    return items[:TIMELINE_SIZE]


def _quantity(obs: Resource) -> str:
    """The value of a measurement as shown: numbers with a decimal comma, as written
    (``37.50`` stays ``37,50``), a blood pressure as ``systolic/diastolic``."""
    if "valueInteger" in obs:
        return format_number(obs["valueInteger"])
    if "valueString" in obs:
        return str(obs["valueString"])
    if "valueCodeableConcept" in obs:
        return _text(obs["valueCodeableConcept"])
    q = obs.get("valueQuantity")
    if isinstance(q, dict) and "value" in q:
        return f"{_number(q['value'])} {q.get('unit') or ''}".strip()
    parts = []
    for comp in obs.get("component") or ():
        cq = comp.get("valueQuantity") or {}
        if "value" in cq:
            parts.append(_number(cq["value"]))
    if parts:
        unit = ((obs.get("component") or [{}])[0].get("valueQuantity") or {}).get("unit", "")
        return f"{'/'.join(parts)} {unit}".strip()
    return ""


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a float carries no written precision: 118.0 reads as 118
    try:
        return format_number(value)
    except ValueError:  # not a number after all: shown as stored
        return str(value)


def _latest_vitals(vitals: list[Resource]) -> list[dict[str, str]]:
    """The newest value of each kind of vital sign (the search is newest first)."""
    seen: dict[str, dict[str, str]] = {}
    for obs in vitals:
        name = _text(obs.get("code"))
        if name and name not in seen:
            seen[name] = {
                "name": name,
                "value": _quantity(obs),
                "when": str(obs.get("effectiveDateTime") or ""),
                "risk": _text((obs.get("interpretation") or [None])[0]),
            }
    return list(seen.values())


def _lab_series(labs: list[Resource]) -> list[LabSeries]:
    """Results grouped per analyte, oldest first; analytes by name."""
    series: dict[str, LabSeries] = {}
    for obs in reversed(labs):
        q = obs.get("valueQuantity")
        if not isinstance(q, dict) or not isinstance(q.get("value"), int | float):
            continue
        name = _text(obs.get("code"))
        entry = series.setdefault(name, LabSeries(name, str(q.get("unit") or "")))
        entry.points.append((str(obs.get("effectiveDateTime") or ""), float(q["value"])))
        for rng in obs.get("referenceRange") or ():
            low, high = (rng.get("low") or {}).get("value"), (rng.get("high") or {}).get("value")
            entry.low = float(low) if isinstance(low, int | float) else entry.low
            entry.high = float(high) if isinstance(high, int | float) else entry.high
    return [series[name] for name in sorted(series)]
