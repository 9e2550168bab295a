"""``$break-glass`` and ``$access-explain`` over HTTP, and the grant that cannot be forged.

Uses the identity tests' small world (a ward under a trust, a doctor there, a patient
with no care relation to the ward).
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.access import consents
from fellesjournal.audit import log
from fellesjournal.auth.issuer import issue_practitioner_token
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from tests.access.conftest import World
from tests.conftest import settle_audit


@pytest.fixture()
def doctor(anon_client: TestClient, settings: Settings, world: World) -> TestClient:
    token = issue_practitioner_token(settings, world.hpr, world.role_id, world.practitioner_id)
    anon_client.headers.update({"Authorization": f"Bearer {token}"})
    return anon_client


def _glass(
    client: TestClient, patient_id: str, reason: str = "emergency", text: str = "akutt"
) -> Any:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "reason", "valueCode": reason},
            {"name": "text", "valueString": text},
        ],
    }
    return client.post(f"/fhir/Patient/{patient_id}/$break-glass", json=body)


def _explain(client: TestClient, patient_id: str) -> dict[str, Any]:
    res = client.get(f"/fhir/Patient/{patient_id}/$access-explain")
    assert res.status_code == 200, res.text
    out: dict[str, Any] = {}
    for p in res.json()["parameter"]:
        value = next((v for k, v in p.items() if k.startswith("value")), p.get("part"))
        out.setdefault(p["name"], []).append(value)
    return out


def test_break_glass_opens_the_record_and_is_logged(
    doctor: TestClient, repo: GuardedRepository, world: World
) -> None:
    assert doctor.get(f"/fhir/Patient/{world.patient_id}").status_code == 404
    before = _explain(doctor, world.patient_id)
    assert before["access"] == [False] and before["basis"] == ["none"]
    assert "no care relation" in before["reason"][0]

    granted = _glass(doctor, world.patient_id, "emergency", "bevisstløs i mottak")
    assert granted.status_code == 200, granted.text
    parts = {p["name"]: p for p in granted.json()["parameter"]}
    assert parts["granted"]["valueBoolean"] is True
    assert parts["end"]["valueInstant"] > parts["start"]["valueInstant"]

    assert doctor.get(f"/fhir/Patient/{world.patient_id}").status_code == 200
    after = _explain(doctor, world.patient_id)
    assert after["access"] == [True] and after["basis"] == ["break-the-glass"]
    assert after["breakGlassUntil"] == [parts["end"]["valueInstant"]]

    settle_audit(repo.store)
    with repo.reading() as tx:
        events = log.events_for_patient(tx, world.patient_id, count=50)
    grant = [e for e in events if e["subtype"][0].get("code") == "break-the-glass"]
    assert len(grant) == 1
    assert grant[0]["purposeOfEvent"][0]["coding"][0]["code"] == "ETREAT"
    read = [e for e in events if e["action"] == "R" and e["outcome"] == "0"]
    assert read and all(
        any(x.get("valueCode") == "break-the-glass" for x in e["extension"]) for e in read
    )


@pytest.mark.parametrize(
    ("reason", "text"), [("because", "akutt"), ("emergency", "  "), ("emergency", "x" * 1001)]
)
def test_break_glass_needs_a_known_reason_and_a_text(
    doctor: TestClient, world: World, reason: str, text: str
) -> None:
    res = _glass(doctor, world.patient_id, reason, text)
    assert res.status_code == 400
    assert res.json()["resourceType"] == "OperationOutcome"
    assert doctor.get(f"/fhir/Patient/{world.patient_id}").status_code == 404


def test_break_glass_on_no_patient_and_by_get(doctor: TestClient, world: World) -> None:
    assert _glass(doctor, "no-such-patient").status_code == 404
    res = doctor.get(f"/fhir/Patient/{world.patient_id}/$break-glass")
    assert res.status_code == 405 and res.headers["allow"] == "POST"


def test_a_grant_cannot_be_written_by_hand(
    doctor: TestClient, client: TestClient, world: World
) -> None:
    """Consent is a type a doctor writes (blocks on the patient's behalf), but a
    break-the-glass grant made that way would skip the event and the review."""
    forged = consents.break_glass_consent(
        world.patient_id,
        _work(world),
        "emergency",
        "ingen",
        "2020-01-01T00:00:00.000Z",
        "2099-01-01T00:00:00.000Z",
    )
    res = doctor.post("/fhir/Consent", json=forged)
    assert res.status_code == 403
    assert "$break-glass" in res.text
    assert doctor.get(f"/fhir/Patient/{world.patient_id}").status_code == 404
    # A system client (an import) may carry grants over from another system.
    assert client.post("/fhir/Consent", json=forged).status_code == 201


def _work(world: World) -> Any:
    from fellesjournal.access.context import WorkContext

    return WorkContext(
        practitioner_id=world.practitioner_id,
        hpr=world.hpr,
        role_id=world.role_id,
        unit_id=world.unit,
        parents=(world.trust, world.top),
        role="doctor",
    )


def test_access_explain_names_the_relation_and_the_role(
    doctor: TestClient, client: TestClient, world: World
) -> None:
    encounter = {
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"code": "IMP"},
        "subject": {"reference": f"Patient/{world.patient_id}"},
        "serviceProvider": {"reference": f"Organization/{world.unit}"},
    }
    enc = client.post("/fhir/Encounter", json=encounter).json()
    found = _explain(doctor, world.patient_id)
    assert found["access"] == [True]
    assert found["basis"] == ["encounter-in-progress"]
    relation = {p["name"]: p for p in found["relation"][0]}
    assert relation["reference"]["valueReference"]["reference"] == f"Encounter/{enc['id']}"
    assert "Observation" in found["reads"] and "Observation" in found["writes"]
    assert doctor.get(f"/fhir/Patient/{world.patient_id}").status_code == 200


def test_the_master_patient_index_is_for_system_clients(doctor: TestClient, world: World) -> None:
    """$duplicates and $merge see every record: a health worker gets 403, not names."""
    res = doctor.get("/fhir/Patient/$duplicates")
    assert res.status_code == 403
    merge = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "source-patient",
                "valueReference": {"reference": f"Patient/{world.patient_id}"},
            },
            {"name": "target-patient", "valueReference": {"reference": "Patient/other"}},
            {"name": "preview", "valueBoolean": True},
        ],
    }
    res = doctor.post("/fhir/Patient/$merge", json=merge)
    assert res.status_code == 403
    assert world.patient_id not in res.text
