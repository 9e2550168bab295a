"""Finding a patient the way a Norwegian clerk searches: number, name, birth date."""

from __future__ import annotations

from typing import Any

from fellesjournal.norway.identifiers import FNR_SYSTEM
from tests.mpi.people import fresh_fnr, patient

MIDDLE = "http://hl7.no/fhir/StructureDefinition/no-basis-middlename"


def _ids(client: Any, **params: str) -> set[str]:
    res = client.get("/fhir/Patient", params=params)
    assert res.status_code == 200, res.text
    return {e["resource"]["id"] for e in res.json().get("entry", [])}


def test_norwegian_names_middle_name_number_and_birth_date(client: Any) -> None:
    born = "1933-03-03"
    fnr = fresh_fnr(born)
    body = patient(fnr, family="Strøm-Ærø", given="Åsmund", born=born, gender="male")
    body["name"][0]["extension"] = [{"url": MIDDLE, "valueString": "Bjørnstjerne"}]
    pid = client.post("/fhir/Patient", json=body).json()["id"]
    other = client.post(
        "/fhir/Patient", json=patient(fresh_fnr(), family="Strøm-Ærø", given="Åsmund")
    ).json()["id"]

    assert _ids(client, identifier=f"{FNR_SYSTEM}|{fnr}") == {pid}
    assert _ids(client, identifier=fnr) == {pid}
    assert pid in _ids(client, middlename="bjørnstjerne")
    assert pid in _ids(client, middlename="Bjornstjerne")
    assert pid in _ids(client, name="Bjørnstjerne")  # the middle name is part of the name
    assert pid in _ids(client, given="Aasmund")  # å = aa
    assert pid in _ids(client, family="strom-aero")  # ø → o, æ → ae, case-insensitive
    assert {pid, other} <= _ids(client, family="Strøm")
    assert _ids(client, family="Strøm-Ærø", birthdate=born) == {pid}
    assert _ids(client, name="Åsmund", birthdate=born, gender="male") == {pid}
    assert pid not in _ids(client, family="Strøm-Ærø", birthdate="1933-03-04")
