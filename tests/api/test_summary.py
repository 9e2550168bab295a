"""``GET Patient/[id]/$summary``: the IPS document Bundle through the FHIR API."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from fellesjournal.auth.tokens import issue_token
from fellesjournal.fhir.validation import validate_resource
from fellesjournal.settings import Settings
from tests.mpi.people import fresh_fnr, patient


def _create(client: TestClient, body: dict[str, Any]) -> str:
    resp = client.post(f"/fhir/{body['resourceType']}", json=body)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def _citizen_headers(settings: Settings, fnr: str, patient_id: str) -> dict[str, str]:
    claims = {
        "fhir_actor": "patient",
        "scope": "patient/*.read",
        "fhirUser": f"Patient/{patient_id}",
    }
    token = issue_token(settings, fnr, claims)
    return {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}


def _person(client: TestClient, family: str) -> tuple[str, str, str]:
    fnr = fresh_fnr()
    pid = _create(client, patient(fnr, family=family, given="Sara"))
    cond = _create(
        client,
        {
            "resourceType": "Condition",
            "code": {"text": f"Astma hos {family}"},
            "subject": {"reference": f"Patient/{pid}"},
        },
    )
    return fnr, pid, cond


def test_summary_operation(client: TestClient, settings: Settings) -> None:
    fnr, pid, cond = _person(client, "Summarsen")
    _other_fnr, other, other_cond = _person(client, "Andrebakken")

    resp = client.get(f"/fhir/Patient/{pid}/$summary")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/fhir+json")
    bundle = resp.json()
    assert validate_resource(bundle) == []
    assert bundle["type"] == "document"
    assert bundle["entry"][0]["resource"]["resourceType"] == "Composition"
    urls = {e["fullUrl"] for e in bundle["entry"]}
    base = settings.fhir_base_url
    assert f"{base}/Patient/{pid}" in urls
    assert f"{base}/Condition/{cond}" in urls

    # The citizen: their own summary, nothing of another's, 404 for another's.
    headers = _citizen_headers(settings, fnr, pid)
    mine = client.get(f"/fhir/Patient/{pid}/$summary", headers=headers)
    assert mine.status_code == 200, mine.text
    assert f"Condition/{cond}" in mine.text
    assert other not in mine.text and other_cond not in mine.text
    theirs = client.get(f"/fhir/Patient/{other}/$summary", headers=headers)
    assert theirs.status_code == 404
    assert theirs.json()["resourceType"] == "OperationOutcome"
    assert "Andrebakken" not in theirs.text

    # POST without a body works as GET; parameters are refused.
    assert client.post(f"/fhir/Patient/{pid}/$summary").status_code == 200
    assert client.get(f"/fhir/Patient/{pid}/$summary?identifier=x").status_code == 400
    assert client.get("/fhir/Patient/no-such-patient/$summary").status_code == 404
    assert client.get(f"/fhir/Condition/{cond}/$summary").status_code == 404


def test_summary_is_in_the_capability_statement(client: TestClient) -> None:
    statement = client.get("/fhir/metadata").json()
    patient_ops = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    assert {
        "name": "summary",
        "definition": "http://hl7.org/fhir/uv/ips/OperationDefinition/summary",
    } in patient_ops["operation"]
