"""Small builders for the FHIR data types the demo generator writes again and again."""

from __future__ import annotations

from typing import Any, Final

V3_ACT: Final = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBS_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL: Final = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER: Final = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/condition-category"
INTERPRETATION: Final = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

#: Encounter classes (v3 ActCode) with their displays.
ENCOUNTER_CLASS: Final = {
    "AMB": "ambulatory",
    "IMP": "inpatient encounter",
    "EMER": "emergency",
    "HH": "home health",
}

Json = dict[str, Any]


def ref(res_type: str, res_id: str, display: str | None = None) -> Json:
    out: Json = {"reference": f"{res_type}/{res_id}"}
    if display:
        out["display"] = display
    return out


def coding(system: str, code: str, display: str | None = None) -> Json:
    out: Json = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def concept(system: str, code: str, display: str | None = None, text: str | None = None) -> Json:
    out: Json = {"coding": [coding(system, code, display)]}
    if text:
        out["text"] = text
    return out


def quantity(value: float, unit: str, ucum: str) -> Json:
    return {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": ucum}
