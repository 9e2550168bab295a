"""Admission, transfer, utskrivningsklar and discharge, end to end through the FHIR API:
the PLO messages reach the municipality's queue with receipts, the bill follows the
rule, errors are OperationOutcomes and commit nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.api import adt as adt_api
from fellesjournal.clinical import notes
from fellesjournal.fhir.errors import error
from fellesjournal.workflows import adt, messages, model, outbox
from fellesjournal.workflows import utskrivningsklar as uk
from tests.workflows.conftest import World, staff

WARD = "stolav-hjerte-sengepost"
OTHER_WARD = "stolav-lunge-sengepost"
OUTPATIENT = "stolav-hjerte-poliklinikk"
HOME_CARE = "kommune-5001-hjemmetjeneste-1"
GP_OFFICE = "kommune-5001-fastlegekontor-1"
REFERRER_OFFICE = "kommune-5001-fastlegekontor-2"
OUTSIDE_WARD = "hmr-volda-medisin"
OUTSIDE_HOME_CARE = "kommune-1511-hjemmetjeneste"
V3 = adt.V3_ACT
DISCHARGE_READY = f"{model.CODE_SYSTEM}|{model.DISCHARGE_READY}"


# -- helpers ---------------------------------------------------------------------------------


def org(unit_id: str) -> str:
    return f"Organization/{unit_id}"


def role(unit_id: str, kind: str) -> dict[str, str]:
    return {"reference": f"PractitionerRole/{staff(unit_id, kind).role_id}"}


def today() -> dt.date:
    return dt.datetime.now(uk.OSLO).date()


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def oslo(day: dt.date, time: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day.isoformat()}T{time}").replace(tzinfo=uk.OSLO)


def home_care(world: World, patient: str, unit: str = HOME_CARE) -> str:
    """An active EpisodeOfCare of ``patient`` managed by the municipal unit."""
    body = {
        "resourceType": "EpisodeOfCare",
        "status": "active",
        "patient": {"reference": f"Patient/{patient}"},
        "managingOrganization": {"reference": org(unit)},
        "period": {"start": "2024-01-01"},
        "type": [{"text": "Hjemmesykepleie"}],
    }
    r = world.system.post("/fhir/EpisodeOfCare", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def admit(
    client: TestClient,
    patient: str,
    ward: str = WARD,
    *,
    cls: str = "IMP",
    start: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    start = start or now()
    body = {
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"system": V3, "code": cls},
        "subject": {"reference": f"Patient/{patient}"},
        "serviceProvider": {"reference": org(ward)},
        "period": {"start": start},
        **extra,
    }
    r = client.post("/fhir/Encounter", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def discharge(client: TestClient, world: World, enc_id: str, end: str) -> dict[str, Any]:
    enc = world.read(f"Encounter/{enc_id}")
    enc["status"] = "finished"
    enc["period"]["end"] = end
    enc["hospitalization"] = {"dischargeDisposition": {"text": "Hjem med hjemmesykepleie"}}
    r = client.put(f"/fhir/Encounter/{enc_id}", json=enc)
    assert r.status_code == 200, r.text
    return dict(r.json())


def sent(world: World, enc_id: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The Communications of the stay (of one message kind)."""
    params = {"encounter": f"Encounter/{enc_id}", "_count": "100"}
    if kind:
        params["category"] = f"{messages.KIND_SYSTEM}|{kind}"
    r = world.system.get("/fhir/Communication", params=params)
    assert r.status_code == 200, r.text
    return [e["resource"] for e in r.json().get("entry", ())]


def rows(world: World, comm_id: str) -> list[outbox.OutboxItem]:
    with world.repo.reading() as tx:
        return outbox.items(tx, focus_prefix=f"Communication/{comm_id}/")


def recipients(comm: dict[str, Any]) -> list[str]:
    return [r["reference"] for r in comm.get("recipient", ())]


def operation(
    client: TestClient, enc_id: str, name: str, method: str = "POST", **params: Any
) -> Any:
    body = {
        "resourceType": "Parameters",
        "parameter": [{"name": k, **v} for k, v in params.items()],
    }
    url = f"/fhir/Encounter/{enc_id}/${name}"
    if method == "GET":
        return client.get(url)
    return client.post(url, json=body)


