"""One set of vital signs as FHIR Observations (the R4 vital-signs profile's codes).

LOINC codes and UCUM units as the FHIR core vital-signs profiles name them. Supplemental
oxygen, the level of consciousness (ACVPU) and the NEWS2 total have no code in that
profile; they use this product's code system (:data:`CODE_SYSTEM`), with Norwegian text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from fellesjournal.clinical.news2 import News2, Vitals

LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
CATEGORY: Final = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }
    ]
}
CODE_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/observation"

#: field -> (LOINC code, display, Norwegian text, UCUM unit, unit text, lowest, highest)
MEASURES: Final[dict[str, tuple[str, str, str, str, str, float, float]]] = {
    "respiration": ("9279-1", "Respiratory rate", "Respirasjonsfrekvens", "/min", "/min", 1, 80),
    "spo2": ("2708-6", "Oxygen saturation in Arterial blood", "SpO2", "%", "%", 50, 100),
    "pulse": ("8867-4", "Heart rate", "Puls", "/min", "/min", 20, 250),
    "temperature": ("8310-5", "Body temperature", "Temperatur", "Cel", "°C", 30, 44),
    "weight": ("29463-7", "Body weight", "Vekt", "kg", "kg", 0.3, 400),
    "height": ("8302-2", "Body height", "Høyde", "cm", "cm", 20, 250),
}
#: (lowest, highest) for the two blood pressures, mmHg
SYSTOLIC: Final = (40.0, 300.0)
DIASTOLIC: Final = (20.0, 200.0)


@dataclass(frozen=True, slots=True)
class VitalSet:
    """What a nurse typed; None where not measured."""

    respiration: float | None = None
    spo2: float | None = None
    on_oxygen: bool | None = None
    systolic: float | None = None
    diastolic: float | None = None
    pulse: float | None = None
    alert: bool | None = None
    temperature: float | None = None
    weight: float | None = None
    height: float | None = None

    def news2_input(self) -> Vitals:
        return Vitals(
            self.respiration,
            self.spo2,
            self.on_oxygen,
            self.systolic,
            self.pulse,
            self.alert,
            self.temperature,
        )

    def empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.__slots__)


def out_of_range(values: VitalSet) -> list[str]:
    """The fields whose value no living patient has (a typing error, most likely)."""
    bad = []
    for name, (*_, low, high) in MEASURES.items():
        value = getattr(values, name)
        if value is not None and not low <= value <= high:
            bad.append(name)
    for name, (low, high) in (("systolic", SYSTOLIC), ("diastolic", DIASTOLIC)):
        value = getattr(values, name)
        if value is not None and not low <= value <= high:
            bad.append(name)
    sys_, dia = values.systolic, values.diastolic
    if sys_ is not None and dia is not None and dia >= sys_:
        bad.append("diastolic")
    return bad


def observations(
    values: VitalSet, score: News2, *, patient_id: str, performer: str, when: str
) -> list[dict[str, Any]]:
    """The Observations of one set (``performer`` a reference, ``when`` an instant)."""

    def observation(code: dict[str, Any], **value: Any) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "status": "final",
            "category": [CATEGORY],
            "code": code,
            "subject": {"reference": f"Patient/{patient_id}"},
            "effectiveDateTime": when,
            "performer": [{"reference": performer}],
            **value,
        }

    def quantity(value: float, unit: str, code: str) -> dict[str, Any]:
        # A whole number is written as one (a pulse of 118, not 118.0, which FHIR would
        # read as measured to a tenth).
        number: float | int = int(value) if float(value).is_integer() else value
        return {"value": number, "unit": unit, "system": UCUM, "code": code}

    out = []
    for name, (loinc, display, text, ucum, unit, *_) in MEASURES.items():
        value = getattr(values, name)
        if value is not None:
            code = {"coding": [{"system": LOINC, "code": loinc, "display": display}], "text": text}
            out.append(observation(code, valueQuantity=quantity(value, unit, ucum)))
    if values.systolic is not None or values.diastolic is not None:
        components = []
        for value, loinc, display in (
            (values.systolic, "8480-6", "Systolic blood pressure"),
            (values.diastolic, "8462-4", "Diastolic blood pressure"),
        ):
            if value is not None:
                components.append(
                    {
                        "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}]},
                        "valueQuantity": quantity(value, "mmHg", "mm[Hg]"),
                    }
                )
        code = {
            "coding": [
                {
                    "system": LOINC,
                    "code": "85354-9",
                    "display": "Blood pressure panel with all children optional",
                }
            ],
            "text": "Blodtrykk",
        }
        out.append(observation(code, component=components))
    if values.on_oxygen is not None:
        code = {
            "coding": [{"system": CODE_SYSTEM, "code": "supplemental-oxygen"}],
            "text": "Oksygentilførsel",
        }
        out.append(observation(code, valueBoolean=values.on_oxygen))
    if values.alert is not None:
        code = {"coding": [{"system": CODE_SYSTEM, "code": "acvpu"}], "text": "Bevissthet (ACVPU)"}
        out.append(observation(code, valueString="A" if values.alert else "CVPU"))
    if score.score is not None:
        code = {"coding": [{"system": CODE_SYSTEM, "code": "news2"}], "text": "NEWS2"}
        out.append(
            observation(
                code,
                valueInteger=score.score,
                interpretation=[{"text": score.risk}],
            )
        )
    return out
