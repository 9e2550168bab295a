"""Allergies and intolerances (AllergyIntolerance), "no known allergies", and ending one.

The substances offered by name are the common ones in Norway; medicines and groups of
medicines are coded with ATC (domain.md §1.1: substance ATC/FEST), a few foods and
latex with SNOMED CT; codes only where certain, anything else as text. "No known
allergies" is the SNOMED CT situation 716186003, as the International Patient Summary
records it; adding a real allergy ends it.

Nothing is deleted: ending an allergy updates it (``inactive``, ``refuted`` or
``entered-in-error``) with a note saying who, when and why, and its history keeps what
it was. R4's invariants are kept: an entry in error carries no clinical status (ait-2),
every other entry does (ait-1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

ATC: Final = "http://www.whocc.no/atc"
SNOMED: Final = "http://snomed.info/sct"
CLINICAL: Final = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
VERIFICATION: Final = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
NO_KNOWN_ALLERGY: Final = "716186003"

TYPES: Final = ("allergy", "intolerance")
CATEGORIES: Final = ("medication", "food", "environment", "biologic")
CRITICALITIES: Final = ("high", "low", "unable-to-assess")
VERIFICATIONS: Final = ("confirmed", "unconfirmed")
SEVERITIES: Final = ("mild", "moderate", "severe")
#: How an allergy ends: the status it gets, and the word its note starts with.
ENDINGS: Final = {
    "inactive": "Inaktiv",
    "refuted": "Avkreftet",
    "entered-in-error": "Feilregistrert",
}
MAX_TEXT: Final = 200


@dataclass(frozen=True, slots=True)
class Substance:
    text: str  #: as the list shows and stores it
    category: str  #: FHIR allergy-intolerance-category
    system: str | None = None
    code: str | None = None
    display: str | None = None

    def concept(self) -> dict[str, Any]:
        if self.system is None or self.code is None:
            return {"text": self.text}
        coding = {"system": self.system, "code": self.code, "display": self.display or self.text}
        return {"coding": [coding], "text": self.text}


def _atc(text: str, code: str, display: str) -> Substance:
    return Substance(text, "medication", ATC, code, display)


SUBSTANCES: Final = (
    _atc("Penicilliner", "J01C", "Betalaktamantibakterielle midler, penicilliner"),
    Substance("Cefalosporiner", "medication"),
    _atc("Sulfonamider og trimetoprim", "J01E", "Sulfonamider og trimetoprim"),
    _atc("NSAIDs", "M01A", "Antiinflammatoriske og antirevmatiske midler, ekskl. steroider"),
    _atc("Acetylsalisylsyre", "N02BA01", "Acetylsalisylsyre"),
    _atc("Kodein", "R05DA04", "Kodein"),
    _atc("Morfin", "N02AA01", "Morfin"),
    _atc("Jodholdige røntgenkontrastmidler", "V08A", "Røntgenkontrastmidler, jodholdige"),
    _atc("Lokalanestetika", "N01B", "Lokalanestetika"),
    _atc("Klorheksidin", "D08AC02", "Klorheksidin"),
    Substance("Peanøtter", "food", SNOMED, "256349002", "Peanut - dietary (substance)"),
    Substance("Hasselnøtt", "food"),
    Substance("Egg", "food", SNOMED, "102263004", "Eggs (edible) (substance)"),
    Substance("Melk", "food", SNOMED, "3718001", "Cow's milk (substance)"),
    Substance("Fisk", "food", SNOMED, "227037002", "Fish - dietary (substance)"),
    Substance("Skalldyr", "food"),
    Substance("Lateks", "environment", SNOMED, "111088007", "Latex (substance)"),
    Substance("Insektgift (veps, bie)", "environment"),
    Substance("Bjørkepollen", "environment"),
    Substance("Nikkel", "environment"),
)


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


_BY_TEXT: Final = {_norm(s.text): s for s in SUBSTANCES}


def find_substance(text: str) -> Substance | None:
    """The listed substance named ``text`` (case and spacing aside), else None."""
    return _BY_TEXT.get(_norm(text))


def _status(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _note(author: dict[str, str], when: str, text: str) -> dict[str, Any]:
    return {"authorReference": author, "time": when, "text": text}


@dataclass(frozen=True, slots=True)
class AllergyInput:
    """What the form says; checked by :func:`check`."""

    substance: str
    type: str = "allergy"
    category: str = ""
    criticality: str = "unable-to-assess"
    verification: str = "unconfirmed"
    manifestation: str = ""
    severity: str = ""
    critical: bool = False  #: also register it as critical information (a Flag)


def check(entry: AllergyInput) -> list[str]:
    """The fields of ``entry`` in error (empty when it can be saved)."""
    errors = []
    if not entry.substance or len(entry.substance) > MAX_TEXT:
        errors.append("substance")
    if entry.type not in TYPES:
        errors.append("type")
    if entry.category and entry.category not in CATEGORIES:
        errors.append("category")
    if entry.criticality not in CRITICALITIES or (entry.critical and entry.criticality != "high"):
        errors.append("criticality")
    if entry.verification not in VERIFICATIONS:
        errors.append("verification")
    if len(entry.manifestation) > MAX_TEXT:
        errors.append("manifestation")
    if entry.severity and (entry.severity not in SEVERITIES or not entry.manifestation):
        errors.append("severity")
    return errors


def allergy_intolerance(
    entry: AllergyInput, patient_id: str, recorder: dict[str, str], when: str
) -> dict[str, Any]:
    """An active AllergyIntolerance from a checked ``entry``, recorded by ``recorder``
    (a reference with display) at ``when`` (an instant)."""
    listed = find_substance(entry.substance)
    category = entry.category or (listed.category if listed else "")
    out: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": _status(CLINICAL, "active"),
        "verificationStatus": _status(VERIFICATION, entry.verification),
        "type": entry.type,
    }
    if category:
        out["category"] = [category]
    out["criticality"] = entry.criticality
    out["code"] = listed.concept() if listed else {"text": entry.substance}
    out["patient"] = {"reference": f"Patient/{patient_id}"}
    out["recordedDate"] = when
    out["recorder"] = recorder
    if entry.manifestation:
        reaction: dict[str, Any] = {"manifestation": [{"text": entry.manifestation}]}
        if entry.severity:
            reaction["severity"] = entry.severity
        out["reaction"] = [reaction]
    return out


def no_known_allergies(patient_id: str, recorder: dict[str, str], when: str) -> dict[str, Any]:
    """The situation "no known allergies" as an active, confirmed AllergyIntolerance."""
    coding = {"system": SNOMED, "code": NO_KNOWN_ALLERGY, "display": "No known allergy (situation)"}
    return {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": _status(CLINICAL, "active"),
        "verificationStatus": _status(VERIFICATION, "confirmed"),
        "code": {"coding": [coding], "text": "Ingen kjente allergier"},
        "patient": {"reference": f"Patient/{patient_id}"},
        "recordedDate": when,
        "recorder": recorder,
    }


def is_no_known_allergy(resource: dict[str, Any]) -> bool:
    codings = (resource.get("code") or {}).get("coding") or ()
    return any(c.get("system") == SNOMED and c.get("code") == NO_KNOWN_ALLERGY for c in codings)


def is_active(resource: dict[str, Any]) -> bool:
    codings = (resource.get("clinicalStatus") or {}).get("coding") or ()
    return any(c.get("code") == "active" for c in codings)


def ended(
    resource: dict[str, Any], how: str, reason: str, author: dict[str, str], when: str
) -> dict[str, Any]:
    """``resource`` ended ``how`` (a key of :data:`ENDINGS`) for ``reason``, with a note
    naming ``author`` and ``when``."""
    out = dict(resource)
    if how == "entered-in-error":
        out.pop("clinicalStatus", None)
        out["verificationStatus"] = _status(VERIFICATION, "entered-in-error")
    else:
        out["clinicalStatus"] = _status(CLINICAL, "inactive")
        if how == "refuted":
            out["verificationStatus"] = _status(VERIFICATION, "refuted")
    out["note"] = [*(out.get("note") or []), _note(author, when, f"{ENDINGS[how]}: {reason}")]
    return out


def name(resource: dict[str, Any]) -> str:
    """What the allergy is to, as text."""
    code = resource.get("code") or {}
    if code.get("text"):
        return str(code["text"])
    return next((str(c.get("display") or c.get("code")) for c in code.get("coding") or ()), "")
