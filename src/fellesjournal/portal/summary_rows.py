"""The patient summary's resources as plain rows: what, when, and the details.

One description of each resource, shared by the summary Bundle's section narratives
(``portal/export.py``) and the PDF (``portal/pdf.py``), so the two say the same. The
words come from the record itself (code texts, displays, dosage texts, the names of
units); the only formatting added is Norwegian dates (``17.03.2025``) and values with
their units, which read the same in bokmål and nynorsk.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

Resource = dict[str, Any]

OSLO: Final = ZoneInfo("Europe/Oslo")
#: Short names of the code systems a citizen may meet beside a diagnosis.
_SYSTEM_NAMES: Final = {
    "urn:oid:2.16.578.1.12.4.1.1.7110": "ICD-10",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://hl7.org/fhir/sid/icd-10-no": "ICD-10",
    "http://hl7.org/fhir/sid/icpc-2": "ICPC-2",
    "urn:oid:2.16.578.1.12.4.1.1.7170": "ICPC-2",
}
#: Interpretation codes shown after a value (v3 ObservationInterpretation).
_FLAGGED: Final = frozenset({"H", "HH", "L", "LL", "A", "AA", "HU", "LU"})


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a section: ``indent`` 1 for a result listed under its report."""

    what: str
    when: str
    detail: str
    indent: int = 0


# -- small texts ---------------------------------------------------------------------------


def concept_text(concept: Any) -> str:
    """A CodeableConcept as words: its text, else the first display, else the code."""
    if not isinstance(concept, dict):
        return ""
    if isinstance(concept.get("text"), str) and concept["text"].strip():
        return str(concept["text"]).strip()
    for coding in concept.get("coding") or ():
        if isinstance(coding, dict) and coding.get("display"):
            return str(coding["display"])
    for coding in concept.get("coding") or ():
        if isinstance(coding, dict) and coding.get("code"):
            return str(coding["code"])
    return ""


def date_text(value: Any) -> str:
    """A FHIR date or dateTime as ``dd.mm.yyyy`` (Norwegian time for a dateTime with a
    zone); partial dates as written (``03.2025``, ``2025``); '' when absent."""
    if not isinstance(value, str) or not value:
        return ""
    if "T" in value:
        try:
            moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if moment.tzinfo is not None:
            moment = moment.astimezone(OSLO)
        return moment.strftime("%d.%m.%Y")
    parts = value.split("-")
    return ".".join(reversed(parts))


def period_text(period: Any) -> str:
    """``start–end``, ``start–`` (ongoing) or the one date."""
    if not isinstance(period, dict):
        return ""
    start, end = date_text(period.get("start")), date_text(period.get("end"))
    if start and end:
        return start if start == end else f"{start}–{end}"
    return f"{start}–" if start else end


def ref_text(ref: Any, index: Mapping[str, Resource]) -> str:
    """A Reference as words: its display, else the name of the resource it points at."""
    if not isinstance(ref, dict):
        return ""
    if isinstance(ref.get("display"), str) and ref["display"]:
        return str(ref["display"])
    target = index.get(str(ref.get("reference") or ""))
    if target is None:
        return ""
    name = target.get("name")
    if isinstance(name, str):
        return name
    if isinstance(name, list):
        return person_name(target)
    return concept_text(target.get("code"))


def person_name(resource: Resource) -> str:
    """The official (else the first) name of a Patient or Practitioner, as written."""
    names = [n for n in resource.get("name") or () if isinstance(n, dict)]
    names.sort(key=lambda n: n.get("use") != "official")
    for name in names:
        if isinstance(name.get("text"), str) and name["text"].strip():
            return str(name["text"]).strip()
        given = " ".join(g for g in name.get("given") or () if isinstance(g, str))
        text = f"{given} {name.get('family') or ''}".strip()
        if text:
            return text
    return ""


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return ""
    text = str(value)
    return text.replace(".", ",")


def quantity_text(quantity: Any) -> str:
    if not isinstance(quantity, dict):
        return ""
    value = _number(quantity.get("value"))
    comparator = str(quantity.get("comparator") or "")
    unit = str(quantity.get("unit") or quantity.get("code") or "")
    return " ".join(p for p in (comparator + value, unit) if p)


