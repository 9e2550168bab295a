"""The resource builders behind a synthetic record: one method per kind of resource.

:class:`Chart` holds one person's growing list of resources and makes each kind of
resource the way the record generator (:mod:`fellesjournal.demo.records`) needs it:
encounters at a unit with a clinician, diagnoses, medication statements, vital signs,
lab results grouped in a report, and notes as DocumentReferences with Norwegian text.
Ids are ``{patient id}-{tag}{n}`` (``pop1-17-enc2``), so they are readable, stable and
unique within a run.
"""

from __future__ import annotations

import base64
import datetime
import random
from collections.abc import Sequence
from typing import Final

from fellesjournal.demo import clock
from fellesjournal.demo.fhirdata import (
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VER,
    ENCOUNTER_CLASS,
    INTERPRETATION,
    OBS_CATEGORY,
    V3_ACT,
    Json,
    coding,
    concept,
    quantity,
    ref,
)
from fellesjournal.demo.measurements import LABS, LOINC, SPO2_BASE, VITALS, interpretation
from fellesjournal.demo.medicines import ATC_SYSTEM, Medicine
from fellesjournal.demo.places import Team
from fellesjournal.region.model import Staff

_PARTICIPATION: Final = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
_INTERPRETATION_NAMES: Final = {"H": "High", "L": "Low", "N": "Normal"}
_ADMIT_SOURCE: Final = "http://terminology.hl7.org/CodeSystem/admit-source"
_DISCHARGE: Final = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
_V2_0074: Final = "http://terminology.hl7.org/CodeSystem/v2-0074"


def staff_ref(staff: Staff) -> Json:
    return ref("Practitioner", staff.practitioner_id, f"{staff.given} {staff.family}")


def unit_ref(team: Team) -> Json:
    return ref("Organization", team.unit.id, team.unit.name)


