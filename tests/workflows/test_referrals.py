"""Referrals with legal clocks, end to end through the FHIR API: receipt puts the
assessment item in the receiving unit's queue (or sends the referral out and tracks it at
the referrer), assessment records the outcome with its letters and waiting-list entry,
the breach report finds late clocks, and ``fellesjournal queues check`` holds."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fellesjournal.cli import app as cli_app
from fellesjournal.norway.workdays import add_working_days, working_days_between
from fellesjournal.store.base import WriteOp
from fellesjournal.workflows import messages, model, outbox, referral
from tests.workflows.conftest import World, staff

GP_OFFICE = "kommune-5001-fastlegekontor-1"
CLINIC = "stolav-hjerte-poliklinikk"
OTHER_CLINIC = "stolav-medisin-poliklinikk"
OUTSIDE = "kommune-1511-hjemmetjeneste"  # Vanylven holds an option: not a member
CLI = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "fellesjournal"

Resource = dict[str, Any]


def today() -> date:
    return referral.oslo_date(datetime.now(UTC))


def referral_body(
    patient: str,
    performer: str | None = CLINIC,
    *,
    priority: str = "routine",
    received: date | None = None,
    requester: str | None = None,
    category: str = referral.REFERRAL_CATEGORY,
) -> Resource:
    body: Resource = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "priority": priority,
        "category": [{"coding": [{"system": referral.SNOMED, "code": category}]}],
        "code": {"text": "Utredning av brystsmerter"},
        "subject": {"reference": f"Patient/{patient}"},
    }
    if performer:
        body["performer"] = [{"reference": f"Organization/{performer}"}]
    if received:
        body["extension"] = [{"url": referral.RECEIVED_URL, "valueDate": received.isoformat()}]
    if requester:
        body["requester"] = {"reference": requester}
    return body


def refer(world: World, patient: str, performer: str = CLINIC, **kwargs: Any) -> str:
    """The GP refers ``patient``; the new ServiceRequest's id."""
    gp = world.as_staff(staff(GP_OFFICE, "doctor"))
    r = gp.post("/fhir/ServiceRequest", json=referral_body(patient, performer, **kwargs))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def gp_patient(world: World) -> str:
    return world.patient(gp=staff(GP_OFFICE, "doctor"))


def params(**values: Any) -> Resource:
    kinds = {
        "outcome": "valueCode",
        "deadline": "valueDate",
        "date": "valueDate",
        "reason": "valueString",
        "sentOnTo": "valueReference",
    }
    out = []
    for name, value in values.items():
        if name == "sentOnTo":
            value = {"reference": value}
        out.append({"name": name, kinds[name]: value})
    return {"resourceType": "Parameters", "parameter": out}


def assess(world: World, sr: str, who: Any = None, **values: Any) -> Any:
    client = who or world.as_staff(staff(CLINIC, "doctor"))
    return client.post(f"/fhir/ServiceRequest/{sr}/$assess", json=params(**values))


def part(body: Resource, name: str) -> Any:
    found = [p for p in body["parameter"] if p["name"] == name]
    return found


def items(world: World, sr: str, kind: str) -> list[Resource]:
    return [
        t
        for t in world.tasks(focus=f"ServiceRequest/{sr}")
        if model.kind_of(t) == kind and t.get("status") != "entered-in-error"
    ]


def outbox_rows(world: World, communication: str) -> list[outbox.OutboxItem]:
    with world.repo.reading() as tx:
        return list(outbox.items(tx, focus_prefix=f"{communication}/"))


# -- receipt -----------------------------------------------------------------------------------


def test_a_gp_referral_lands_in_the_receiving_units_queue_with_its_clock(world: World) -> None:
    patient = gp_patient(world)
    sr = refer(world, patient)
    [task] = items(world, sr, model.REFERRAL_ASSESSMENT)
    assert model.owner_of(task) == f"Organization/{CLINIC}"
    assert model.is_open(task)
    assert model.state_of(task) == referral.RECEIVED
    assert task["for"]["reference"] == f"Patient/{patient}"
    assert referral.received_of(task) == today().isoformat()
    assert model.due_of(task) == add_working_days(today(), 10).isoformat()
    assert task["requester"]["reference"] == f"Organization/{GP_OFFICE}"
    assert referral.clock(task, today()) == 10

    # It is in the unit's intake queue, as its secretary sees it.
    secretary = world.as_staff(staff(CLINIC, "secretary"))
    r = secretary.get(
        "/fhir/Task",
        params={
            "owner": f"Organization/{CLINIC}",
            "code": f"{model.CODE_SYSTEM}|{model.REFERRAL_ASSESSMENT}",
            "status": "requested",
            "focus": f"ServiceRequest/{sr}",
        },
    )
    assert r.status_code == 200, r.text
    assert [e["resource"]["id"] for e in r.json().get("entry", ())] == [task["id"]]


