"""Norwegian address extensions are checked on write."""

from __future__ import annotations

from typing import Any

import pytest

from fellesjournal.norway import confidentiality as conf
from fellesjournal.norway.addresses import address_issues
from fellesjournal.norway.identifiers import KOMMUNENUMMER_SYSTEM


def _municipality(code: str, system: str = KOMMUNENUMMER_SYSTEM) -> dict[str, Any]:
    return {"url": conf.MUNICIPALITY_EXTENSION, "valueCoding": {"system": system, "code": code}}


def _patient(address: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Patient", "address": [address]}


def test_valid_addresses_pass() -> None:
    ok = {
        "district": "Trondheim",
        "_district": {"extension": [_municipality("5001")]},
        "extension": [conf.grading_extension(conf.FORTROLIG)],
    }
    assert address_issues(_patient(ok)) == []
    # the alias system of kommunenummer and the extension on the Address itself
    alias = {"extension": [_municipality("1508", "urn:oid:2.16.578.1.12.4.1.1.3402")]}
    assert address_issues(_patient(alias)) == []
    assert address_issues({"resourceType": "Location", "address": {"extension": []}}) == []
    assert address_issues({"resourceType": "Observation", "address": 1}) == []


@pytest.mark.parametrize(
    ("address", "expression"),
    [
        (
            {"_district": {"extension": [_municipality("1507")]}},  # Ålesund's old number
            "Patient.address[0].district.extension[0].valueCoding.code",
        ),
        (
            {"_district": {"extension": [_municipality("12a4")]}},
            "Patient.address[0].district.extension[0].valueCoding.code",
        ),
        (
            {"extension": [_municipality("5001", "http://example.org/kommune")]},
            "Patient.address[0].extension[0].valueCoding.system",
        ),
        (
            {"extension": [{"url": conf.EXTENSION_URL, "valueCoding": {"code": "hemmelig"}}]},
            "Patient.address[0].extension[0].valueCoding",
        ),
    ],
)
def test_bad_codes_are_named(address: dict[str, Any], expression: str) -> None:
    issues = address_issues(_patient(address))
    assert [i.expression for i in issues] == [expression]


def test_api_answers_422(client: Any) -> None:
    body = _patient({"_district": {"extension": [_municipality("1507")]}})
    res = client.post("/fhir/Patient", json=body)
    assert res.status_code == 422
    issue = res.json()["issue"][0]
    assert "kommunenummer" in issue["diagnostics"]
