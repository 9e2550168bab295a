"""A simple dosage: read from a form, written as Norwegian text and as a FHIR Dosage.

What a medication list usually says fits a small structure: an amount and a unit, how
often (times a day or fixed times of day), perhaps "ved behov" with a maximum per day,
and a route. :func:`parse` reads it from form fields (decimal comma or point) and names
the fields it cannot accept; :func:`text` writes it the way a Norwegian medication list
does ("2 tabletter inntil 4 ganger daglig ved behov, maks 8 tabletter per døgn");
:func:`to_fhir` gives the R4 ``Dosage`` (``doseAndRate.doseQuantity``, ``timing.repeat``,
``asNeededBoolean``, ``maxDosePerPeriod``, ``route``) with that text; :func:`form_values`
reads one back for a form. Anything the structure cannot say is written as free text.

The text is record content, not UI: it is stored in bokmål, as the rest of the record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

UCUM: Final = "http://unitsofmeasure.org"
SNOMED: Final = "http://snomed.info/sct"

#: unit -> its plural (the stored words, bokmål).
UNITS: Final = {
    "tablett": "tabletter",
    "kapsel": "kapsler",
    "mg": "mg",
    "g": "g",
    "mikrog": "mikrog",
    "ml": "ml",
    "IE": "IE",
    "dose": "doser",
    "inhalasjon": "inhalasjoner",
    "pose": "poser",
    "dråpe": "dråper",
    "stikkpille": "stikkpiller",
    "plaster": "plastre",
}


@dataclass(frozen=True, slots=True)
class Route:
    text: str  #: stored text (EDQM Standard Terms, Norwegian)
    adverb: str  #: how the dosage text says it ("" when the unit or habit says it)
    snomed: str | None  #: SNOMED CT route code, only where certain


#: route key -> route. SNOMED CT codes from the "Route of administration" hierarchy.
ROUTES: Final = {
    "oral": Route("Oral bruk", "", "26643006"),
    "subcutaneous": Route("Subkutan bruk", "subkutant", "34206005"),
    "intravenous": Route("Intravenøs bruk", "intravenøst", "47625008"),
    "intramuscular": Route("Intramuskulær bruk", "intramuskulært", "78421000"),
    "sublingual": Route("Sublingval bruk", "under tungen", "37839007"),
    "rectal": Route("Rektal bruk", "rektalt", "37161004"),
    "inhalation": Route("Inhalasjonsbruk", "", None),
    "cutaneous": Route("Kutan bruk", "på huden", None),
    "ocular": Route("Okulær bruk", "i øyet", None),
}

MAX_PER_DAY: Final = 24
MAX_TIMES: Final = 12
MAX_TEXT: Final = 200
_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?$")


@dataclass(frozen=True, slots=True)
class Dosage:
    """``dose`` of ``unit`` ``per_day`` times a day or at ``times`` ("HH:MM"); or, with
    no dose, ``free_text`` only."""

    dose: Decimal | None = None
    unit: str = ""
    per_day: int | None = None
    times: tuple[str, ...] = ()
    as_needed: bool = False
    max_per_day: Decimal | None = None
    route: str = ""
    free_text: str = ""


def _decimal(raw: str) -> Decimal | None:
    """A positive number with at most 3 decimals (comma or point), else None."""
    raw = raw.strip().replace(",", ".").replace(" ", "")
    if not re.fullmatch(r"\d{1,6}(\.\d{1,3})?", raw):
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None
    return value if value > 0 else None


def parse_times(raw: str) -> tuple[str, ...] | None:
    """Times of day such as "8, 14, 20" or "08:00 20.30", as ("08:00", ...) sorted and
    without repeats; None when any part is not a time of day."""
    parts = [p for p in re.split(r"[\s,;]+", raw.strip()) if p]
    out = set()
    for part in parts:
        match = _TIME.match(part)
        if not match:
            return None
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if hour > 23 or minute > 59:
            return None
        out.add(f"{hour:02d}:{minute:02d}")
    if len(out) > MAX_TIMES:
        return None
    return tuple(sorted(out))


def parse(form: Mapping[str, Any]) -> tuple[Dosage | None, list[str]]:
    """The dosage in ``form`` (fields ``dose``, ``unit``, ``per_day``, ``times``, ``prn``,
    ``max_per_day``, ``route``, ``text``), or None and the fields in error."""

    def field(name: str) -> str:
        return " ".join(str(form.get(name) or "").split())

    errors: list[str] = []
    raw_dose, unit, free_text = field("dose"), field("unit"), field("text")
    route = field("route")
    if route and route not in ROUTES:
        errors.append("route")
    as_needed = field("prn") in ("1", "on", "true")
    max_per_day = None
    if field("max_per_day"):
        max_per_day = _decimal(field("max_per_day"))
        if max_per_day is None:
            errors.append("max_per_day")
    if not raw_dose:
        if not free_text:
            errors.append("dose")
        elif len(free_text) > MAX_TEXT:
            errors.append("text")
        if errors:
            return None, errors
        return Dosage(as_needed=as_needed, route=route, free_text=free_text), []
    dose = _decimal(raw_dose)
    if dose is None:
        errors.append("dose")
    if unit not in UNITS:
        errors.append("unit")
    per_day = None
    if field("per_day"):
        per_day = int(field("per_day")) if field("per_day").isdigit() else 0
        if not 1 <= per_day <= MAX_PER_DAY:
            errors.append("per_day")
    times: tuple[str, ...] = ()
    if field("times"):
        parsed = parse_times(field("times"))
        if parsed is None or (per_day and parsed and len(parsed) != per_day):
            errors.append("times")
        times = parsed or ()
    if not (per_day or times or as_needed) and not {"per_day", "times"} & set(errors):
        errors.append("per_day")
    if dose is not None and max_per_day is not None and max_per_day < dose:
        errors.append("max_per_day")
    if errors:
        return None, errors
    return Dosage(
        dose=dose,
        unit=unit,
        per_day=per_day or (len(times) if times else None),
        times=times,
        as_needed=as_needed,
        max_per_day=max_per_day,
        route=route,
    ), []


def number(value: Decimal) -> str:
    """2 -> "2", 0.50 -> "0,5" (decimal comma, no trailing zeros)."""
    text = format(value.normalize(), "f")
    return text.replace(".", ",")


def amount(value: Decimal, unit: str) -> str:
    """An amount in words: "1 tablett", "2 tabletter", "0,5 tablett", "5000 IE"."""
    word = unit if value <= 1 else UNITS.get(unit, unit)
    return f"{number(value)} {word}"


def _clock(times: tuple[str, ...]) -> str:
    shown = [t[:2] if t.endswith(":00") else t.replace(":", ".") for t in times]
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " og " + shown[-1]
    return f"kl. {listed}"


def text(dosage: Dosage) -> str:
    """The dosage as a Norwegian medication list writes it (bokmål)."""
    if dosage.dose is None:
        return dosage.free_text
    parts = [amount(dosage.dose, dosage.unit)]
    route = ROUTES.get(dosage.route)
    if route and route.adverb:
        parts.append(route.adverb)
    if dosage.times:
        parts.append(_clock(dosage.times))
    elif dosage.per_day:
        n = dosage.per_day
        often = "daglig" if n == 1 and not dosage.as_needed else f"{n} {_gang(n)} daglig"
        parts.append(f"inntil {often}" if dosage.as_needed else often)
    if dosage.as_needed:
        parts.append("ved behov")
    out = " ".join(parts)
    if dosage.max_per_day is not None:
        out += f", maks {amount(dosage.max_per_day, dosage.unit)} per døgn"
    return out


def _gang(n: int) -> str:
    return "gang" if n == 1 else "ganger"


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def to_fhir(dosage: Dosage) -> dict[str, Any]:
    """The R4 ``Dosage`` of ``dosage``, with its :func:`text`."""
    out: dict[str, Any] = {"sequence": 1, "text": text(dosage)}
    if dosage.per_day or dosage.times:
        repeat: dict[str, Any] = {
            "frequency": dosage.per_day or len(dosage.times),
            "period": 1,
            "periodUnit": "d",
        }
        if dosage.times:
            repeat["timeOfDay"] = [f"{t}:00" for t in dosage.times]
        out["timing"] = {"repeat": repeat}
    if dosage.as_needed:
        out["asNeededBoolean"] = True
    route = ROUTES.get(dosage.route)
    if route is not None:
        concept: dict[str, Any] = {"text": route.text}
        if route.snomed:
            concept["coding"] = [{"system": SNOMED, "code": route.snomed, "display": route.text}]
        out["route"] = concept
    if dosage.dose is not None:
        out["doseAndRate"] = [
            {"doseQuantity": {"value": _json_number(dosage.dose), "unit": dosage.unit}}
        ]
    if dosage.max_per_day is not None:
        out["maxDosePerPeriod"] = {
            "numerator": {"value": _json_number(dosage.max_per_day), "unit": dosage.unit},
            "denominator": {"value": 1, "unit": "døgn", "system": UCUM, "code": "d"},
        }
    return out


def form_values(fhir: Mapping[str, Any] | None) -> dict[str, str]:
    """The form fields that show ``fhir`` (a stored ``Dosage``) again; a dosage this
    structure cannot say comes back as its text."""
    if not fhir:
        return {}
    out: dict[str, str] = {}
    route = fhir.get("route") or {}
    codes = {c.get("code") for c in route.get("coding") or ()}
    for key, known in ROUTES.items():
        if route.get("text") == known.text or (known.snomed and known.snomed in codes):
            out["route"] = key
    if fhir.get("asNeededBoolean") is True:
        out["prn"] = "1"
    quantity = ((fhir.get("doseAndRate") or [{}])[0] or {}).get("doseQuantity") or {}
    repeat = (fhir.get("timing") or {}).get("repeat") or {}
    simple = repeat.get("period", 1) == 1 and repeat.get("periodUnit", "d") == "d"
    if isinstance(quantity.get("value"), int | float) and quantity.get("unit") in UNITS and simple:
        out["dose"] = number(Decimal(str(quantity["value"])))
        out["unit"] = str(quantity["unit"])
        times = [str(t)[:5] for t in repeat.get("timeOfDay") or ()]
        if times:
            out["times"] = ", ".join(times)
        elif isinstance(repeat.get("frequency"), int):
            out["per_day"] = str(repeat["frequency"])
        top = ((fhir.get("maxDosePerPeriod") or {}).get("numerator") or {}).get("value")
        if isinstance(top, int | float):
            out["max_per_day"] = number(Decimal(str(top)))
    elif fhir.get("text"):
        out["text"] = str(fhir["text"])
    return out