def test_suspected_serious_illness_has_the_shorter_clock(world: World) -> None:
    sr = refer(world, gp_patient(world), priority="urgent")
    [task] = items(world, sr, model.REFERRAL_ASSESSMENT)
    assert model.due_of(task) == add_working_days(today(), 5).isoformat()
    assert task["priority"] == "urgent"


def test_a_referral_in_a_transaction_bundle_gets_its_item(world: World) -> None:
    patient = gp_patient(world)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0b6e4c55-3f0a-4b7c-9a57-0c6f0e4f1a01",
                "resource": referral_body(patient),
                "request": {"method": "POST", "url": "ServiceRequest"},
            }
        ],
    }
    r = world.system.post("/fhir", json=bundle)
    assert r.status_code == 200, r.text
    sr = r.json()["entry"][0]["response"]["location"].split("/")[1]
    [task] = items(world, sr, model.REFERRAL_ASSESSMENT)
    assert model.owner_of(task) == f"Organization/{CLINIC}"
    assert "requester" not in task  # a system client named no referrer


def test_a_lab_order_is_not_a_referral(world: World) -> None:
    patient = gp_patient(world)
    body = referral_body(patient, category="108252007")
    r = world.as_staff(staff(GP_OFFICE, "doctor")).post("/fhir/ServiceRequest", json=body)
    assert r.status_code == 201, r.text
    assert world.tasks(focus=f"ServiceRequest/{r.json()['id']}") == []


def test_a_referral_outside_the_shared_record_goes_through_the_outbox(world: World) -> None:
    patient = gp_patient(world)
    sr = refer(world, patient, OUTSIDE)
    [task] = items(world, sr, model.REFERRAL_ASSESSMENT)
    assert model.owner_of(task) == f"Organization/{GP_OFFICE}"
    assert model.state_of(task) == referral.SENT_TO_EXTERNAL
    assert model.due_of(task) == add_working_days(today(), 10).isoformat()
    assert world.tasks(owner=f"Organization/{OUTSIDE}") == []

    r = world.system.get("/fhir/Communication", params={"subject": f"Patient/{patient}"})
    [comm] = [e["resource"] for e in r.json()["entry"]]
    assert messages.kind_of(comm) == "henvisning"
    assert comm["about"] == [{"reference": f"ServiceRequest/{sr}"}]
    assert comm["recipient"] == [{"reference": f"Organization/{OUTSIDE}"}]
    [row] = outbox_rows(world, f"Communication/{comm['id']}")
    assert (row.state, row.sender, row.recipient) == (
        outbox.QUEUED,
        f"Organization/{GP_OFFICE}",
        f"Organization/{OUTSIDE}",
    )

    # Vanylven has no messaging address yet: the failure is red at the referrer, not lost.
    world.deliver()
    [row] = outbox_rows(world, f"Communication/{comm['id']}")
    assert row.state == outbox.FAILED
    [failure] = world.tasks(focus=f"Communication/{comm['id']}")
    assert model.kind_of(failure) == model.DELIVERY_FAILURE
    assert model.owner_of(failure) == f"Organization/{GP_OFFICE}"

    # Its answer comes as a message: nobody here assesses it.
    r = assess(world, sr, world.system, outcome="rejected", reason="Feil mottaker")
    assert r.status_code == 409, r.text


def test_a_system_client_names_the_referrer_by_requester(world: World) -> None:
    patient = gp_patient(world)
    gp_role = staff(GP_OFFICE, "doctor").role_id
    body = referral_body(patient, OUTSIDE, requester=f"PractitionerRole/{gp_role}")
    r = world.system.post("/fhir/ServiceRequest", json=body)
    assert r.status_code == 201, r.text
    [task] = items(world, r.json()["id"], model.REFERRAL_ASSESSMENT)
    assert model.owner_of(task) == f"Organization/{GP_OFFICE}"