def value_text(resource: Resource) -> str:
    """An Observation's (or a component's) value as words."""
    if "valueQuantity" in resource:
        return quantity_text(resource["valueQuantity"])
    if "valueCodeableConcept" in resource:
        return concept_text(resource["valueCodeableConcept"])
    for key in ("valueString", "valueDateTime", "valueTime"):
        if isinstance(resource.get(key), str):
            return date_text(resource[key]) if key == "valueDateTime" else str(resource[key])
    if isinstance(resource.get("valueInteger"), int):
        return str(resource["valueInteger"])
    if isinstance(resource.get("valueBoolean"), bool):
        return "ja" if resource["valueBoolean"] else "nei"
    return ""


def observation_value(obs: Resource) -> str:
    """The value with its interpretation and reference range: ``5,8 mmol/L (H; ref.
    4,0–5,5)``; components with one unit as ``138/75 mmHg``."""
    text = value_text(obs)
    components = [c for c in obs.get("component") or () if isinstance(c, dict)]
    if not text and components:
        quantities = [c.get("valueQuantity") for c in components]
        found = [q for q in quantities if isinstance(q, dict)]
        units = {str(q.get("unit") or q.get("code") or "") for q in found}
        if len(found) == len(quantities) and len(units) == 1:
            text = "/".join(_number(q.get("value")) for q in found) + f" {units.pop()}"
        else:
            text = "; ".join(
                f"{concept_text(c.get('code'))} {value_text(c)}".strip() for c in components
            )
    notes = []
    for concept in obs.get("interpretation") or ():
        for coding in (concept or {}).get("coding") or ():
            if coding.get("code") in _FLAGGED:
                notes.append(str(coding["code"]))
    for rng in obs.get("referenceRange") or ():
        low, high = (
            _number((rng.get("low") or {}).get("value")),
            _number((rng.get("high") or {}).get("value")),
        )
        if low or high:
            notes.append(f"ref. {low}–{high}" if low and high else f"ref. {low or high}")
        elif rng.get("text"):
            notes.append(f"ref. {rng['text']}")
        break
    if notes:
        text = f"{text} ({'; '.join(notes)})".strip()
    if not text and obs.get("dataAbsentReason"):
        text = concept_text(obs["dataAbsentReason"])
    return text


def _first_date(resource: Resource, *keys: str) -> str:
    for key in keys:
        value = resource.get(key)
        found = period_text(value) if isinstance(value, dict) else date_text(value)
        if found:
            return found
    return ""


def _join(parts: Iterable[str], sep: str = "; ") -> str:
    return sep.join(p for p in parts if p)


def _code_with_system(concept: Any) -> str:
    for coding in (concept or {}).get("coding") or ():
        name = _SYSTEM_NAMES.get(str(coding.get("system") or ""))
        if name and coding.get("code"):
            return f"{name} {coding['code']}"
    return ""


# -- rows per type -------------------------------------------------------------------------


def _flag(r: Resource, index: Mapping[str, Resource]) -> list[Row]:
    category = _join(concept_text(c) for c in r.get("category") or ())
    return [Row(concept_text(r.get("code")), period_text(r.get("period")), category)]


def _allergy(r: Resource, index: Mapping[str, Resource]) -> list[Row]:
    reactions = _join(
        concept_text(m)
        for reaction in r.get("reaction") or ()
        for m in (reaction or {}).get("manifestation") or ()
    )
    when = _first_date(r, "onsetDateTime", "onsetPeriod", "recordedDate")
    return [Row(concept_text(r.get("code")), when, reactions)]


def _condition(r: Resource, index: Mapping[str, Resource]) -> list[Row]:
    onset = _first_date(r, "onsetDateTime", "onsetPeriod", "recordedDate")
    ended = _first_date(r, "abatementDateTime", "abatementPeriod")
    when = f"{onset}–{ended}" if onset and ended and onset != ended else onset or ended
    return [Row(concept_text(r.get("code")), when, _code_with_system(r.get("code")))]


def _medication_name(r: Resource, index: Mapping[str, Resource]) -> str:
    if "medicationCodeableConcept" in r:
        return concept_text(r["medicationCodeableConcept"])
    return ref_text(r.get("medicationReference"), index)