class Chart:
    """One person's resources as they are made (see the module docstring)."""

    def __init__(self, pid: str, rng: random.Random, female: bool) -> None:
        self.pid = pid
        self.rng = rng
        self.female = female
        self.subject = ref("Patient", pid)
        self.resources: list[Json] = []
        self._counts: dict[str, int] = {}

    def new_id(self, tag: str) -> str:
        n = self._counts.get(tag, 0) + 1
        self._counts[tag] = n
        return f"{self.pid}-{tag}{n}"

    def _add(self, resource: Json) -> Json:
        self.resources.append(resource)
        return resource

    # -- encounters -------------------------------------------------------------------------
    def encounter(
        self,
        cls: str,
        team: Team,
        clinician: Staff | None,
        start: datetime.datetime,
        end: datetime.datetime | None,
        kind: str,
        *,
        episode: str | None = None,
    ) -> str:
        """An Encounter at ``team``'s unit; ``end`` None means in progress."""
        enc_id = self.new_id("enc")
        res: Json = {
            "resourceType": "Encounter",
            "id": enc_id,
            "status": "in-progress" if end is None else "finished",
            "class": coding(V3_ACT, cls, ENCOUNTER_CLASS[cls]),
            "type": [{"text": kind}],
            "subject": self.subject,
        }
        if episode:
            res["episodeOfCare"] = [ref("EpisodeOfCare", episode)]
        if clinician is not None:
            res["participant"] = [
                {
                    "type": [concept(_PARTICIPATION, "PPRF", "primary performer")],
                    "individual": staff_ref(clinician),
                }
            ]
        period = {"start": clock.instant(start)}
        if end is not None:
            period["end"] = clock.instant(end)
        res["period"] = period
        if cls == "IMP":
            hosp: Json = {
                "admitSource": concept(_ADMIT_SOURCE, "emd", "From accident/emergency department")
            }
            if end is not None:
                hosp["dischargeDisposition"] = concept(_DISCHARGE, "home", "Home")
            res["hospitalization"] = hosp
        res["serviceProvider"] = unit_ref(team)
        self._add(res)
        return enc_id

    def set_diagnosis(self, enc_id: str, condition_ids: Sequence[str]) -> None:
        """Attach diagnoses (ranked in order) to an encounter made earlier."""
        for res in reversed(self.resources):
            if res["id"] == enc_id:
                res["diagnosis"] = [
                    {"condition": ref("Condition", cid), "rank": i}
                    for i, cid in enumerate(condition_ids, start=1)
                ]
                return
        raise KeyError(enc_id)

    def episode_of_care(
        self,
        team: Team,
        manager: Staff | None,
        start: datetime.date,
        end: datetime.date | None,
        kind: str,
    ) -> str:
        eoc_id = self.new_id("eoc")
        res: Json = {
            "resourceType": "EpisodeOfCare",
            "id": eoc_id,
            "status": "active" if end is None else "finished",
            "type": [{"text": kind}],
            "patient": self.subject,
            "managingOrganization": unit_ref(team),
            "period": {"start": start.isoformat()},
        }
        if end is not None:
            res["period"]["end"] = end.isoformat()
        if manager is not None:
            res["careManager"] = staff_ref(manager)
        self._add(res)
        return eoc_id

    # -- conditions and medicines -------------------------------------------------------------
    def condition(
        self,
        system: str,
        code: str,
        display: str,
        *,
        category: str,
        onset: datetime.date | datetime.datetime,
        recorded: datetime.date,
        recorder: Staff | None,
        encounter: str | None = None,
        abated: datetime.date | None = None,
    ) -> str:
        """A Condition; ``category`` is ``problem-list-item`` or ``encounter-diagnosis``."""
        cid = self.new_id("cond")
        res: Json = {
            "resourceType": "Condition",
            "id": cid,
            "clinicalStatus": concept(CONDITION_CLINICAL, "resolved" if abated else "active"),
            "verificationStatus": concept(CONDITION_VER, "confirmed"),
            "category": [
                concept(
                    CONDITION_CATEGORY,
                    category,
                    "Problem List Item"
                    if category == "problem-list-item"
                    else "Encounter Diagnosis",
                )
            ],
            "code": concept(system, code, display, display),
            "subject": self.subject,
        }
        if encounter:
            res["encounter"] = ref("Encounter", encounter)
        res["onsetDateTime"] = (
            clock.instant(onset) if isinstance(onset, datetime.datetime) else onset.isoformat()
        )
        if abated:
            res["abatementDateTime"] = abated.isoformat()
        res["recordedDate"] = recorded.isoformat()
        if recorder is not None:
            res["recorder"] = staff_ref(recorder)
        self._add(res)
        return cid

    def medication(
        self,
        med: Medicine,
        start: datetime.date,
        *,
        end: datetime.date | None,
        asserted: datetime.datetime,
        source: Staff | None,
        reason: str | None = None,
        encounter: str | None = None,
    ) -> str:
        mid = self.new_id("med")
        res: Json = {
            "resourceType": "MedicationStatement",
            "id": mid,
            "status": "completed" if end is not None else "active",
            "medicationCodeableConcept": concept(ATC_SYSTEM, med.atc, med.substance, med.text),
            "subject": self.subject,
        }
        if encounter:
            res["context"] = ref("Encounter", encounter)
        period = {"start": start.isoformat()}
        if end is not None:
            period["end"] = end.isoformat()
        res["effectivePeriod"] = period
        res["dateAsserted"] = clock.instant(asserted)
        if source is not None:
            res["informationSource"] = staff_ref(source)
        if reason:
            res["reasonReference"] = [ref("Condition", reason)]
        res["dosage"] = [{"text": med.dosage}]
        self._add(res)
        return mid

    # -- observations ---------------------------------------------------------------------------
    def _observation(
        self, category: str, code: Json, when: datetime.datetime, encounter: str | None
    ) -> Json:
        res: Json = {
            "resourceType": "Observation",
            "id": self.new_id("obs"),
            "status": "final",
            "category": [concept(OBS_CATEGORY, category, _CATEGORY_NAMES[category])],
            "code": code,
            "subject": self.subject,
        }
        if encounter:
            res["encounter"] = ref("Encounter", encounter)
        res["effectiveDateTime"] = clock.instant(when)
        return res

    def vital(self, key: str, value: float, when: datetime.datetime, encounter: str | None) -> str:
        v = VITALS[key]
        code = concept(LOINC, v.loinc, v.display, v.name)
        if key == "spo2":
            code["coding"].insert(0, coding(LOINC, *SPO2_BASE))
        res = self._observation("vital-signs", code, when, encounter)
        res["valueQuantity"] = quantity(value, v.unit, v.ucum)
        self._add(res)
        return str(res["id"])

    def blood_pressure(
        self, systolic: int, diastolic: int, when: datetime.datetime, encounter: str | None
    ) -> str:
        v = VITALS["bp"]
        res = self._observation(
            "vital-signs", concept(LOINC, v.loinc, v.display, v.name), when, encounter
        )
        res["component"] = [
            {
                "code": concept(LOINC, VITALS[key].loinc, VITALS[key].display),
                "valueQuantity": quantity(value, "mmHg", "mm[Hg]"),
            }
            for key, value in (("systolic", systolic), ("diastolic", diastolic))
        ]
        self._add(res)
        return str(res["id"])

    def lab_report(
        self,
        values: Sequence[tuple[str, float]],
        when: datetime.datetime,
        encounter: str | None,
        performer: Json,
    ) -> list[str]:
        """Lab Observations (``(lab key, value)``) and the DiagnosticReport grouping them."""
        taken = when
        issued = clock.instant(when + datetime.timedelta(minutes=self.rng.randint(40, 180)))
        ids = []
        for key, value in values:
            lab = LABS[key]
            res = self._observation(
                "laboratory", concept(LOINC, lab.loinc, lab.display, lab.name), taken, encounter
            )
            res["issued"] = issued
            res["performer"] = [performer]
            res["valueQuantity"] = quantity(value, lab.unit, lab.ucum)
            flag = interpretation(lab, value, self.female)
            res["interpretation"] = [concept(INTERPRETATION, flag, _INTERPRETATION_NAMES[flag])]
            i = 0 if self.female else 1
            rng_: Json = {"high": quantity(lab.high[i], lab.unit, lab.ucum)}
            if lab.low is not None:
                rng_ = {"low": quantity(lab.low[i], lab.unit, lab.ucum), **rng_}
            res["referenceRange"] = [rng_]
            self._add(res)
            ids.append(str(res["id"]))
        report: Json = {
            "resourceType": "DiagnosticReport",
            "id": self.new_id("rep"),
            "status": "final",
            "category": [concept(_V2_0074, "LAB", "Laboratory")],
            "code": concept(LOINC, "11502-2", "Laboratory report", "Laboratoriesvar"),
            "subject": self.subject,
        }
        if encounter:
            report["encounter"] = ref("Encounter", encounter)
        report["effectiveDateTime"] = clock.instant(taken)
        report["issued"] = issued
        report["performer"] = [performer]
        report["result"] = [ref("Observation", oid) for oid in ids]
        self._add(report)
        return ids

    # -- notes ----------------------------------------------------------------------------------
    def note(
        self,
        kind: tuple[str, str, str],
        text: str,
        when: datetime.datetime,
        author: Staff | None,
        team: Team,
        encounter: str | None,
        period: tuple[datetime.datetime, datetime.datetime | None] | None = None,
    ) -> str:
        """A DocumentReference holding ``text`` as UTF-8 plain text."""
        loinc, display, title = kind
        doc_id = self.new_id("doc")
        stamp = clock.instant(when)
        res: Json = {
            "resourceType": "DocumentReference",
            "id": doc_id,
            "status": "current",
            "docStatus": "final",
            "type": concept(LOINC, loinc, display, title),
            "subject": self.subject,
            "date": stamp,
        }
        if author is not None:
            res["author"] = [staff_ref(author)]
        res["custodian"] = unit_ref(team)
        res["content"] = [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "language": "nb",
                    "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                    "title": title,
                    "creation": stamp,
                }
            }
        ]
        if encounter:
            context: Json = {"encounter": [ref("Encounter", encounter)]}
            if period is not None:
                p = {"start": clock.instant(period[0])}
                if period[1] is not None:
                    p["end"] = clock.instant(period[1])
                context["period"] = p
            res["context"] = context
        self._add(res)
        return doc_id

    # -- allergies and critical information -------------------------------------------------
    def allergy(
        self,
        *,
        text: str,
        category: str,
        kind: str,
        atc: tuple[str, str] | None,
        reaction: str,
        severe: bool,
        recorded: datetime.date,
        recorder: Staff | None,
    ) -> str:
        aid = self.new_id("alg")
        code: Json = {"text": text}
        if atc:
            code = concept(ATC_SYSTEM, atc[0], atc[1], text)
        res: Json = {
            "resourceType": "AllergyIntolerance",
            "id": aid,
            "clinicalStatus": concept(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active"
            ),
            "verificationStatus": concept(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                "confirmed",
            ),
            "type": kind,
            "category": [category],
            "criticality": "high" if severe else "low",
            "code": code,
            "patient": self.subject,
            "recordedDate": recorded.isoformat(),
        }
        if recorder is not None:
            res["recorder"] = staff_ref(recorder)
        res["reaction"] = [
            {
                "manifestation": [{"text": "Anafylaksi" if severe else reaction}],
                "severity": "severe" if severe else "mild",
            }
        ]
        self._add(res)
        return aid

    def flag(
        self,
        *,
        kategori: str,
        flag_category: str,
        text: str,
        start: datetime.date,
        author: Staff | None,
    ) -> str:
        """Kritisk informasjon as a Flag: Kjernejournal category in the category's text."""
        fid = self.new_id("flag")
        res: Json = {
            "resourceType": "Flag",
            "id": fid,
            "status": "active",
            "category": [
                {
                    "coding": [
                        coding(
                            "http://terminology.hl7.org/CodeSystem/flag-category",
                            flag_category,
                            _FLAG_NAMES[flag_category],
                        )
                    ],
                    "text": f"Kritisk informasjon: {kategori}",
                }
            ],
            "code": {"text": text},
            "subject": self.subject,
            "period": {"start": start.isoformat()},
        }
        if author is not None:
            res["author"] = staff_ref(author)
        self._add(res)
        return fid


_CATEGORY_NAMES: Final = {"vital-signs": "Vital Signs", "laboratory": "Laboratory"}
_FLAG_NAMES: Final = {
    "drug": "Drug",
    "clinical": "Clinical",
    "advance-directive": "Advance Directive",
    "safety": "Safety",
}