def _stored_for(world: World, patient: str) -> tuple[int, int, int]:
    srs = world.system.get("/fhir/ServiceRequest", params={"subject": f"Patient/{patient}"})
    comms = world.system.get("/fhir/Communication", params={"subject": f"Patient/{patient}"})
    tasks = world.tasks(patient=f"Patient/{patient}")
    return (len(srs.json().get("entry", ())), len(comms.json().get("entry", ())), len(tasks))


@pytest.mark.parametrize(
    "case", ["outside-without-referrer", "no-performer", "practitioner-performer", "future"]
)
def test_a_refused_referral_stores_nothing(world: World, case: str) -> None:
    patient = gp_patient(world)
    body = referral_body(patient, OUTSIDE if case == "outside-without-referrer" else CLINIC)
    if case == "no-performer":
        del body["performer"]
    elif case == "practitioner-performer":
        body["performer"] = [{"reference": f"Practitioner/{staff(CLINIC).practitioner_id}"}]
    elif case == "future":
        tomorrow = today() + timedelta(days=1)
        body["extension"] = [{"url": referral.RECEIVED_URL, "valueDate": tomorrow.isoformat()}]
    r = world.system.post("/fhir/ServiceRequest", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    assert _stored_for(world, patient) == (0, 0, 0)


def test_a_refused_referral_in_a_transaction_rolls_back_the_whole_bundle(world: World) -> None:
    patient = gp_patient(world)
    good, bad = referral_body(patient), referral_body(patient)
    del bad["performer"]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": good, "request": {"method": "POST", "url": "ServiceRequest"}},
            {"resource": bad, "request": {"method": "POST", "url": "ServiceRequest"}},
        ],
    }
    r = world.system.post("/fhir", json=bundle)
    assert r.status_code == 422, r.text
    assert _stored_for(world, patient) == (0, 0, 0)


def test_the_performer_of_an_unassessed_referral_is_not_changed_by_hand(world: World) -> None:
    sr = refer(world, gp_patient(world))
    current = world.read(f"ServiceRequest/{sr}")
    current["performer"] = [{"reference": f"Organization/{OTHER_CLINIC}"}]
    r = world.system.put(f"/fhir/ServiceRequest/{sr}", json=current)
    assert r.status_code == 422, r.text
    assert "sent-on" in r.text
    assert world.read(f"ServiceRequest/{sr}")["performer"][0]["reference"].endswith(CLINIC)


# -- assessment --------------------------------------------------------------------------------


def test_a_right_opens_the_waiting_list_and_sends_the_letters(world: World) -> None:
    patient = gp_patient(world)
    sr = refer(world, patient)
    frist = today() + timedelta(days=60)
    r = assess(world, sr, outcome="right", deadline=frist.isoformat())
    assert r.status_code == 200, r.text
    body = r.json()
    [waiting_ref] = [p["valueReference"]["reference"] for p in part(body, "waitingList")]
    letters = [p["valueReference"]["reference"] for p in part(body, "letter")]
    assert len(letters) == 2

    doctor_role = staff(CLINIC, "doctor").role_id
    [task] = items(world, sr, model.REFERRAL_ASSESSMENT)
    assert task["status"] == "completed"
    assert model.state_of(task) == referral.ASSESSED
    assert task["statusReason"]["coding"][0]["code"] == "right"
    closed_by = model.extension_value(task, model.CLOSED_BY_URL)
    assert closed_by["reference"] == f"PractitionerRole/{doctor_role}"
    assert model.extension_value(task, model.CLOSED_AT_URL)

    [waiting] = items(world, sr, model.WAITING_LIST)
    assert f"Task/{waiting['id']}" == waiting_ref
    assert model.is_open(waiting)
    assert model.owner_of(waiting) == f"Organization/{CLINIC}"
    assert model.due_of(waiting) == frist.isoformat()
    assert model.state_of(waiting) == referral.WAITING
    left = referral.clock(waiting, today())
    assert left is not None and left > 30

    stored = world.read(f"ServiceRequest/{sr}")
    assert stored["status"] == "active"
    recorded = referral.assessment_of(stored)
    assert recorded is not None
    assert recorded["outcome"]["code"] == "right"
    assert recorded["deadline"] == frist.isoformat()
    assert recorded["assessor"]["reference"] == f"PractitionerRole/{doctor_role}"

    # The letters: to the patient and a copy to the referring GP office, via the outbox.
    recipients = {}
    for letter in letters:
        comm = world.read(letter)
        assert messages.kind_of(comm) == "vurderingsbrev"
        assert comm["sender"]["reference"] == f"Organization/{CLINIC}"
        [row] = outbox_rows(world, letter)
        assert row.state == outbox.QUEUED
        recipients[comm["recipient"][0]["reference"]] = letter
    assert set(recipients) == {f"Patient/{patient}", f"Organization/{GP_OFFICE}"}
    assert "senest" in world.read(recipients[f"Patient/{patient}"])["payload"][0]["contentString"]
    world.deliver()
    for letter in letters:
        [row] = outbox_rows(world, letter)
        assert row.state == outbox.DELIVERED, row.last_error
    [copy] = world.tasks(focus=recipients[f"Organization/{GP_OFFICE}"])
    assert model.owner_of(copy) == f"Organization/{GP_OFFICE}"

    # Twice: 409, and nothing more is written.
    again = assess(world, sr, outcome="no-right", reason="Ombestemt")
    assert again.status_code == 409, again.text
    assert len(items(world, sr, model.WAITING_LIST)) == 1

    # Care starts: the entry closes only with a reason, stamped with who closed it.
    nurse = world.as_staff(staff(CLINIC, "nurse"))
    r = nurse.put(f"/fhir/Task/{waiting['id']}", json=dict(waiting, status="completed"))
    assert r.status_code == 422, r.text
    closing = dict(waiting, status="completed", statusReason={"text": "Første konsultasjon"})
    r = nurse.put(f"/fhir/Task/{waiting['id']}", json=closing)
    assert r.status_code == 200, r.text
    done = world.read(f"Task/{waiting['id']}")
    by = model.extension_value(done, model.CLOSED_BY_URL)
    assert by["reference"] == f"PractitionerRole/{staff(CLINIC, 'nurse').role_id}"