def _medication_statement(r: Resource, index: Mapping[str, Resource]) -> list[Row]:
    dosage = _join(str(d.get("text") or "") for d in r.get("dosage") or ())
    when = _first_date(r, "effectiveDateTime", "effectivePeriod", "dateAsserted")
    return [Row(_medication_name(r, index), when, dosage)]


def _medication_request(r: Resource, index: Mapping[str, Resource]) -> list[Row]:
    dosage = _join(str(d.get("text") or "") for d in r.get("dosageInstruction") or ())
    return [Row(_medication_name(r, index), date_text(r.get("authoredOn")), dosage)]


def _immunization(r: Resource, index: Mapping[str, Resource]) -> list[Row]:
    where = _join(
        [
            *(ref_text(p.get("actor"), index) for p in r.get("performer") or ()),
            ref_text(r.get("location"), index),
        ]
    )
    when = date_text(r.get("occurrenceDateTime")) or str(r.get("occurrenceString") or "")
    return [Row(concept_text(r.get("vaccineCode")), when, where)]


def _observation(r: Resource, index: Mapping[str, Resource]) -> list[Row]:
    when = _first_date(r, "effectiveDateTime", "effectiveInstant", "effectivePeriod", "issued")
    return [Row(concept_text(r.get("code")), when, observation_value(r))]


def _report(r: Resource, index: Mapping[str, Resource]) -> list[Row]:
    by = _join(ref_text(p, index) for p in r.get("performer") or ())
    when = _first_date(r, "effectiveDateTime", "effectivePeriod", "issued")
    rows = [Row(concept_text(r.get("code")), when, _join([by, str(r.get("conclusion") or "")]))]
    for ref in r.get("result") or ():
        obs = index.get(str((ref or {}).get("reference") or ""))
        if obs is not None:
            rows.extend(Row(x.what, x.when, x.detail, 1) for x in _observation(obs, index))
    return rows


def _procedure(r: Resource, index: Mapping[str, Resource]) -> list[Row]:
    by = _join(
        [
            *(ref_text(p.get("actor"), index) for p in r.get("performer") or ()),
            ref_text(r.get("location"), index),
        ]
    )
    when = _first_date(r, "performedDateTime", "performedPeriod") or str(
        r.get("performedString") or ""
    )
    return [Row(concept_text(r.get("code")), when, by)]


def _encounter(r: Resource, index: Mapping[str, Resource]) -> list[Row]:
    what = _join((concept_text(t) for t in r.get("type") or ()), ", ") or concept_text(
        r.get("serviceType")
    )
    if not what:
        klass = r.get("class") or {}
        what = str(klass.get("display") or klass.get("code") or "")
    return [Row(what, period_text(r.get("period")), ref_text(r.get("serviceProvider"), index))]


def _document(r: Resource, index: Mapping[str, Resource]) -> list[Row]:
    titles = [str((c.get("attachment") or {}).get("title") or "") for c in r.get("content") or ()]
    what = concept_text(r.get("type")) or str(r.get("description") or "") or _join(titles)
    by = ref_text(r.get("custodian"), index) or _join(
        ref_text(a, index) for a in r.get("author") or ()
    )
    return [Row(what, date_text(r.get("date")), by)]


_ROWS: Final[dict[str, Callable[[Resource, Mapping[str, Resource]], list[Row]]]] = {
    "Flag": _flag,
    "AllergyIntolerance": _allergy,
    "Condition": _condition,
    "MedicationStatement": _medication_statement,
    "MedicationRequest": _medication_request,
    "Immunization": _immunization,
    "Observation": _observation,
    "DiagnosticReport": _report,
    "Procedure": _procedure,
    "Encounter": _encounter,
    "DocumentReference": _document,
}


def rows(resource: Resource, index: Mapping[str, Resource]) -> list[Row]:
    """The rows describing ``resource``; ``index`` maps references (``Type/id`` and
    full URLs) to the other resources of the summary, for names and a report's results."""
    describe = _ROWS.get(str(resource.get("resourceType")))
    if describe is None:
        return [Row(str(resource.get("resourceType") or ""), "", "")]
    return describe(resource, index)
