"""Duplicate candidates: by rule, through the operation and the CLI."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from fellesjournal.mpi.duplicates import SAME_NAME, TEMPORARY, Person, find_candidates
from fellesjournal.norway.identifiers import FHNR_SYSTEM, FNR_SYSTEM
from tests.mpi.people import fresh_fnr, fresh_hnr, patient


def _p(
    pid: str, family: str, given: str, national: set[tuple[str, str]], gender: str = "male"
) -> Person:
    return Person(
        pid, family, given, "1950-05-05", gender, frozenset(national), f"{given} {family}"
    )


def test_rules() -> None:
    fnr = (FNR_SYSTEM, "1")
    people = [
        _p("a", "hansen", "ola", {fnr}),
        _p("b", "hansen", "ola", set()),  # same name and birth date, no shared id
        _p("c", "hansen", "per", {(FHNR_SYSTEM, "9")}),  # temporary, same family
        _p("d", "berg", "kari", set(), gender="female"),  # nothing in common
    ]
    found = {(c.a.id, c.b.id): c.reason for c in find_candidates(people)}
    assert found == {("a", "b"): SAME_NAME, ("a", "c"): TEMPORARY}


def test_shared_identifier_is_not_a_candidate() -> None:
    same = {(FNR_SYSTEM, "1")}
    assert find_candidates([_p("a", "x", "y", same), _p("b", "x", "y", same)]) == []


def _pairs(client: Any) -> set[tuple[str, str, str]]:
    res = client.get("/fhir/Patient/$duplicates")
    assert res.status_code == 200
    out = set()
    for c in res.json().get("parameter", []):
        parts = c["part"]
        a, b = (p["valueReference"]["reference"] for p in parts if p["name"] == "patient")
        reason = next(p["valueCode"] for p in parts if p["name"] == "reason")
        out.add((a, b, reason))
    return out


def test_operation_finds_same_name_and_temporary_identity(client: Any) -> None:
    born = "1907-07-07"
    ids = []
    for body in (
        patient(fresh_fnr(born), family="Ødegård", given="Åse", born=born),
        patient(family="Odegaard", given="Aase", born=born, address=[{"city": "Molde"}]),
        {
            **patient(family="Ødegård", given="Ukjent", born=born),
            "identifier": [{"system": "HNR", "value": fresh_hnr(born)}],
        },
    ):
        res = client.post("/fhir/Patient", json=body)
        assert res.status_code == 201, res.text
        ids.append(f"Patient/{res.json()['id']}")
    mine = {p for p in _pairs(client) if p[0] in ids and p[1] in ids}
    by_reason = {frozenset(p[:2]): p[2] for p in mine}
    assert by_reason[frozenset(ids[:2])] == SAME_NAME
    assert by_reason[frozenset((ids[0], ids[2]))] == TEMPORARY
    # once merged, the pair is gone
    merge = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "source-patient", "valueReference": {"reference": ids[1]}},
            {"name": "target-patient", "valueReference": {"reference": ids[0]}},
        ],
    }
    assert client.post("/fhir/Patient/$merge", json=merge).status_code == 200
    assert not {p for p in _pairs(client) if ids[1] in p[:2]}


def test_cli_lists_candidates(settings: Any, monkeypatch: Any, client: Any) -> None:
    from fellesjournal.cli import app

    born = "1908-08-08"
    for _ in range(2):
        body = patient(family="Kvamme", given="Brynjulf", born=born)
        assert client.post("/fhir/Patient", json=body).status_code == 201
    monkeypatch.setenv("FELLESJOURNAL_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FELLESJOURNAL_DATA_DIR", str(settings.data_dir))
    result = CliRunner().invoke(app, ["mpi", "duplicates"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "Brynjulf Kvamme" in line]
    assert len(lines) == 1
    assert SAME_NAME in lines[0] and born in lines[0]