def test_start_care_closes_the_waiting_list_entry(world: World) -> None:
    sr = refer(world, gp_patient(world))
    frist = today() + timedelta(days=30)
    assert assess(world, sr, outcome="right", deadline=frist.isoformat()).status_code == 200
    doctor = world.as_staff(staff(CLINIC, "doctor"))
    gp = world.as_staff(staff(GP_OFFICE, "doctor"))
    r = gp.post(f"/fhir/ServiceRequest/{sr}/$start-care", json=params(reason="Startet"))
    assert r.status_code == 403, r.text
    r = doctor.post(
        f"/fhir/ServiceRequest/{sr}/$start-care",
        json=params(reason="Poliklinisk time", date=today().isoformat()),
    )
    assert r.status_code == 200, r.text
    [waiting] = items(world, sr, model.WAITING_LIST)
    assert waiting["status"] == "completed"
    assert model.reason_text(waiting) == "Poliklinisk time"
    assert model.extension_value(waiting, model.CLOSED_BY_URL)
    stored = world.read(f"ServiceRequest/{sr}")
    assert stored["status"] == "completed"
    recorded = referral.assessment_of(stored)
    assert recorded is not None
    assert recorded["careStarted"] == today().isoformat()
    r = doctor.post(f"/fhir/ServiceRequest/{sr}/$start-care")
    assert r.status_code == 409, r.text


@pytest.mark.parametrize(
    ("outcome", "status"), [("no-right", "completed"), ("rejected", "revoked")]
)
def test_no_right_and_rejected_close_the_referral_with_a_letter(
    world: World, outcome: str, status: str
) -> None:
    patient = gp_patient(world)
    sr = refer(world, patient)
    r = assess(world, sr, outcome=outcome)
    assert r.status_code == 400, r.text  # a reason is required
    r = assess(world, sr, outcome=outcome, reason="Kan følges opp av fastlege")
    assert r.status_code == 200, r.text
    assert part(r.json(), "waitingList") == []
    [task] = items(world, sr, model.REFERRAL_ASSESSMENT)
    assert task["status"] == "completed"
    assert model.reason_text(task) == "Kan følges opp av fastlege"
    assert items(world, sr, model.WAITING_LIST) == []
    stored = world.read(f"ServiceRequest/{sr}")
    assert stored["status"] == status
    letters = [p["valueReference"]["reference"] for p in part(r.json(), "letter")]
    texts = [world.read(letter)["payload"][0]["contentString"] for letter in letters]
    assert len(letters) == 2
    assert all("Statsforvalteren" in t and "fastlege" in t for t in texts)


