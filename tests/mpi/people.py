"""Helpers for MPI tests: fresh valid numbers and patients."""

from __future__ import annotations

import random
from typing import Any

from fellesjournal.norway.identifiers import FNR_SYSTEM, with_control_digits

_rng = random.SystemRandom()


def person_number(
    day: int, month: int, year: int, individ: int, month_add: int, day_add: int = 0
) -> str:
    """A number with both control digits right: month + 80 is Tenor, + 40 an H-nummer,
    day + 40 a D-nummer."""
    for i in range(individ, individ + 200):
        body = f"{day + day_add:02d}{month + month_add:02d}{year % 100:02d}{i % 500:03d}"
        number = with_control_digits(body)
        if number is not None:
            return number
    raise AssertionError("no valid number found")


def fresh_fnr(born: str | None = None) -> str:
    """A valid synthetic (Tenor) fødselsnummer nobody else in the session holds."""
    if born:
        year, month, day = (int(x) for x in born.split("-"))
    else:
        year, month, day = _rng.randint(1900, 1999), _rng.randint(1, 12), _rng.randint(1, 28)
    return person_number(day, month, year, _rng.randint(0, 499), 80)


def fresh_dnr() -> str:
    """A valid synthetic (Tenor) D-nummer."""
    year, month, day = _rng.randint(1900, 1999), _rng.randint(1, 12), _rng.randint(1, 28)
    return person_number(day, month, year, _rng.randint(0, 499), 80, day_add=40)


def fresh_hnr(born: str) -> str:
    year, month, day = (int(x) for x in born.split("-"))
    return person_number(day, month, year, _rng.randint(0, 499), 40)


def patient(
    fnr: str | None = None,
    *,
    family: str = "Nordmann",
    given: str = "Kari",
    born: str = "1970-01-01",
    gender: str = "female",
    **extra: Any,
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": gender,
        "birthDate": born,
        **extra,
    }
    if fnr:
        res["identifier"] = [{"system": FNR_SYSTEM, "value": fnr}]
    return res