def value(parameters: dict[str, Any], name: str) -> Any:
    for p in parameters.get("parameter") or parameters.get("part") or ():
        if p["name"] == name:
            return next(v for k, v in p.items() if k.startswith("value") or k == "part")
    raise KeyError(name)


def signed_epikrise(client: TestClient, patient: str, enc_id: str, ward: str = WARD) -> str:
    author = role(ward, "doctor")
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    doc = notes.new_note(
        notes.TEMPLATES["discharge"],
        {"diagnoses": "I50.9 Hjertesvikt", "follow_up": "Kontroll hos fastlege om 2 uker."},
        patient_id=patient,
        language="nb",
        author=author,
        custodian={"reference": org(ward)},
        now=now,
        encounter=enc_id,
    )
    r = client.post("/fhir/DocumentReference", json=notes.signed(doc, author, now))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def pin(monkeypatch: pytest.MonkeyPatch, moment: dt.datetime) -> None:
    """The operations' clock now reads ``moment``."""
    monkeypatch.setattr(adt_api, "clock", lambda: moment)


def close(client: TestClient, task: dict[str, Any], reason: str) -> None:
    body = dict(task, status="completed", statusReason={"text": reason})
    body.pop("meta", None)
    r = client.put(f"/fhir/Task/{task['id']}", json=body)
    assert r.status_code == 200, r.text


# -- admission and the PLO dialogue ------------------------------------------------------------


