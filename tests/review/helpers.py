"""Shared helpers for the review tests: graded addresses and the leak check."""

from __future__ import annotations

import uuid
from typing import Any

from fellesjournal.norway import confidentiality as conf

SECRET_STREET = "Loyndomsvegen 77"
SECRET_CITY = "Goymeby"
SECRET_POSTCODE = "7398"
#: As they appear in JSON text (the postcode quoted: four digits occur in ids too).
SECRETS = (SECRET_STREET, SECRET_CITY, f'"{SECRET_POSTCODE}"')
MUNICIPALITY = {
    "url": conf.MUNICIPALITY_EXTENSION,
    "valueCoding": {
        "system": "https://register.geonorge.no/subregister/sosi-kodelister/kartverket/kommunenummer-alle",
        "code": "5001",
        "display": "Trondheim",
    },
}


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def graded_address(
    grade: str,
    street: str = SECRET_STREET,
    city: str = SECRET_CITY,
    postcode: str = SECRET_POSTCODE,
) -> dict[str, Any]:
    return {
        "extension": [conf.grading_extension(grade)],
        "use": "home",
        "line": [street],
        "postalCode": postcode,
        "city": city,
        "district": "Trondheim",
        "_district": {"extension": [MUNICIPALITY]},
    }


def leaks(payload: Any, secrets: tuple[str, ...] = SECRETS) -> bool:
    """Does the JSON text hold any part of the protected address?"""
    text = payload.decode() if isinstance(payload, bytes) else str(payload)
    return any(s in text for s in secrets)


def assert_masked(res: Any, where: str = "") -> None:
    assert res.status_code < 400, (where, res.status_code, res.text[:500])
    assert not leaks(res.text), (where, res.text[:2000])