def test_sent_on_makes_a_new_referral_with_its_own_clock(world: World) -> None:
    patient = gp_patient(world)
    sr = refer(world, patient, received=today() - timedelta(days=7))
    r = assess(world, sr, outcome="sent-on", reason="Hører til medisinsk poliklinikk")
    assert r.status_code == 400, r.text  # sentOnTo is required
    r = assess(
        world, sr, outcome="sent-on", reason="Feil enhet", sentOnTo="Organization/no-such-unit"
    )
    assert r.status_code == 422, r.text
    r = assess(
        world,
        sr,
        outcome="sent-on",
        reason="Hører til medisinsk poliklinikk",
        sentOnTo=f"Organization/{OTHER_CLINIC}",
    )
    assert r.status_code == 200, r.text
    [new_ref] = [p["valueReference"]["reference"] for p in part(r.json(), "newReferral")]
    assert world.read(f"ServiceRequest/{sr}")["status"] == "completed"
    onward = world.read(new_ref)
    assert onward["performer"][0]["reference"] == f"Organization/{OTHER_CLINIC}"
    assert onward["replaces"] == [{"reference": f"ServiceRequest/{sr}"}]
    assert onward["status"] == "active"
    assert referral.assessment_of(onward) is None
    [task] = items(world, new_ref.split("/")[1], model.REFERRAL_ASSESSMENT)
    assert model.owner_of(task) == f"Organization/{OTHER_CLINIC}"
    assert referral.received_of(task) == today().isoformat()  # its clock starts now
    assert model.due_of(task) == add_working_days(today(), 10).isoformat()


@pytest.mark.parametrize(
    ("values", "status"),
    [
        ({"outcome": "maybe", "reason": "?"}, 400),
        ({"outcome": "right"}, 400),
        ({"outcome": "right", "deadline": "snart"}, 400),
        ({"outcome": "right", "deadline": "TODAY"}, 422),
        ({"reason": "uten utfall"}, 400),
    ],
)
def test_bad_assessments_are_refused_and_change_nothing(
    world: World, values: dict[str, str], status: int
) -> None:
    sr = refer(world, gp_patient(world))
    if values.get("deadline") == "TODAY":
        values = dict(values, deadline=today().isoformat())
    r = assess(world, sr, **values)
    assert r.status_code == status, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    [task] = items(world, sr, model.REFERRAL_ASSESSMENT)
    assert model.is_open(task)
    assert referral.assessment_of(world.read(f"ServiceRequest/{sr}")) is None


def test_only_a_doctor_of_the_receiving_unit_assesses(world: World) -> None:
    sr = refer(world, gp_patient(world))
    frist = (today() + timedelta(days=40)).isoformat()
    gp = world.as_staff(staff(GP_OFFICE, "doctor"))  # sees the referral: not theirs to assess
    assert assess(world, sr, gp, outcome="right", deadline=frist).status_code == 403
    nurse = world.as_staff(staff(CLINIC, "nurse"))
    assert assess(world, sr, nurse, outcome="right", deadline=frist).status_code == 403
    stranger = world.as_staff(staff(OTHER_CLINIC, "doctor"))  # no care relation
    assert assess(world, sr, stranger, outcome="right", deadline=frist).status_code == 404
    [task] = items(world, sr, model.REFERRAL_ASSESSMENT)
    assert model.is_open(task)
    assert items(world, sr, model.WAITING_LIST) == []
    # A system client may (an integration recording the assessment).
    assert assess(world, sr, world.system, outcome="right", deadline=frist).status_code == 200


# -- clocks and breaches -----------------------------------------------------------------------


def test_clock_counts_working_days_left() -> None:
    task = model.work_item(
        model.REFERRAL_ASSESSMENT,
        owner="Organization/x",
        patient=None,
        focus=None,
        authored="2026-12-18T10:00:00+01:00",
        due="2027-01-05",
    )
    assert referral.clock(task, date(2026, 12, 18)) == 10
    assert referral.clock(task, date(2027, 1, 5)) == 0
    assert referral.clock(task, date(2027, 1, 7)) == -2
    del task["restriction"]
    assert referral.clock(task, date(2027, 1, 7)) is None


