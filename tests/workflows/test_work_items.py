"""Work items (Task): an owner always, a reason and an actor to close, nothing lost
between units of the shared record."""

from __future__ import annotations

from fellesjournal.workflows import model, outbox
from tests.workflows.conftest import World, staff

WARD = "stolav-hjerte-sengepost"
HOME_CARE = "kommune-5001-hjemmetjeneste-1"


def _message(world: World, patient: str, sender: str, recipient: str, text: str) -> dict:
    return {
        "resourceType": "Communication",
        "status": "in-progress",
        "category": [
            {
                "coding": [
                    {
                        "system": "https://fellesjournal.no/fhir/CodeSystem/message-kind",
                        "code": "foresporsel",
                    }
                ]
            }
        ],
        "subject": {"reference": f"Patient/{patient}"},
        "sender": {"reference": f"Organization/{sender}"},
        "recipient": [{"reference": f"Organization/{recipient}"}],
        "payload": [{"contentString": text}],
    }


def test_a_message_between_members_becomes_a_work_item_in_the_receivers_queue(world: World) -> None:
    patient = world.patient()
    nurse = staff(WARD, "nurse")
    body = _message(world, patient, WARD, HOME_CARE, "Hvilke tjenester har pasienten?")
    r = world.system.post("/fhir/Communication", json=body)
    assert r.status_code == 201, r.text
    comm = r.json()["id"]
    with world.repo.reading() as tx:
        [row] = outbox.items(tx, focus_prefix=f"Communication/{comm}/")
    assert row.state == outbox.QUEUED
    assert world.tasks(focus=f"Communication/{comm}") == []

    stats = world.deliver()
    assert stats.delivered >= 1
    [task] = world.tasks(focus=f"Communication/{comm}")
    assert model.owner_of(task) == f"Organization/{HOME_CARE}"
    assert model.kind_of(task) == model.MESSAGE
    assert task["for"]["reference"] == f"Patient/{patient}"
    assert model.due_of(task)
    with world.repo.reading() as tx:
        [row] = outbox.items(tx, focus_prefix=f"Communication/{comm}/")
    assert row.state == outbox.DELIVERED
    assert f"Task/{task['id']}" in (row.receipt or "")
    del nurse


def test_closing_needs_a_reason_and_stamps_the_actor(world: World) -> None:
    patient = world.patient()
    r = world.system.post(
        "/fhir/Communication", json=_message(world, patient, WARD, HOME_CARE, "Svar?")
    )
    comm = r.json()["id"]
    world.deliver()
    [task] = world.tasks(focus=f"Communication/{comm}")
    nurse = world.as_staff(staff(HOME_CARE, "nurse"))

    closed = dict(task, status="completed")
    r = nurse.put(f"/fhir/Task/{task['id']}", json=closed)
    assert r.status_code == 422, r.text
    assert "statusReason" in r.text

    closed["statusReason"] = {"text": "Besvart per telefon"}
    closed["extension"] = [
        {
            "url": model.CLOSED_BY_URL,
            "valueReference": {"reference": "PractitionerRole/someone-else"},
        }
    ]
    r = nurse.put(f"/fhir/Task/{task['id']}", json=closed)
    assert r.status_code == 200, r.text
    stored = world.read(f"Task/{task['id']}")
    by = model.extension_value(stored, model.CLOSED_BY_URL)
    assert by["reference"] == f"PractitionerRole/{staff(HOME_CARE, 'nurse').role_id}"
    assert model.extension_value(stored, model.CLOSED_AT_URL)


def test_an_open_work_item_needs_an_owner(world: World) -> None:
    patient = world.patient()
    task = model.work_item(
        model.MESSAGE,
        owner="Organization/x",
        patient=f"Patient/{patient}",
        focus=None,
        authored="2026-11-26T10:00:00+01:00",
    )
    del task["owner"]
    r = world.system.post("/fhir/Task", json=task)
    assert r.status_code == 422, r.text
    assert "owner" in r.text


def test_an_isolated_world_is_a_copy_of_its_own(isolated: World, world: World) -> None:
    patient = isolated.patient()
    assert isolated.read(f"Patient/{patient}")["id"] == patient
    assert world.system.get(f"/fhir/Patient/{patient}").status_code == 404


def test_the_sender_sees_delivered_only_after_the_receipt(world: World) -> None:
    patient = world.patient()
    stay = {
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{patient}"},
        "serviceProvider": {"reference": f"Organization/{WARD}"},
    }
    assert world.system.post("/fhir/Encounter", json=stay).status_code == 201
    ward = world.as_staff(staff(WARD, "nurse"))
    body = _message(world, patient, WARD, HOME_CARE, "Pasienten er innlagt")
    r = ward.post("/fhir/Communication", json=body)
    assert r.status_code == 201, r.text
    comm = r.json()["id"]

    def states() -> list[str]:
        r = ward.get(f"/fhir/Communication/{comm}/$delivery")
        assert r.status_code == 200, r.text
        return [
            next(p["valueCode"] for p in d["part"] if p["name"] == "state")
            for d in r.json()["parameter"]
        ]

    assert states() == ["queued"]
    world.deliver()
    assert states() == ["delivered"]
    outsider = world.as_staff(staff("stolav-nevro-sengepost", "doctor"))
    assert outsider.get(f"/fhir/Communication/{comm}/$delivery").status_code == 404