def test_a_home_care_patient_from_admission_to_discharge(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = world.patient(gp=staff(GP_OFFICE, "doctor"), municipality="5001")
    home_care(world, patient)
    ward_nurse = world.as_staff(staff(WARD, "nurse"))
    ward_doctor = world.as_staff(staff(WARD, "doctor"))
    home_nurse = world.as_staff(staff(HOME_CARE, "nurse"))

    # Admission: "melding om innlagt pasient" goes to home care, and lands in its queue.
    enc = admit(ward_nurse, patient)
    [melding] = sent(world, enc["id"], "melding-om-innlagt-pasient")
    assert recipients(melding) == [org(HOME_CARE)]
    assert melding["sender"]["reference"] == org(WARD)
    assert [r.state for r in rows(world, melding["id"])] == [outbox.QUEUED]
    world.deliver()
    [row] = rows(world, melding["id"])
    assert row.state == outbox.DELIVERED and row.receipt
    [item] = world.tasks(owner=org(HOME_CARE), focus=f"Communication/{melding['id']}")
    assert model.kind_of(item) == model.MESSAGE
    assert item["for"]["reference"] == f"Patient/{patient}"

    # The municipality answers with an innleggelsesrapport, written as home care's nurse.
    report = adt.message(
        "innleggelsesrapport",
        sender=org(HOME_CARE),
        recipients=[org(WARD)],
        patient=f"Patient/{patient}",
        encounter=f"Encounter/{enc['id']}",
        sent=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        text="Hjemmesykepleie 2 ganger daglig, bor alene.",
        in_response_to=f"Communication/{melding['id']}",
    )
    r = home_nurse.post("/fhir/Communication", json=report)
    assert r.status_code == 201, r.text
    report_id = r.json()["id"]
    close(home_nurse, item, "Lest, innleggelsesrapport sendt")
    world.deliver()
    [ward_item] = world.tasks(owner=org(WARD), focus=f"Communication/{report_id}")
    assert model.kind_of(ward_item) == model.MESSAGE
    assert rows(world, report_id)[0].state == outbox.DELIVERED

    # Utskrivningsklar: declared by the ward's doctor (municipality by default: home care).
    r = operation(
        ward_doctor,
        enc["id"],
        "discharge-ready",
        text={"valueString": "Trenger økt hjemmesykepleie"},
    )
    assert r.status_code == 200, r.text
    declared = r.json()
    assert value(declared, "municipality") == {"reference": org(HOME_CARE)}
    notice = value(declared, "communication")["reference"]
    day = uk.local_day(uk.parse_instant(value(declared, "time")))
    stored = world.read(f"Encounter/{enc['id']}")
    [ev] = uk.events_of(stored)
    assert ev.event == uk.DECLARED and ev.communication == notice
    assert ev.author == {
        "reference": role(WARD, "doctor")["reference"],
        "display": ev.author["display"],  # type: ignore[index]
    }
    world.deliver()
    [ready] = world.tasks(owner=org(HOME_CARE), code=DISCHARGE_READY, focus=notice)
    assert model.is_open(ready)
    assert ready["for"]["reference"] == f"Patient/{patient}"

    # "Cannot receive yet": the item stays open in home care's queue, marked.
    pin(monkeypatch, oslo(day + dt.timedelta(days=1), "09:00"))
    r = operation(
        home_nurse, enc["id"], "discharge-ready-reply", cannotReceive={"valueBoolean": True}
    )
    assert r.status_code == 200, r.text
    ready = world.read(f"Task/{ready['id']}")
    assert model.is_open(ready) and model.state_of(ready) == adt_api.CANNOT_RECEIVE
    # "Can receive in four days": the item is closed, with the reply as its reason.
    pin(monkeypatch, oslo(day + dt.timedelta(days=2), "10:00"))
    can = (day + dt.timedelta(days=4)).isoformat()
    r = operation(home_nurse, enc["id"], "discharge-ready-reply", canReceive={"valueDate": can})
    assert r.status_code == 200, r.text
    assert value(r.json(), "task") == {"reference": f"Task/{ready['id']}"}
    ready = world.read(f"Task/{ready['id']}")
    assert ready["status"] == "completed"
    assert can[8:] in model.reason_text(ready)
    closer = model.extension_value(ready, model.CLOSED_BY_URL)
    assert closer["reference"] == f"PractitionerRole/{staff(HOME_CARE, 'nurse').role_id}"
    answers = sent(world, enc["id"], "svar-utskrivningsklar")
    assert len(answers) == 2
    assert all(recipients(a) == [org(WARD)] for a in answers)
    assert all(a["inResponseTo"] == [{"reference": notice}] for a in answers)

    # The bill while the patient waits: the declaration day and the next two (today's
    # day is not over).
    pin(monkeypatch, oslo(day + dt.timedelta(days=3), "12:00"))
    r = operation(ward_doctor, enc["id"], "discharge-ready-billing", method="GET")
    assert r.status_code == 200, r.text
    assert value(r.json(), "days") == 3
    assert value(r.json(), "amount") == {"value": 3 * 5745, "currency": "NOK"}
    assert value(r.json(), "final") is False

    # Discharge with a signed epikrise: utskrevet and the utskrivningsrapport to home
    # care, the epikrise to the GP's office; each delivered with a receipt.
    epikrise = signed_epikrise(ward_doctor, patient, enc["id"])
    end = oslo(day + dt.timedelta(days=5), "11:00").isoformat()
    discharge(ward_nurse, world, enc["id"], end)
    [gone] = sent(world, enc["id"], "utskrevet")
    [summary] = sent(world, enc["id"], "epikrise")
    [nursing] = sent(world, enc["id"], "utskrivningsrapport")
    assert recipients(gone) == [org(HOME_CARE)]
    assert recipients(summary) == [org(GP_OFFICE)]
    assert {"contentReference": {"reference": f"DocumentReference/{epikrise}"}} in summary[
        "payload"
    ]
    assert recipients(nursing) == [org(HOME_CARE)]
    world.deliver()
    for comm, receiver in ((gone, HOME_CARE), (summary, GP_OFFICE), (nursing, HOME_CARE)):
        [row] = rows(world, comm["id"])
        assert row.state == outbox.DELIVERED, row
        assert row.receipt and row.delivered
        [task] = world.tasks(owner=org(receiver), focus=f"Communication/{comm['id']}")
        assert model.kind_of(task) == model.MESSAGE
    assert world.tasks(owner=org(WARD), focus=f"Encounter/{enc['id']}") == []

    # The final bill: from the declaration day to the day before "can receive".
    pin(monkeypatch, oslo(day + dt.timedelta(days=20), "12:00"))
    r = operation(world.system, enc["id"], "discharge-ready-billing", method="GET")
    assert r.status_code == 200, r.text
    bill = r.json()
    assert value(bill, "days") == 4
    assert value(bill, "amount") == {"value": 4 * 5745, "currency": "NOK"}
    assert value(bill, "rate") == {"value": 5745, "currency": "NOK"}
    assert value(bill, "final") is True
    assert value(bill, "period") == {
        "start": day.isoformat(),
        "end": (day + dt.timedelta(days=3)).isoformat(),
    }
    [part] = [p for p in bill["parameter"] if p["name"] == "declaration"]
    assert value(part, "notified") and value(part, "days") == 4


def test_helseopplysninger_and_questions_flow_both_ways(world: World) -> None:
    patient = world.patient(gp=staff(GP_OFFICE, "doctor"))
    home_care(world, patient)
    ward_nurse = world.as_staff(staff(WARD, "nurse"))
    home_nurse = world.as_staff(staff(HOME_CARE, "nurse"))
    enc = admit(ward_nurse, patient)
    stay = f"Encounter/{enc['id']}"
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

    def write(client: TestClient, kind: str, sender: str, to: str, **kw: Any) -> str:
        body = adt.message(
            kind,
            sender=org(sender),
            recipients=[org(to)],
            patient=f"Patient/{patient}",
            encounter=stay,
            sent=now,
            **kw,
        )
        r = client.post("/fhir/Communication", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    info = write(ward_nurse, "helseopplysninger", WARD, HOME_CARE, text="Ny diagnose: hjertesvikt")
    question = write(home_nurse, "foresporsel", HOME_CARE, WARD, text="Endret medisinering?")
    answer = write(
        ward_nurse,
        "svar-pa-foresporsel",
        WARD,
        HOME_CARE,
        text="Ja, se legemiddelliste",
        in_response_to=f"Communication/{question}",
    )
    back = write(home_nurse, "foresporsel", HOME_CARE, WARD, text="Trenger pasienten seng?")
    reply = write(
        ward_nurse,
        "svar-pa-foresporsel",
        WARD,
        HOME_CARE,
        text="Nei",
        in_response_to=f"Communication/{back}",
    )
    world.deliver()
    for comm, receiver in (
        (info, HOME_CARE),
        (question, WARD),
        (answer, HOME_CARE),
        (back, WARD),
        (reply, HOME_CARE),
    ):
        assert [r.state for r in rows(world, comm)] == [outbox.DELIVERED]
        [task] = world.tasks(owner=org(receiver), focus=f"Communication/{comm}")
        assert model.kind_of(task) == model.MESSAGE
    assert world.read(f"Communication/{answer}")["inResponseTo"] == [
        {"reference": f"Communication/{question}"}
    ]


def test_transfer_keeps_the_location_history_and_sends_nothing(world: World) -> None:
    patient = world.patient()
    home_care(world, patient)
    ward_nurse = world.as_staff(staff(WARD, "nurse"))
    places = []
    for name in ("Hjerte sengepost, rom 12", "Hjerte sengepost, rom 3"):
        r = world.system.post(
            "/fhir/Location",
            json={
                "resourceType": "Location",
                "status": "active",
                "name": name,
                "managingOrganization": {"reference": org(WARD)},
            },
        )
        assert r.status_code == 201, r.text
        places.append(f"Location/{r.json()['id']}")
    first: dict[str, Any] = {
        "location": {"reference": places[0]},
        "status": "active",
        "period": {"start": "2024-03-01T08:00:00+01:00"},
    }
    enc = admit(ward_nurse, patient, location=[first])

    enc["location"] = [
        dict(
            first,
            status="completed",
            period={**first["period"], "end": "2024-03-02T14:00:00+01:00"},
        ),
        {
            "location": {"reference": places[1]},
            "status": "active",
            "period": {"start": "2024-03-02T14:00:00+01:00"},
        },
    ]
    r = ward_nurse.put(f"/fhir/Encounter/{enc['id']}", json=enc)
    assert r.status_code == 200, r.text
    kept = world.read(f"Encounter/{enc['id']}")["location"]
    assert [(loc["location"]["reference"], loc["status"]) for loc in kept] == [
        (places[0], "completed"),
        (places[1], "active"),
    ]
    assert kept[0]["period"]["end"] == "2024-03-02T14:00:00+01:00"
    r = world.system.get("/fhir/Encounter", params={"location": places[1]})
    assert [e["resource"]["id"] for e in r.json().get("entry", ())] == [enc["id"]]
    # One admission message for the stay, none for the move.
    assert len(sent(world, enc["id"])) == 1


# -- utskrivningsklar: avmelding and a new declaration ------------------------------------------


def test_avmelding_and_a_new_declaration(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    patient = world.patient(gp=staff(GP_OFFICE, "doctor"))
    home_care(world, patient)
    ward_doctor = world.as_staff(staff(WARD, "doctor"))
    enc = admit(world.as_staff(staff(WARD, "nurse")), patient)
    day = today()
    pin(monkeypatch, oslo(day, "00:00:05"))
    r = operation(ward_doctor, enc["id"], "discharge-ready")
    assert r.status_code == 200, r.text
    first = value(r.json(), "communication")["reference"]
    world.deliver()
    [ready] = world.tasks(owner=org(HOME_CARE), code=DISCHARGE_READY, focus=first)

    # New illness two days later: avmelding; home care's item is closed with the reason.
    pin(monkeypatch, oslo(day + dt.timedelta(days=2), "08:00"))
    r = operation(
        ward_doctor, enc["id"], "discharge-ready-withdraw", text={"valueString": "Pneumoni"}
    )
    assert r.status_code == 200, r.text
    assert value(r.json(), "task") == {"reference": f"Task/{ready['id']}"}
    ready = world.read(f"Task/{ready['id']}")
    assert ready["status"] == "cancelled"
    assert "Pneumoni" in model.reason_text(ready)
    [avmelding] = sent(world, enc["id"], "avmelding-utskrivningsklar")
    assert recipients(avmelding) == [org(HOME_CARE)]
    assert avmelding["inResponseTo"] == [{"reference": first}]
    world.deliver()
    [msg] = world.tasks(owner=org(HOME_CARE), focus=f"Communication/{avmelding['id']}")
    assert model.kind_of(msg) == model.MESSAGE
    # No declaration in force: a reply is refused.
    r = operation(
        world.as_staff(staff(HOME_CARE, "nurse")),
        enc["id"],
        "discharge-ready-reply",
        cannotReceive={"valueBoolean": True},
    )
    assert r.status_code == 409, r.text

    # Declared again late on day 5; the notice already arrived: days 5 and 6 are paid.
    pin(monkeypatch, oslo(day + dt.timedelta(days=5), "22:00"))
    r = operation(ward_doctor, enc["id"], "discharge-ready")
    assert r.status_code == 200, r.text
    world.deliver()
    discharge(
        world.as_staff(staff(WARD, "nurse")),
        world,
        enc["id"],
        oslo(day + dt.timedelta(days=7), "10:00").isoformat(),
    )
    pin(monkeypatch, oslo(day + dt.timedelta(days=30), "12:00"))
    r = operation(ward_doctor, enc["id"], "discharge-ready-billing", method="GET")
    bill = r.json()
    assert value(bill, "days") == 4, bill
    assert value(bill, "amount")["value"] == 4 * 5745
    parts = [p for p in bill["parameter"] if p["name"] == "declaration"]
    assert [value(p, "days") for p in parts] == [2, 2]
    assert value(parts[0], "withdrawn")
    # Both municipality units are told of the discharge; the declarations' unit once.
    [gone] = sent(world, enc["id"], "utskrevet")
    assert recipients(gone) == [org(HOME_CARE)]
    # The open item of the second declaration is home care's to close.
    for task in world.tasks(
        owner=org(HOME_CARE), code=DISCHARGE_READY, patient=f"Patient/{patient}"
    ):
        if model.is_open(task):
            close(world.as_staff(staff(HOME_CARE, "nurse")), task, "Pasienten er utskrevet")


# -- no municipal services; an epikrise signed after the discharge ------------------------------


def test_without_municipal_services_only_the_epikrise_goes_out(world: World) -> None:
    patient = world.patient(gp=staff(GP_OFFICE, "doctor"))
    r = world.system.post(
        "/fhir/ServiceRequest",
        json={
            "resourceType": "ServiceRequest",
            "status": "completed",
            "intent": "order",
            "subject": {"reference": f"Patient/{patient}"},
            "requester": role(REFERRER_OFFICE, "doctor"),
            "performer": [{"reference": org(WARD)}],
        },
    )
    assert r.status_code == 201, r.text
    referral = r.json()["id"]
    ward_nurse = world.as_staff(staff(WARD, "nurse"))
    ward_doctor = world.as_staff(staff(WARD, "doctor"))
    enc = admit(ward_nurse, patient, basedOn=[{"reference": f"ServiceRequest/{referral}"}])
    assert sent(world, enc["id"]) == []

    # Discharged before the epikrise is signed: a work item at the ward, nothing sent.
    discharge(ward_nurse, world, enc["id"], now())
    assert sent(world, enc["id"]) == []
    [reminder] = world.tasks(owner=org(WARD), focus=f"Encounter/{enc['id']}")
    assert model.is_open(reminder) and model.state_of(reminder) == adt.EPIKRISE_MISSING
    assert reminder["for"]["reference"] == f"Patient/{patient}"
    assert model.due_of(reminder)

    # Signed: sent to the GP's office and the referrer's; the reminder is closed.
    doc = signed_epikrise(ward_doctor, patient, enc["id"])
    [summary] = sent(world, enc["id"])
    assert messages.kind_of(summary) == "epikrise"
    assert recipients(summary) == [org(GP_OFFICE), org(REFERRER_OFFICE)]
    reminder = world.read(f"Task/{reminder['id']}")
    assert reminder["status"] == "completed"
    assert f"DocumentReference/{doc}" in model.reason_text(reminder)
    world.deliver()
    assert sorted(r.recipient for r in rows(world, summary["id"]) if r.receipt) == [
        org(GP_OFFICE),
        org(REFERRER_OFFICE),
    ]
    assert all(r.state == outbox.DELIVERED for r in rows(world, summary["id"]))
    # Writing the signed note again (no new signature) sends nothing more.
    current = world.read(f"DocumentReference/{doc}")
    current.pop("meta", None)
    current["description"] = "Epikrise hjertesvikt"
    r = ward_doctor.put(f"/fhir/DocumentReference/{doc}", json=current)
    assert r.status_code == 200, r.text
    assert len(sent(world, enc["id"])) == 1


def test_a_municipality_outside_the_record_gets_a_visible_failure(world: World) -> None:
    patient = world.patient(municipality="1511")
    home_care(world, patient, OUTSIDE_HOME_CARE)
    nurse = world.as_staff(staff(OUTSIDE_WARD, "nurse"))
    enc = admit(nurse, patient, OUTSIDE_WARD)
    [melding] = sent(world, enc["id"], "melding-om-innlagt-pasient")
    assert recipients(melding) == [org(OUTSIDE_HOME_CARE)]
    r = operation(world.as_staff(staff(OUTSIDE_WARD, "doctor")), enc["id"], "discharge-ready")
    assert r.status_code == 200, r.text
    assert value(r.json(), "municipality") == {"reference": org(OUTSIDE_HOME_CARE)}
    notice = value(r.json(), "communication")["reference"]
    world.deliver()

    for comm in (f"Communication/{melding['id']}", notice):
        [row] = rows(world, comm.split("/")[1])
        assert row.state == outbox.FAILED and "Endpoint" in (row.last_error or "")
        [failure] = world.tasks(owner=org(OUTSIDE_WARD), focus=comm)
        assert model.kind_of(failure) == model.DELIVERY_FAILURE and model.is_open(failure)
        assert failure["priority"] == "urgent"
        close(nurse, failure, "Meldt per telefon til hjemmetjenesten i Vanylven")
    # Never notified: the municipality owes nothing.
    r = operation(nurse, enc["id"], "discharge-ready-billing", method="GET")
    assert value(r.json(), "days") == 0
    assert world.tasks(owner=org(OUTSIDE_HOME_CARE)) == []


# -- errors ------------------------------------------------------------------------------------


def test_bad_requests_are_operation_outcomes_and_commit_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = world.patient(gp=staff(GP_OFFICE, "doctor"))
    home_care(world, patient)
    nurse = world.as_staff(staff(WARD, "nurse"))
    doctor = world.as_staff(staff(WARD, "doctor"))
    home_nurse = world.as_staff(staff(HOME_CARE, "nurse"))
    enc = admit(nurse, patient)
    eid = enc["id"]

    def refused(r: Any, status: int, words: str = "") -> None:
        assert r.status_code == status, r.text
        assert r.json()["resourceType"] == "OperationOutcome"
        assert words in r.text

    refused(
        operation(home_nurse, eid, "discharge-ready-reply", cannotReceive={"valueBoolean": True}),
        409,
        "not declared",
    )
    refused(operation(doctor, eid, "discharge-ready-withdraw"), 409)
    refused(operation(doctor, "no-such-stay", "discharge-ready"), 404)
    refused(doctor.get(f"/fhir/Encounter/{eid}/$discharge-ready"), 405)
    refused(doctor.post(f"/fhir/Encounter/{eid}/$discharge-ready-billing", json={}), 405)
    refused(
        doctor.post(f"/fhir/Encounter/{eid}/$discharge-ready", json={"resourceType": "Patient"}),
        400,
    )
    refused(
        operation(doctor, eid, "discharge-ready", when={"valueDate": "2024-01-01"}), 400, "when"
    )
    refused(operation(doctor, eid, "discharge-ready", text={"valueString": " "}), 400)
    refused(
        operation(
            doctor,
            eid,
            "discharge-ready",
            municipality={"valueReference": {"reference": org(WARD)}},
        ),
        422,
        "not a municipal",
    )
    refused(
        operation(
            doctor,
            eid,
            "discharge-ready",
            municipality={"valueReference": {"reference": "Organization/nowhere"}},
        ),
        422,
    )
    refused(operation(doctor, eid, "discharge-ready", municipality={"valueString": "x"}), 400)
    # Not the ward's staff: the home-care nurse sees the stay but may not declare it;
    # another ward's nurse does not see it at all.
    refused(operation(home_nurse, eid, "discharge-ready"), 403)
    refused(operation(world.as_staff(staff(OTHER_WARD, "nurse")), eid, "discharge-ready"), 404)
    outpatient = admit(world.as_staff(staff(OUTPATIENT, "nurse")), patient, OUTPATIENT, cls="AMB")
    refused(
        operation(world.as_staff(staff(OUTPATIENT, "doctor")), outpatient["id"], "discharge-ready"),
        422,
    )
    assert sent(world, eid, "utskrivningsklar") == []

    r = operation(doctor, eid, "discharge-ready")
    assert r.status_code == 200, r.text
    refused(operation(doctor, eid, "discharge-ready"), 409, "withdraw")
    both: list[dict[str, Any]] = [
        {},
        {"canReceive": {"valueDate": "2024-03-05"}, "cannotReceive": {"valueBoolean": True}},
    ]
    for params in both:
        refused(operation(home_nurse, eid, "discharge-ready-reply", **params), 400)
    refused(
        operation(home_nurse, eid, "discharge-ready-reply", canReceive={"valueDate": "5.3.2024"}),
        400,
    )
    refused(
        operation(home_nurse, eid, "discharge-ready-reply", cannotReceive={"valueBoolean": False}),
        400,
    )
    refused(
        operation(home_nurse, eid, "discharge-ready-reply", canReceive={"valueDate": "2001-01-01"}),
        422,
    )
    # The GP's office and the ward do not answer for the municipality's care services.
    refused(
        operation(
            world.as_staff(staff(GP_OFFICE, "doctor")),
            eid,
            "discharge-ready-reply",
            cannotReceive={"valueBoolean": True},
        ),
        403,
    )
    refused(
        operation(nurse, eid, "discharge-ready-reply", cannotReceive={"valueBoolean": True}), 403
    )

    # The record is the operations' only: a PUT changing or dropping it is refused.
    current = world.read(f"Encounter/{eid}")
    version = current["meta"]["versionId"]
    dropped = {k: v for k, v in current.items() if k != "extension"}
    refused(nurse.put(f"/fhir/Encounter/{eid}", json=dropped), 422, "discharge-ready")
    [ev] = uk.events_of(current)
    earlier = dataclasses.replace(ev, time="2024-01-01T08:00:00+01:00")
    forged = dict(current, extension=[uk.to_extension(earlier)])
    refused(nurse.put(f"/fhir/Encounter/{eid}", json=forged), 422, "discharge-ready")
    assert world.read(f"Encounter/{eid}")["meta"]["versionId"] == version
    # A discharge needs its time.
    no_end = dict(current, status="finished")
    refused(nurse.put(f"/fhir/Encounter/{eid}", json=no_end), 422, "period.end")

    # A failure after the message was written commits neither the message nor its row.
    def broken(self: Any, ev: Any) -> None:
        raise error(412, "conflict", "changed meanwhile")

    before = len(sent(world, eid))
    with world.repo.reading() as tx:
        queued = len(outbox.items(tx, patient_id=patient))
    monkeypatch.setattr(adt_api._Stay, "record", broken)
    refused(
        operation(home_nurse, eid, "discharge-ready-reply", cannotReceive={"valueBoolean": True}),
        412,
    )
    monkeypatch.undo()
    assert len(sent(world, eid)) == before
    with world.repo.reading() as tx:
        assert len(outbox.items(tx, patient_id=patient)) == queued
    assert world.read(f"Encounter/{eid}")["meta"]["versionId"] == version

    # A finished stay cannot be declared or answered.
    discharge(nurse, world, eid, now())
    refused(operation(doctor, eid, "discharge-ready-withdraw"), 409)
    refused(
        operation(home_nurse, eid, "discharge-ready-reply", cannotReceive={"valueBoolean": True}),
        409,
    )
    world.deliver()
    for task in world.tasks(patient=f"Patient/{patient}"):
        if model.is_open(task):
            close(world.system, task, "Test ferdig")


def test_a_finished_stay_cannot_be_declared(world: World) -> None:
    patient = world.patient()
    nurse = world.as_staff(staff(WARD, "nurse"))
    enc = admit(nurse, patient)
    discharge(nurse, world, enc["id"], now())
    r = operation(world.as_staff(staff(WARD, "doctor")), enc["id"], "discharge-ready")
    assert r.status_code == 409, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    assert sent(world, enc["id"]) == []
    for task in world.tasks(patient=f"Patient/{patient}"):
        if model.is_open(task):
            close(nurse, task, "Test ferdig")


def test_an_epikrise_as_a_composition_is_sent_when_signed(world: World) -> None:
    patient = world.patient(gp=staff(GP_OFFICE, "doctor"))
    nurse = world.as_staff(staff(WARD, "nurse"))
    enc = admit(nurse, patient)
    discharge(nurse, world, enc["id"], now())
    [reminder] = world.tasks(owner=org(WARD), focus=f"Encounter/{enc['id']}")
    composition = {
        "resourceType": "Composition",
        "status": "preliminary",
        "type": {"coding": [{"system": "http://loinc.org", "code": "18842-5"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "encounter": {"reference": f"Encounter/{enc['id']}"},
        "date": now(),
        "author": [role(WARD, "doctor")],
        "title": "Epikrise",
    }
    doctor = world.as_staff(staff(WARD, "doctor"))
    r = doctor.post("/fhir/Composition", json=composition)
    assert r.status_code == 201, r.text
    assert sent(world, enc["id"]) == []  # a draft sends nothing
    final = dict(r.json(), status="final")
    final.pop("meta", None)
    r = doctor.put(f"/fhir/Composition/{final['id']}", json=final)
    assert r.status_code == 200, r.text
    [summary] = sent(world, enc["id"], "epikrise")
    assert {"contentReference": {"reference": f"Composition/{final['id']}"}} in summary["payload"]
    assert recipients(summary) == [org(GP_OFFICE)]
    assert world.read(f"Task/{reminder['id']}")["status"] == "completed"
    world.deliver()
    assert [r.state for r in rows(world, summary["id"])] == [outbox.DELIVERED]


def test_a_planned_stay_is_announced_on_arrival_once(world: World) -> None:
    nursing_home = "kommune-5001-sykehjem-1"
    patient = world.patient()
    r = world.system.post(
        "/fhir/CareTeam",
        json={
            "resourceType": "CareTeam",
            "status": "active",
            "subject": {"reference": f"Patient/{patient}"},
            "managingOrganization": [{"reference": org(nursing_home)}],
        },
    )
    assert r.status_code == 201, r.text
    # A planned stay (written by the system: a planned Encounter gives no care relation)
    # announces nothing; the arrival does, and a leave and return do not again.
    enc = admit(world.system, patient, status="planned")
    assert sent(world, enc["id"]) == []
    for status in ("arrived", "in-progress", "onleave", "in-progress"):
        enc = dict(world.read(f"Encounter/{enc['id']}"), status=status)
        enc.pop("meta")
        r = world.system.put(f"/fhir/Encounter/{enc['id']}", json=enc)
        assert r.status_code == 200, r.text
    [melding] = sent(world, enc["id"])
    assert messages.kind_of(melding) == "melding-om-innlagt-pasient"
    assert recipients(melding) == [org(nursing_home)]
