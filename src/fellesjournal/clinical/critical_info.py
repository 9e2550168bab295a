"""Critical information (kritisk informasjon, CAVE) as FHIR Flags, by Kjernejournal's
categories (domain.md §1.8).

The categories are Kjernejournal's: hypersensitivity reactions (a drug reaction or
another allergy: recorded as an allergy and flagged critical, with the Flag pointing to
it), complications of anaesthesia, critical medical conditions, ongoing treatment that
must not be stopped and implants, changes to treatment routines (limits on
life-prolonging treatment, other changed procedures), and infection. Only serious
matters belong there (e.g. anaphylaxis, not mild itching).

Each Flag carries the category twice: FHIR's flag-category (``drug``, ``clinical``,
``advance-directive``, ``safety``) and this product's code for the Kjernejournal
category, with the text "Kritisk informasjon: <category>" as the demo data writes it.
Ending one sets ``inactive`` or ``entered-in-error`` and the end of its period; as Flag
has no note, who, when and why go into an extension (:data:`STATUS_CHANGE`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Final

FLAG_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/flag-category"
SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/critical-information"
#: R4 core extension: the record (here the AllergyIntolerance) a Flag is about.
FLAG_DETAIL: Final = "http://hl7.org/fhir/StructureDefinition/flag-detail"
STATUS_CHANGE: Final = "https://fellesjournal.no/fhir/StructureDefinition/status-change"
ENDINGS: Final = ("inactive", "entered-in-error")
MAX_TEXT: Final = 500

_FLAG_NAMES: Final = {
    "drug": "Drug",
    "clinical": "Clinical",
    "advance-directive": "Advance Directive",
    "safety": "Safety",
}


@dataclass(frozen=True, slots=True)
class Category:
    key: str
    name: str  #: Kjernejournal's wording (bokmål), stored
    flag_category: str


#: Kjernejournal's categories; the first two come from the allergy form.
CATEGORIES: Final = {
    c.key: c
    for c in (
        Category("drug-reaction", "Overfølsomhetsreaksjon: legemiddelreaksjon", "drug"),
        Category("other-allergy", "Overfølsomhetsreaksjon: annen allergi", "clinical"),
        Category("anaesthesia", "Komplikasjoner ved anestesi", "clinical"),
        Category("condition", "Kritiske medisinske tilstander", "clinical"),
        Category(
            "treatment",
            "Pågående behandlinger og implantater: behandling som ikke må avbrytes",
            "clinical",
        ),
        Category("implant", "Pågående behandlinger og implantater: implantat", "clinical"),
        Category(
            "life-prolonging",
            "Endringer i behandlingsrutiner: avgrensning av livsforlengende behandling",
            "advance-directive",
        ),
        Category(
            "procedure-change",
            "Endringer i behandlingsrutiner: annen prosedyreendring",
            "clinical",
        ),
        Category("infection", "Smitte", "safety"),
        Category("other", "Annen kritisk informasjon", "clinical"),
    )
}
#: The categories the critical-information form offers (allergies have their own form).
FORM_CATEGORIES: Final = tuple(k for k in CATEGORIES if k not in ("drug-reaction", "other-allergy"))


def flag(
    key: str,
    text: str,
    patient_id: str,
    author: dict[str, str],
    start: datetime.date,
    *,
    detail: str | None = None,
) -> dict[str, Any]:
    """An active Flag of category ``key`` saying ``text``; ``detail`` is the reference
    of the record it is about (an AllergyIntolerance)."""
    category = CATEGORIES[key]
    out: dict[str, Any] = {"resourceType": "Flag"}
    if detail:
        out["extension"] = [{"url": FLAG_DETAIL, "valueReference": {"reference": detail}}]
    out["status"] = "active"
    out["category"] = [
        {
            "coding": [
                {
                    "system": FLAG_CATEGORY,
                    "code": category.flag_category,
                    "display": _FLAG_NAMES[category.flag_category],
                },
                {"system": SYSTEM, "code": category.key, "display": category.name},
            ],
            "text": f"Kritisk informasjon: {category.name}",
        }
    ]
    out["code"] = {"text": text}
    out["subject"] = {"reference": f"Patient/{patient_id}"}
    out["period"] = {"start": start.isoformat()}
    out["author"] = author
    return out


def allergy_flag(
    allergy: dict[str, Any],
    allergy_ref: str,
    substance: str,
    patient_id: str,
    author: dict[str, str],
    start: datetime.date,
) -> dict[str, Any]:
    """The critical-information Flag of a serious allergy (pointing to it)."""
    key = "drug-reaction" if "medication" in (allergy.get("category") or ()) else "other-allergy"
    reactions = allergy.get("reaction") or [{}]
    manifestation = ((reactions[0].get("manifestation") or [{}])[0]).get("text") or ""
    what = f"{manifestation or 'Alvorlig reaksjon'} ved {substance}"
    return flag(key, what, patient_id, author, start, detail=allergy_ref)


def detail_of(resource: dict[str, Any]) -> str:
    """The reference a Flag's flag-detail extension holds, else ""."""
    for ext in resource.get("extension") or ():
        if ext.get("url") == FLAG_DETAIL:
            return str((ext.get("valueReference") or {}).get("reference") or "")
    return ""


def category_key(resource: dict[str, Any]) -> str:
    """The Kjernejournal category of a Flag (this product's code), else ""."""
    for concept in resource.get("category") or ():
        for coding in concept.get("coding") or ():
            if coding.get("system") == SYSTEM:
                return str(coding.get("code") or "")
    return ""


def ended(
    resource: dict[str, Any], how: str, reason: str, author: dict[str, str], when: str
) -> dict[str, Any]:
    """``resource`` (a Flag) ended ``how`` (a value of :data:`ENDINGS`) for ``reason`` by
    ``author`` at ``when`` (an instant): the end of its period, and the change recorded
    in the status-change extension."""
    out = dict(resource)
    out["status"] = how
    out["period"] = {**(out.get("period") or {}), "end": when}
    change = {
        "url": STATUS_CHANGE,
        "extension": [
            {"url": "status", "valueCode": how},
            {"url": "reason", "valueString": reason},
            {"url": "author", "valueReference": author},
            {"url": "time", "valueDateTime": when},
        ],
    }
    out["extension"] = [*(out.get("extension") or []), change]
    return out