def test_the_breach_report_lists_late_and_near_clocks(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = gp_patient(world)
    late = refer(world, patient, received=today() - timedelta(days=30))
    # A referral whose clock has one or two working days left.
    near_received = next(
        d
        for d in (today() - timedelta(days=n) for n in range(1, 30))
        if 1 <= working_days_between(today(), referral.assessment_due(d, "routine")) <= 2
    )
    near = refer(world, patient, received=near_received)
    fresh = refer(world, patient)

    r = world.system.get("/fhir/ServiceRequest/$breaches", params={"unit": CLINIC})
    assert r.status_code == 200, r.text
    found = {}
    for p in r.json()["parameter"]:
        values = {q["name"]: q for q in p["part"]}
        found[values["referral"]["valueReference"]["reference"]] = values
    assert found[f"ServiceRequest/{late}"]["status"]["valueCode"] == "breached"
    assert found[f"ServiceRequest/{late}"]["workingDaysLeft"]["valueInteger"] < 0
    assert found[f"ServiceRequest/{late}"]["clock"]["valueCode"] == "assessment"
    assert found[f"ServiceRequest/{near}"]["status"]["valueCode"] == "near"
    assert f"ServiceRequest/{fresh}" not in found
    assert {v["unit"]["valueReference"]["reference"] for v in found.values()} == {
        f"Organization/{CLINIC}"
    }

    # The unit's own staff see it; another unit's may not ask for it.
    doctor = world.as_staff(staff(CLINIC, "doctor"))
    r = doctor.get("/fhir/ServiceRequest/$breaches")
    assert r.status_code == 200, r.text
    assert f"ServiceRequest/{late}" in r.text
    other = world.as_staff(staff(OTHER_CLINIC, "doctor"))
    assert other.get("/fhir/ServiceRequest/$breaches", params={"unit": CLINIC}).status_code == 403
    assert world.system.get("/fhir/ServiceRequest/$breaches?near=x").status_code == 400

    # A waiting-list entry near its frist is on the start-of-care clock.
    frist = add_working_days(today(), 1)
    assert assess(world, near, outcome="right", deadline=frist.isoformat()).status_code == 200
    rows = referral.breaches(world.repo, unit=CLINIC)
    [start] = [b for b in rows if b.referral == f"ServiceRequest/{near}"]
    assert start.clock == referral.START_CLOCK
    assert start.days_left == 1

    # The same report on the command line (in process: the subprocess is tested below).
    monkeypatch.setenv("FELLESJOURNAL_DATABASE_URL", world.settings.database_url)
    done = CliRunner().invoke(cli_app, ["referrals", "breaches", "--unit", CLINIC])
    assert done.exit_code == 0, done.output
    [line] = [x for x in done.stdout.splitlines() if late in x]
    assert "BREACHED" in line and CLINIC not in line  # the unit by name


# -- the invariant -----------------------------------------------------------------------------


def _cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FELLESJOURNAL_DATABASE_URL": world.settings.database_url,
        "FELLESJOURNAL_ALLOW_TEST_IDENTITIES": "true",
    }
    return subprocess.run(
        [str(CLI), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_queues_check_passes_on_the_world(world: World) -> None:
    refer(world, gp_patient(world))
    done = _cli(world, "queues", "check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_queues_check_names_a_referral_without_its_items(isolated: World) -> None:
    patient = isolated.patient(gp=staff(GP_OFFICE, "doctor"))
    history = isolated.repo.historical()  # loading history: no workflows run
    orphan = referral_body(patient)
    orphan["id"] = "orphan-referral"
    assessed = referral_body(patient)
    assessed["id"] = "assessed-without-waiting-list"
    assessed["extension"] = [
        {
            "url": referral.ASSESSMENT_URL,
            "extension": [
                {
                    "url": "outcome",
                    "valueCoding": {"system": referral.OUTCOME_SYSTEM, "code": "right"},
                },
                {"url": "deadline", "valueDate": "2026-12-01"},
            ],
        }
    ]
    item = model.work_item(
        model.REFERRAL_ASSESSMENT,
        owner=f"Organization/{CLINIC}",
        patient=f"Patient/{patient}",
        focus="ServiceRequest/assessed-without-waiting-list",
        authored="2026-01-05T10:00:00+01:00",
    )
    item["id"] = "assessed-item"
    with history.writing() as tx:
        history.apply_many(
            tx,
            [WriteOp("PUT", r["resourceType"], r["id"], r) for r in (orphan, assessed, item)],
        )
    codes = {(v.reference, v.code) for v in isolated.violations()}
    assert codes == {
        ("ServiceRequest/orphan-referral", "referral-without-assessment"),
        ("ServiceRequest/assessed-without-waiting-list", "right-without-waiting-list"),
    }
    done = _cli(isolated, "queues", "check")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ServiceRequest/orphan-referral" in done.stdout
    assert "referral-without-assessment" in done.stdout
