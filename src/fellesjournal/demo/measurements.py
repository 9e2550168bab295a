"""Vital signs and lab analytes: LOINC codes, UCUM units, Norwegian names, reference ranges.

Vital-sign codes are those of the FHIR R4 vital-signs profiles (and HL7 Norway's
no-domain VitalSigns, docs/domain.md §1.10). Lab analytes use the LOINC code for the unit
Norwegian laboratories report in (µmol/L creatinine is 14682-9, not the mg/dL 2160-0);
reference ranges are typical adult ranges from Norwegian hospital laboratory handbooks,
rounded (sex-specific where labs give separate ranges). Values are drawn around the
range, pushed up or down by the patient's condition (``level``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"


@dataclass(frozen=True, slots=True)
class Vital:
    loinc: str
    display: str  #: LOINC long common name
    name: str  #: Norwegian
    ucum: str
    unit: str  #: unit as shown


VITALS: Final = {
    "bp": Vital("85354-9", "Blood pressure panel with all children optional", "Blodtrykk",
                "mm[Hg]", "mmHg"),
    "systolic": Vital("8480-6", "Systolic blood pressure", "Systolisk blodtrykk", "mm[Hg]", "mmHg"),
    "diastolic": Vital("8462-4", "Diastolic blood pressure", "Diastolisk blodtrykk", "mm[Hg]",
                       "mmHg"),
    "pulse": Vital("8867-4", "Heart rate", "Puls", "/min", "/min"),
    "temperature": Vital("8310-5", "Body temperature", "Temperatur", "Cel", "°C"),
    "respiration": Vital("9279-1", "Respiratory rate", "Respirasjonsfrekvens", "/min", "/min"),
    "spo2": Vital("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry",
                  "Oksygenmetning", "%", "%"),
    "weight": Vital("29463-7", "Body weight", "Vekt", "kg", "kg"),
    "height": Vital("8302-2", "Body height", "Høyde", "cm", "cm"),
}  # fmt: skip
#: The R4 vital-signs profile wants 2708-6 beside the pulse-oximetry code.
SPO2_BASE: Final = ("2708-6", "Oxygen saturation in Arterial blood")


@dataclass(frozen=True, slots=True)
class Lab:
    key: str
    loinc: str
    display: str  #: LOINC long common name
    name: str  #: Norwegian name as on a lab report
    ucum: str
    unit: str
    low: tuple[float, float] | None  #: (women, men); None: no lower limit
    high: tuple[float, float]  #: (women, men)
    decimals: int
    raised: tuple[float, float]  #: span of typical values when raised by illness
    lowered: tuple[float, float] | None = None  #: span when lowered by illness


LABS: Final = {
    lab.key: lab
    for lab in (
        Lab("hb", "718-7", "Hemoglobin [Mass/volume] in Blood", "Hemoglobin (Hb)", "g/dL", "g/dL",
            (11.7, 13.4), (15.3, 17.0), 1, (15.5, 18.0), (7.5, 11.0)),
        Lab("crp", "1988-5", "C reactive protein [Mass/volume] in Serum or Plasma", "CRP", "mg/L",
            "mg/L", None, (5, 5), 0, (40, 260)),
        Lab("hba1c", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "HbA1c", "%", "%",
            (4.0, 4.0), (6.0, 6.0), 1, (6.4, 9.5)),
        Lab("kreatinin", "14682-9", "Creatinine [Moles/volume] in Serum or Plasma", "Kreatinin",
            "umol/L", "µmol/L", (45, 60), (90, 105), 0, (115, 240)),
        Lab("natrium", "2951-2", "Sodium [Moles/volume] in Serum or Plasma", "Natrium",
            "mmol/L", "mmol/L", (137, 137), (145, 145), 0, (146, 150), (125, 135)),
        Lab("kalium", "2823-3", "Potassium [Moles/volume] in Serum or Plasma", "Kalium",
            "mmol/L", "mmol/L", (3.5, 3.5), (4.4, 4.4), 1, (4.6, 5.6), (2.9, 3.4)),
        Lab("leukocytter", "6690-2", "Leukocytes [#/volume] in Blood by Automated count",
            "Leukocytter", "10*9/L", "10^9/L", (3.5, 3.5), (10.0, 10.0), 1, (11.5, 22.0)),
        Lab("glukose", "14749-6", "Glucose [Moles/volume] in Serum or Plasma", "Glukose",
            "mmol/L", "mmol/L", (4.0, 4.0), (6.0, 6.0), 1, (7.0, 14.0)),
        Lab("alat", "1742-6",
            "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "ALAT",
            "U/L", "U/L", (10, 10), (45, 70), 0, (80, 300)),
        Lab("tsh", "3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", "TSH", "m[IU]/L",
            "mIE/L", (0.5, 0.5), (3.6, 3.6), 2, (4.5, 9.0)),
        Lab("kolesterol", "14647-2", "Cholesterol [Moles/volume] in Serum or Plasma",
            "Totalkolesterol", "mmol/L", "mmol/L", (2.9, 2.9), (6.1, 6.1), 1, (6.3, 8.2)),
        Lab("ntprobnp", "33762-6",
            "Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma",
            "NT-proBNP", "ng/L", "ng/L", None, (125, 125), 0, (600, 6000)),
        Lab("troponin", "67151-1",
            "Troponin T.cardiac [Mass/volume] in Serum or Plasma by High sensitivity method",
            "Troponin T", "ng/L", "ng/L", None, (15, 15), 0, (60, 1800)),
        Lab("inr", "6301-6", "INR in Platelet poor plasma by Coagulation assay", "INR",
            "{INR}", "INR", (0.8, 0.8), (1.2, 1.2), 1, (1.4, 3.0)),
    )
}  # fmt: skip

#: The panel taken at every hospital admission.
ADMISSION_PANEL: Final = ("hb", "crp", "natrium", "kalium", "kreatinin")
#: Tests the fastlege takes when someone is unusually tired.
FATIGUE_PANEL: Final = ("hb", "crp", "tsh", "glukose")


def lab_value(lab: Lab, rng: random.Random, female: bool, level: str = "normal") -> float:
    """A plausible value: ``level`` is ``"normal"``, ``"high"`` or ``"low"``."""
    i = 0 if female else 1
    if level == "high":
        lo, hi = lab.raised
    elif level == "low" and lab.lowered is not None:
        lo, hi = lab.lowered
    else:
        top = lab.high[i]
        bottom = lab.low[i] if lab.low is not None else top * 0.1
        span = top - bottom
        lo, hi = bottom + 0.15 * span, top - 0.1 * span
    value = lo + (hi - lo) * rng.random()
    return round(value, lab.decimals) if lab.decimals else round(value)


def interpretation(lab: Lab, value: float, female: bool) -> str:
    """``"H"``, ``"L"`` or ``"N"`` against the patient's reference range."""
    i = 0 if female else 1
    if value > lab.high[i]:
        return "H"
    if lab.low is not None and value < lab.low[i]:
        return "L"
    return "N"


def height_cm(age: int, female: bool, rng: random.Random) -> float:
    """A rough Norwegian growth curve: adults about 167 cm (women) and 180 cm (men)."""
    adult = (167.0 if female else 180.5) + rng.gauss(0, 6.5)
    if age >= 17:
        return round(adult - max(0, age - 70) * 0.15, 1)
    if age == 0:
        return round(60 + rng.uniform(-5, 10), 1)
    child = 76 + 6.3 * (min(age, 12) - 1)
    if age > 12:
        child += (adult - child) * (age - 12) / 5
    return round(child + rng.gauss(0, 3), 1)


def weight_kg(height: float, age: int, rng: random.Random) -> float:
    """From a body-mass index typical of the age (children about 16, adults 22-32)."""
    bmi = 16.0 + rng.gauss(0, 1.2) if age < 12 else 19.0 + min(age, 60) / 6 + rng.gauss(0, 3.5)
    return round(max(bmi, 14.0) * (height / 100) ** 2, 1)
