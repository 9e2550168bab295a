"""``Patient/$merge``: every reference moves, nothing is lost, one audit event."""

from __future__ import annotations

from typing import Any

import pytest

from fellesjournal.norway.identifiers import FNR_SYSTEM, HNR_SYSTEM
from tests.mpi.people import fresh_fnr, fresh_hnr, patient

BORN = "1961-04-12"


def _create(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    res = client.post(f"/fhir/{body['resourceType']}", json=body)
    assert res.status_code == 201, res.text
    return res.json()


def _record(client: Any, pid: str, base: str = "") -> list[dict[str, Any]]:
    """A small record across types, one of them with an absolute reference."""
    subject = {"reference": f"{base}Patient/{pid}"}
    enc = _create(
        client,
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": subject,
        },
    )
    made = [enc]
    made.append(
        _create(
            client,
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "Puls"},
                "subject": subject,
                "encounter": {"reference": f"Encounter/{enc['id']}"},
                "valueQuantity": {"value": 72, "unit": "/min"},
            },
        )
    )
    made.append(
        _create(
            client,
            {"resourceType": "Condition", "subject": subject, "code": {"text": "Hypertensjon"}},
        )
    )
    made.append(
        _create(
            client,
            {
                "resourceType": "AllergyIntolerance",
                "patient": subject,
                "code": {"text": "Penicillin"},
            },
        )
    )
    return made


def _compartment(repo: Any, pid: str) -> dict[str, int]:
    """Current resources per type whose compartment is the patient (audit left out)."""
    with repo.reading() as tx:
        counts = repo.compartment_counts(tx, pid)
    counts.pop("AuditEvent", None)
    return dict(counts)


def _params(source: str, target: str, preview: bool = False) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": "source-patient", "valueReference": {"reference": f"Patient/{source}"}},
        {"name": "target-patient", "valueReference": {"reference": f"Patient/{target}"}},
    ]
    if preview:
        params.append({"name": "preview", "valueBoolean": True})
    return {"resourceType": "Parameters", "parameter": params}


