"""One Patient per person: national identifiers are unique among standing Patients."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from fellesjournal.access.actor import Actor
from fellesjournal.fhir.errors import FhirError
from fellesjournal.norway.identifiers import DNR_SYSTEM, FNR_SYSTEM
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from tests.mpi.people import fresh_dnr, fresh_fnr, patient


def _post(client: Any, body: dict[str, Any], **headers: str) -> Any:
    return client.post("/fhir/Patient", json=body, headers=headers)


def test_second_patient_with_same_fodselsnummer_is_409(client: Any) -> None:
    fnr = fresh_fnr()
    first = _post(client, patient(fnr))
    assert first.status_code == 201
    holder = first.json()["id"]
    second = _post(client, patient(fnr, given="Kari Anne"))
    assert second.status_code == 409
    issue = second.json()["issue"][0]
    assert second.json()["resourceType"] == "OperationOutcome"
    assert issue["code"] == "duplicate"
    assert issue["expression"] == ["Patient.identifier[0]"]
    assert f"Patient/{holder}" in issue["diagnostics"]
    found = client.get("/fhir/Patient", params={"identifier": f"{FNR_SYSTEM}|{fnr}"}).json()
    assert found["total"] == 1


def test_alias_system_counts_as_the_same_number(client: Any) -> None:
    fnr = fresh_fnr()
    assert _post(client, patient(fnr)).status_code == 201
    alias = patient()
    alias["identifier"] = [{"system": "http://hl7.no/fhir/NamingSystem/FNR", "value": fnr}]
    assert _post(client, alias).status_code == 409


def test_update_may_keep_its_own_number_but_not_take_another(client: Any) -> None:
    a, b = fresh_fnr(), fresh_fnr()
    pa = _post(client, patient(a)).json()
    pb = _post(client, patient(b)).json()
    pa["gender"] = "other"
    assert client.put(f"/fhir/Patient/{pa['id']}", json=pa).status_code == 200
    pb["identifier"].append({"system": FNR_SYSTEM, "value": a, "use": "old"})
    res = client.put(f"/fhir/Patient/{pb['id']}", json=pb)
    assert res.status_code == 409
    assert res.json()["issue"][0]["expression"] == ["Patient.identifier[1]"]
    # update-as-create with a client id is checked too
    res = client.put("/fhir/Patient/mpi-new-1", json={**patient(a), "id": "mpi-new-1"})
    assert res.status_code == 409


def test_if_none_exist_returns_the_existing_patient(client: Any) -> None:
    fnr = fresh_fnr()
    first = _post(client, patient(fnr)).json()
    again = _post(client, patient(fnr), **{"If-None-Exist": f"identifier={FNR_SYSTEM}|{fnr}"})
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]


def test_transaction_with_the_same_number_twice_commits_nothing(client: Any) -> None:
    fnr = fresh_fnr()
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": patient(fnr), "request": {"method": "POST", "url": "Patient"}},
            {"resource": patient(fnr), "request": {"method": "POST", "url": "Patient"}},
        ],
    }
    res = client.post("/fhir", json=bundle)
    assert res.status_code == 409
    found = client.get("/fhir/Patient", params={"identifier": f"{FNR_SYSTEM}|{fnr}"}).json()
    assert found["total"] == 0


def test_deleted_patient_frees_its_number(client: Any) -> None:
    fnr = fresh_fnr()
    first = _post(client, patient(fnr)).json()
    assert client.delete(f"/fhir/Patient/{first['id']}").status_code == 204
    assert _post(client, patient(fnr)).status_code == 201


def test_d_nummer_is_unique_too_and_not_confused_with_fnr(client: Any) -> None:
    dnr = fresh_dnr()
    d = {"system": DNR_SYSTEM, "value": dnr}
    assert _post(client, {**patient(), "identifier": [d]}).status_code == 201
    assert _post(client, {**patient(), "identifier": [d]}).status_code == 409
    other = fresh_fnr()
    assert _post(client, patient(other)).status_code == 201


@pytest.mark.parametrize("writers", [8])
def test_concurrent_creates_of_one_person_make_one_record(
    store: Any, settings: Any, writers: int
) -> None:
    fnr = fresh_fnr()
    barrier = threading.Barrier(writers)
    outcomes: list[int] = []
    lock = threading.Lock()

    def create() -> None:
        repo = GuardedRepository(
            store, settings, RequestContext(actor=Actor("system", "t", scopes=("system/*.*",)))
        )
        barrier.wait()
        try:
            repo.create("Patient", patient(fnr))
            status = 201
        except FhirError as exc:
            status = exc.status
        with lock:
            outcomes.append(status)

    threads = [threading.Thread(target=create) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [201] + [409] * (writers - 1)
    repo = GuardedRepository(
        store, settings, RequestContext(actor=Actor("system", "t", scopes=("system/*.*",)))
    )
    assert len(repo.search("Patient", [("identifier", f"{FNR_SYSTEM}|{fnr}")]).matches) == 1
