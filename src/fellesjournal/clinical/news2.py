"""NEWS2, the National Early Warning Score 2 (Royal College of Physicians, 2017), as used
in Norwegian hospitals and municipal health services to spot deterioration.

Seven parameters each score 0–3 by the RCP chart; the sum and any single red score (3)
give the clinical risk. SpO2 uses scale 1 (scale 2, for confirmed hypercapnic
respiratory failure, needs a clinician's decision recorded with it; not offered yet).
A score needs all seven parameters; with any missing, :func:`news2` says so instead of
giving a lower number than the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

LOW: Final = "low"
LOW_MEDIUM: Final = "low-medium"  #: 0–4 in total, but a 3 in one parameter
MEDIUM: Final = "medium"
HIGH: Final = "high"


@dataclass(frozen=True, slots=True)
class Vitals:
    """One set of observations; None where not measured."""

    respiration: float | None = None  #: breaths per minute
    spo2: float | None = None  #: per cent
    on_oxygen: bool | None = None  #: supplemental oxygen (False: room air)
    systolic: float | None = None  #: mmHg
    pulse: float | None = None  #: beats per minute
    alert: bool | None = None  #: A of ACVPU (False: new confusion, voice, pain, unresponsive)
    temperature: float | None = None  #: degrees Celsius


@dataclass(frozen=True, slots=True)
class News2:
    score: int | None  #: None when a parameter is missing
    risk: str | None  #: :data:`LOW`, :data:`LOW_MEDIUM`, :data:`MEDIUM`, :data:`HIGH`
    parts: dict[str, int]  #: parameter -> its score, for those measured
    missing: tuple[str, ...]


def _band(value: float, bands: tuple[tuple[float, int], ...], top: int) -> int:
    """The score of the first band whose upper limit ``value`` does not exceed."""
    for upper, points in bands:
        if value <= upper:
            return points
    return top


def respiration_score(rate: float) -> int:
    return _band(rate, ((8, 3), (11, 1), (20, 0), (24, 2)), 3)


def spo2_score(spo2: float) -> int:
    return _band(spo2, ((91, 3), (93, 2), (95, 1)), 0)


def systolic_score(systolic: float) -> int:
    return _band(systolic, ((90, 3), (100, 2), (110, 1), (219, 0)), 3)


def pulse_score(pulse: float) -> int:
    return _band(pulse, ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2)), 3)


def temperature_score(celsius: float) -> int:
    # The chart's bands are to one decimal: 35.0 or less, 35.1–36.0, 36.1–38.0, ...
    return _band(round(celsius, 1), ((35.0, 3), (36.0, 1), (38.0, 0), (39.0, 1)), 2)


def news2(v: Vitals) -> News2:
    parts: dict[str, int] = {}
    if v.respiration is not None:
        parts["respiration"] = respiration_score(v.respiration)
    if v.spo2 is not None:
        parts["spo2"] = spo2_score(v.spo2)
    if v.on_oxygen is not None:
        parts["oxygen"] = 2 if v.on_oxygen else 0
    if v.systolic is not None:
        parts["systolic"] = systolic_score(v.systolic)
    if v.pulse is not None:
        parts["pulse"] = pulse_score(v.pulse)
    if v.alert is not None:
        parts["consciousness"] = 0 if v.alert else 3
    if v.temperature is not None:
        parts["temperature"] = temperature_score(v.temperature)
    names = ("respiration", "spo2", "oxygen", "systolic", "pulse", "consciousness", "temperature")
    missing = tuple(n for n in names if n not in parts)
    if missing:
        return News2(None, None, parts, missing)
    total = sum(parts.values())
    if total >= 7:
        risk = HIGH
    elif total >= 5:
        risk = MEDIUM
    elif 3 in parts.values():
        risk = LOW_MEDIUM
    else:
        risk = LOW
    return News2(total, risk, parts, ())