@pytest.fixture()
def pair(client: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A temporary H-nummer record (source) and the identified patient (target)."""
    hnr = {
        "system": HNR_SYSTEM,
        "value": fresh_hnr(BORN),
        "type": {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.8327", "code": "HNR"}]},
        "assigner": {"display": "St. Olavs hospital HF"},
    }
    source = _create(client, {**patient(family="Aas", born=BORN), "identifier": [hnr]})
    target = _create(client, patient(fresh_fnr(BORN), family="Aas", born=BORN))
    _record(client, source["id"], base="http://testserver/fhir/")
    _record(client, source["id"])
    _record(client, target["id"])
    return source, target


def test_merge_moves_every_resource_and_loses_nothing(
    client: Any, repo: Any, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    source, target = pair
    before_s, before_t = _compartment(repo, source["id"]), _compartment(repo, target["id"])
    assert before_s["Observation"] == 2 and before_t["Observation"] == 1

    res = client.post("/fhir/Patient/$merge", json=_params(source["id"], target["id"]))
    assert res.status_code == 200, res.text
    out = {p["name"]: p for p in res.json()["parameter"]}
    assert out["input"]["resource"]["resourceType"] == "Parameters"
    assert "8 resources" in out["outcome"]["resource"]["issue"][0]["diagnostics"]
    result = out["result"]["resource"]
    assert result["id"] == target["id"]

    after_s, after_t = _compartment(repo, source["id"]), _compartment(repo, target["id"])
    assert after_s == {"Patient": 1}
    expected = {k: before_s.get(k, 0) + before_t.get(k, 0) for k in before_s | before_t}
    expected["Patient"] = 1
    assert after_t == expected

    merged_source = client.get(f"/fhir/Patient/{source['id']}").json()
    assert merged_source["active"] is False
    assert {"other": {"reference": f"Patient/{target['id']}"}, "type": "replaced-by"} in (
        merged_source["link"]
    )
    merged_target = client.get(f"/fhir/Patient/{target['id']}").json()
    assert {"other": {"reference": f"Patient/{source['id']}"}, "type": "replaces"} in (
        merged_target["link"]
    )
    old = [i for i in merged_target["identifier"] if i["system"] == HNR_SYSTEM]
    assert old and old[0]["use"] == "old"
    # absolute references keep their base
    obs = client.get("/fhir/Observation", params={"subject": f"Patient/{target['id']}"}).json()
    refs = {e["resource"]["subject"]["reference"] for e in obs["entry"]}
    assert f"http://testserver/fhir/Patient/{target['id']}" in refs

    # history is kept: every moved resource has its old version pointing at the source
    enc = client.get("/fhir/Encounter", params={"subject": f"Patient/{target['id']}"}).json()
    moved = [e["resource"] for e in enc["entry"] if e["resource"]["meta"]["versionId"] == "2"]
    assert moved
    v1 = client.get(f"/fhir/Encounter/{moved[0]['id']}/_history/1").json()
    assert v1["subject"]["reference"].endswith(f"Patient/{source['id']}")
    # exactly one merge event, in the hash-chained audit log
    from fellesjournal.audit import log

    with repo.reading() as tx:
        events = log.events_for_patient(tx, source["id"], count=1000)
    merges = [e for e in events if any(s.get("code") == "patient-merge" for s in e["subtype"])]
    assert len(merges) == 1
    assert merges[0]["subtype"][1]["code"] == "patient-merge"


def test_preview_changes_nothing(client: Any, pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    source, target = pair
    before = client.get("/fhir/_history", params={"_count": "1"}).json()["entry"][0]
    res = client.post("/fhir/Patient/$merge", json=_params(source["id"], target["id"], True))
    assert res.status_code == 200
    out = {p["name"]: p for p in res.json()["parameter"]}
    assert "would move" in out["outcome"]["resource"]["issue"][0]["diagnostics"]
    assert any(link["type"] == "replaces" for link in out["result"]["resource"]["link"])
    after = client.get("/fhir/_history", params={"_count": "1"}).json()["entry"][0]
    assert after["fullUrl"] == before["fullUrl"]
    assert after["resource"]["meta"] == before["resource"]["meta"]
    assert client.get(f"/fhir/Patient/{source['id']}").json().get("active") is not False


def test_merge_by_identifier(client: Any) -> None:
    a, b = fresh_fnr(), fresh_fnr()
    source = _create(client, patient(a))
    target = _create(client, patient(b))
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "source-patient-identifier",
                "valueIdentifier": {"system": FNR_SYSTEM, "value": a},
            },
            {
                "name": "target-patient-identifier",
                "valueIdentifier": {"system": FNR_SYSTEM, "value": b},
            },
        ],
    }
    assert client.post("/fhir/Patient/$merge", json=body).status_code == 200
    # the person's old number still belongs to the merged record: no new registration
    res = client.post("/fhir/Patient", json=patient(a))
    assert res.status_code == 409
    assert f"Patient/{target['id']}" in res.json()["issue"][0]["diagnostics"]
    # a merged patient cannot be merged again, nor be a target
    again = client.post("/fhir/Patient/$merge", json=_params(source["id"], target["id"]))
    assert again.status_code == 422
    into = client.post("/fhir/Patient/$merge", json=_params(target["id"], source["id"]))
    assert into.status_code == 422


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"resourceType": "Patient"}, 400),
        ({"resourceType": "Parameters", "parameter": []}, 400),
        (
            {
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "source-patient", "valueReference": {"reference": "Patient/x"}},
                    {"name": "target-patient", "valueReference": {"reference": "Patient/x"}},
                ],
            },
            422,
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "source-patient", "valueReference": {"reference": "Patient/nope-1"}},
                    {"name": "target-patient", "valueReference": {"reference": "Patient/nope-2"}},
                ],
            },
            422,
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "source-patient", "valueReference": {"reference": "Observation/1"}},
                    {"name": "target-patient", "valueReference": {"reference": "Patient/2"}},
                ],
            },
            400,
        ),
    ],
)
def test_bad_merge_requests(client: Any, body: dict[str, Any], status: int) -> None:
    res = client.post("/fhir/Patient/$merge", json=body)
    assert res.status_code == status
    assert res.json()["resourceType"] == "OperationOutcome"


def test_merge_needs_post(client: Any) -> None:
    res = client.get("/fhir/Patient/$merge")
    assert res.status_code == 405
    assert res.json()["resourceType"] == "OperationOutcome"
