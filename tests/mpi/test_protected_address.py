"""Fortrolig and strengt fortrolig addresses never leave the repository unmasked.

Every read path is tried: read, vread, search (by name and by the address itself),
``_include``/``_revinclude``, ``$everything``, history, write responses, transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.auth.tokens import issue_system_token
from fellesjournal.norway import confidentiality as conf
from tests.mpi.people import fresh_fnr, patient

SECRET_STREET = "Hemmeligveien 13"
SECRET_CITY = "Skjultvik"
SECRET_POSTCODE = "7399"
MUNICIPALITY = {
    "url": conf.MUNICIPALITY_EXTENSION,
    "valueCoding": {
        "system": "https://register.geonorge.no/subregister/sosi-kodelister/kartverket/kommunenummer-alle",
        "code": "5001",
        "display": "Trondheim",
    },
}


def _address(grade: str, street: str = SECRET_STREET) -> dict[str, Any]:
    return {
        "extension": [conf.grading_extension(grade)],
        "use": "home",
        "line": [street],
        "postalCode": SECRET_POSTCODE,
        "city": SECRET_CITY,
        "district": "Trondheim",
        "_district": {"extension": [MUNICIPALITY]},
    }


@pytest.fixture()
def privileged(app: Any, settings: Any) -> Iterator[TestClient]:
    token = issue_system_token(settings, ttl=600, permissions=("protected-addresses",))
    with TestClient(app, base_url="http://testserver") as c:
        c.headers.update({"Authorization": f"Bearer {token}"})
        yield c


def _make(client: Any, grade: str, family: str) -> dict[str, Any]:
    body = patient(
        fresh_fnr(),
        family=family,
        address=[_address(grade), {"use": "work", "line": ["Kontorgata 1"], "city": "Trondheim"}],
        text={
            "status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{family}, {SECRET_STREET}</div>',
        },
    )
    res = client.post("/fhir/Patient", json=body)
    assert res.status_code == 201
    return res.json()


def _leaks(payload: Any) -> bool:
    text = payload if isinstance(payload, str) else str(payload)
    # The postcode is matched as a whole JSON string: four digits alone also turn up
    # inside fødselsnumre and ids written by other tests in the same database.
    return any(
        s in text
        for s in (SECRET_STREET, SECRET_CITY, f'"{SECRET_POSTCODE}"', f"'{SECRET_POSTCODE}'")
    )


def test_write_response_read_and_vread_are_masked(client: Any, privileged: Any) -> None:
    created = _make(client, conf.FORTROLIG, "Gjemt")
    assert not _leaks(created)
    pid = created["id"]
    for url in (f"/fhir/Patient/{pid}", f"/fhir/Patient/{pid}/_history/1"):
        res = client.get(url)
        assert res.status_code == 200
        assert not _leaks(res.text)
        shown = res.json()
        home = shown["address"][0]
        assert home["district"] == "Trondheim"  # fortrolig: the municipality stays
        assert {"url": conf.DATA_ABSENT_REASON, "valueCode": "masked"} in home["extension"]
        assert shown["address"][1]["line"] == ["Kontorgata 1"]  # ungraded stays
        assert any(s["code"] == "REDACTED" for s in shown["meta"]["security"])
    full = privileged.get(f"/fhir/Patient/{pid}").json()
    assert full["address"][0]["line"] == [SECRET_STREET]


def test_strengt_fortrolig_hides_the_municipality_too(client: Any) -> None:
    pid = _make(client, conf.STRENGT_FORTROLIG, "Usynlig")["id"]
    res = client.get(f"/fhir/Patient/{pid}")
    home = res.json()["address"][0]
    assert "district" not in home and "_district" not in home
    assert "5001" not in res.text
    assert conf.grading(home) == conf.STRENGT_FORTROLIG


def test_search_cannot_find_or_show_a_protected_address(client: Any) -> None:
    pid = _make(client, conf.FORTROLIG, "Søkbar")["id"]
    for params in (
        {"address-city": SECRET_CITY},
        {"address-postalcode": SECRET_POSTCODE},
        {"address": "Hemmeligveien"},
    ):
        bundle = client.get("/fhir/Patient", params=params).json()
        assert all(e["resource"]["id"] != pid for e in bundle.get("entry", [])), params
    by_name = client.get("/fhir/Patient", params={"family": "Søkbar"})
    assert by_name.json()["total"] >= 1
    assert not _leaks(by_name.text)


def test_include_everything_history_and_bundles_are_masked(client: Any) -> None:
    pid = _make(client, conf.FORTROLIG, "Inkludert")["id"]
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "Puls"},
        "subject": {"reference": f"Patient/{pid}"},
    }
    assert client.post("/fhir/Observation", json=obs).status_code == 201
    urls = [
        ("/fhir/Observation", {"subject": f"Patient/{pid}", "_include": "Observation:subject"}),
        ("/fhir/Patient", {"_id": pid, "_revinclude": "Observation:subject"}),
        (f"/fhir/Patient/{pid}/$everything", {}),
        (f"/fhir/Patient/{pid}/_history", {}),
        ("/fhir/Patient/_history", {"_count": "50"}),
        ("/fhir/_history", {"_count": "50"}),
        ("/fhir/Patient", {"_id": pid, "_elements": "address"}),
    ]
    for url, params in urls:
        res = client.get(url, params=params)
        assert res.status_code == 200, url
        assert not _leaks(res.text), url
        assert pid in res.text, url
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": f"Patient/{pid}"}}],
    }
    res = client.post("/fhir", json=batch)
    assert res.status_code == 200 and pid in res.text and not _leaks(res.text)


def test_writing_back_a_masked_patient_keeps_the_real_address(client: Any, privileged: Any) -> None:
    pid = _make(client, conf.FORTROLIG, "Tilbakeskrevet")["id"]
    shown = client.get(f"/fhir/Patient/{pid}").json()
    shown["telecom"] = [{"system": "phone", "value": "+4799999999"}]
    res = client.put(f"/fhir/Patient/{pid}", json=shown)
    assert res.status_code == 200 and not _leaks(res.text)
    # a client that cannot see it cannot replace it either
    shown["address"] = [_address(conf.FORTROLIG, street="Falskveien 1")]
    assert client.put(f"/fhir/Patient/{pid}", json=shown).status_code == 200
    patch = [{"op": "replace", "path": "/gender", "value": "male"}]
    res = client.patch(
        f"/fhir/Patient/{pid}", json=patch, headers={"Content-Type": "application/json-patch+json"}
    )
    assert res.status_code == 200, res.text
    full = privileged.get(f"/fhir/Patient/{pid}").json()
    assert [a.get("line") for a in full["address"]] == [[SECRET_STREET]]
    assert full["telecom"][0]["value"] == "+4799999999"
    assert full["gender"] == "male"
    assert "security" not in full.get("meta", {})


def test_mask_helpers() -> None:
    res = {"resourceType": "Patient", "address": [_address(conf.UGRADERT)]}
    assert conf.mask(res) is None
    assert conf.index_view(res) is res
    graded = {"resourceType": "Patient", "address": [_address(conf.KLIENTADRESSE)]}
    assert conf.mask(graded) is None
    assert conf.may_hold_protected('{"resourceType": "Observation"}') is False
    assert conf.may_hold_protected(conf.EXTENSION_URL.encode()) is True
    two = {"extension": [conf.grading_extension(conf.UGRADERT), conf.grading_extension("x")]}
    assert conf.grading(two) == conf.STRENGT_FORTROLIG  # unknown grading fails closed
