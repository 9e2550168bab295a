"""Results to acknowledge: every result reaches the orderer's unit, or the monitored error
queue; acknowledging closes it with an actor and a reason; corrections come back."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fellesjournal.norway.workdays import add_working_days
from fellesjournal.workflows import model, queues, results
from fellesjournal.workflows.reactions import WORKFLOW_ACTOR
from tests.workflows.conftest import REGION, World, staff

WARD = "stolav-hjerte-sengepost"
UNRELATED = "stolav-nevro-sengepost"
ERROR_QUEUE = "stolav-akuttmottak"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
INTERPRETATION = results.INTERPRETATION_SYSTEM
ACK = f"{model.CODE_SYSTEM}|{model.RESULT_ACKNOWLEDGEMENT}"
UNMATCHED = f"{model.CODE_SYSTEM}|{model.RESULT_UNMATCHED}"
_serial = itertools.count(1)


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Europe/Oslo")).date()


def _role(member_staff: Any) -> str:
    return f"PractitionerRole/{member_staff.role_id}"


def order(world: World, patient: str, requester: str, priority: str = "routine") -> str:
    """A lab order (ServiceRequest, category laboratory procedure) placed by ``requester``."""
    body = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "priority": priority,
        "category": [
            {"coding": [{"system": SNOMED, "code": "108252007", "display": "Laboratory procedure"}]}
        ],
        "code": {"coding": [{"system": LOINC, "code": "718-7", "display": "Hemoglobin"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "requester": {"reference": requester},
        "authoredOn": "2026-11-26T08:00:00+01:00",
    }
    r = world.system.post("/fhir/ServiceRequest", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def report(
    patient: str | None,
    order_id: str | None,
    *,
    status: str = "final",
    conclusion: str | None = None,
    observation_interpretation: str | None = None,
    value: float = 13.9,
) -> dict[str, Any]:
    """A lab's DiagnosticReport on ``order_id`` for ``patient`` (None leaves either out)."""
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "hb",
        "status": status if status != "appended" else "final",
        "code": {"coding": [{"system": LOINC, "code": "718-7", "display": "Hemoglobin"}]},
        "valueQuantity": {"value": value, "unit": "g/dL"},
    }
    if observation_interpretation:
        obs["interpretation"] = [
            {"coding": [{"system": INTERPRETATION, "code": observation_interpretation}]}
        ]
    body: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "status": status,
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}
        ],
        "code": {"coding": [{"system": LOINC, "code": "718-7", "display": "Hemoglobin"}]},
        "issued": "2026-11-26T10:00:00+01:00",
        "identifier": [{"system": "urn:test:lab", "value": f"r{next(_serial)}"}],
        "contained": [obs],
        "result": [{"reference": "#hb"}],
    }
    if patient:
        body["subject"] = {"reference": f"Patient/{patient}"}
    if order_id:
        body["basedOn"] = [{"reference": f"ServiceRequest/{order_id}"}]
    if conclusion:
        body["conclusionCode"] = [{"coding": [{"system": INTERPRETATION, "code": conclusion}]}]
    return body


def post(world: World, body: dict[str, Any]) -> str:
    r = world.system.post(f"/fhir/{body['resourceType']}", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def put(world: World, res_type: str, res_id: str, body: dict[str, Any]) -> None:
    r = world.system.put(f"/fhir/{res_type}/{res_id}", json={**body, "id": res_id})
    assert r.status_code == 200, r.text


def items(world: World, reference: str, code: str = ACK) -> list[dict[str, Any]]:
    found = world.tasks(focus=reference, code=code)
    return sorted(found, key=lambda t: (t["authoredOn"], t["meta"]["lastUpdated"]))


def open_items(world: World, reference: str, code: str = ACK) -> list[dict[str, Any]]:
    return [t for t in items(world, reference, code) if model.is_open(t)]


def acknowledge(client: Any, reference: str, comment: str | None = None) -> Any:
    body: dict[str, Any] = {"resourceType": "Parameters", "parameter": []}
    if comment:
        body["parameter"].append({"name": "comment", "valueString": comment})
    return client.post(f"/fhir/{reference}/$acknowledge", json=body)


def lab_result(world: World, **kwargs: Any) -> tuple[str, str, str]:
    """A patient, an order by the ward's doctor and the lab's report on it: the ids."""
    patient = world.patient()
    order_id = order(world, patient, _role(staff(WARD, "doctor")))
    report_id = post(world, report(patient, order_id, **kwargs))
    return patient, order_id, report_id


# -- matched results --------------------------------------------------------------------------


def test_a_lab_result_lands_at_the_ordering_unit_with_the_orderer_as_assignee(
    world: World,
) -> None:
    doctor = staff(WARD, "doctor")
    patient = world.patient()
    order_id = order(world, patient, _role(doctor))
    ward_doctor = world.as_staff(doctor)
    # The order alone gives the ward no access (a lab order is no referral to the ward).
    assert ward_doctor.get(f"/fhir/ServiceRequest/{order_id}").status_code == 404

    report_id = post(world, report(patient, order_id))
    [task] = items(world, f"DiagnosticReport/{report_id}")
    assert model.owner_of(task) == f"Organization/{WARD}"
    assert model.assignee_of(task) == _role(doctor)
    assert task["for"]["reference"] == f"Patient/{patient}"
    assert task["status"] == "requested" and model.state_of(task) == results.RECEIVED
    assert task["priority"] == "routine"
    assert (
        model.due_of(task) == add_working_days(_today(), results.ROUTINE_WORKING_DAYS).isoformat()
    )
    assert (
        "Hemoglobin" in task["description"] and f"ServiceRequest/{order_id}" in task["description"]
    )
    assert world.tasks(focus=f"DiagnosticReport/{report_id}", code=UNMATCHED) == []

    # The ward's doctor opens the item, the result and the order through the work item...
    r = ward_doctor.get(f"/fhir/Task/{task['id']}")
    assert r.status_code == 200, r.text
    assert ward_doctor.get(f"/fhir/DiagnosticReport/{report_id}").status_code == 200
    assert ward_doctor.get(f"/fhir/ServiceRequest/{order_id}").status_code == 200
    queue = ward_doctor.get(
        "/fhir/Task", params={"owner": f"Organization/{WARD}", "code": ACK, "_count": "500"}
    ).json()
    assert task["id"] in {e["resource"]["id"] for e in queue.get("entry", ())}
    mine = ward_doctor.get("/fhir/Task", params={"assignee": _role(doctor), "_count": "500"})
    assert task["id"] in {e["resource"]["id"] for e in mine.json().get("entry", ())}
    # ... a doctor at an unrelated unit sees neither.
    other = world.as_staff(staff(UNRELATED, "doctor"))
    assert other.get(f"/fhir/Task/{task['id']}").status_code == 404
    assert other.get(f"/fhir/DiagnosticReport/{report_id}").status_code == 404


def test_the_unit_owns_the_result_when_the_orderer_has_left(world: World) -> None:
    doctor = staff(WARD, "doctor")
    role = {
        "resourceType": "PractitionerRole",
        "active": True,
        "practitioner": {"reference": f"Practitioner/{doctor.practitioner_id}"},
        "organization": {"reference": f"Organization/{WARD}"},
        "code": [
            {
                "coding": [
                    {
                        "system": "https://fellesjournal.no/fhir/CodeSystem/work-role",
                        "code": "doctor",
                    }
                ]
            }
        ],
    }
    role_id = post(world, role)
    patient = world.patient()
    order_id = order(world, patient, f"PractitionerRole/{role_id}")
    put(world, "PractitionerRole", role_id, {**role, "active": False})

    report_id = post(world, report(patient, order_id))
    [task] = items(world, f"DiagnosticReport/{report_id}")
    assert model.owner_of(task) == f"Organization/{WARD}"
    assert model.assignee_of(task) is None


def test_an_order_from_a_unit_itself_is_the_units(world: World) -> None:
    patient = world.patient()
    order_id = order(world, patient, f"Organization/{WARD}")
    report_id = post(world, report(patient, order_id))
    [task] = items(world, f"DiagnosticReport/{report_id}")
    assert model.owner_of(task) == f"Organization/{WARD}"
    assert model.assignee_of(task) is None


@pytest.mark.parametrize(
    ("kwargs", "priority", "label"),
    [
        ({"conclusion": "H"}, "urgent", "Avvikende"),
        ({"observation_interpretation": "L"}, "urgent", "Avvikende"),
        ({"observation_interpretation": "HH"}, "stat", "Kritisk"),
        ({"conclusion": "N"}, "routine", "Nytt"),
    ],
)
def test_abnormal_and_critical_results_are_due_the_same_day(
    world: World, kwargs: dict[str, Any], priority: str, label: str
) -> None:
    _patient, _order, report_id = lab_result(world, **kwargs)
    [task] = items(world, f"DiagnosticReport/{report_id}")
    assert task["priority"] == priority
    assert task["description"].startswith(label)
    routine = add_working_days(_today(), results.ROUTINE_WORKING_DAYS).isoformat()
    assert model.due_of(task) == (routine if priority == "routine" else _today().isoformat())


def test_an_urgent_order_and_an_ordered_observation_are_due_the_same_day(world: World) -> None:
    doctor = _role(staff(WARD, "doctor"))
    patient = world.patient()
    stat_order = order(world, patient, doctor, priority="stat")
    report_id = post(world, report(patient, stat_order))
    [task] = items(world, f"DiagnosticReport/{report_id}")
    assert (task["priority"], model.due_of(task)) == ("stat", _today().isoformat())

    # An individually ordered Observation is a result of its own.
    routine_order = order(world, patient, doctor)
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "basedOn": [{"reference": f"ServiceRequest/{routine_order}"}],
        "code": {"coding": [{"system": LOINC, "code": "2823-3", "display": "Kalium"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "valueQuantity": {"value": 6.4, "unit": "mmol/L"},
        "interpretation": [{"coding": [{"system": INTERPRETATION, "code": "H"}]}],
    }
    obs_id = post(world, obs)
    [task] = items(world, f"Observation/{obs_id}")
    assert model.owner_of(task) == f"Organization/{WARD}"
    assert (task["priority"], model.due_of(task)) == ("urgent", _today().isoformat())


def test_vital_signs_charted_on_the_ward_are_not_results(world: World) -> None:
    patient = world.patient()
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": "8867-4", "display": "Heart rate"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "valueQuantity": {"value": 72, "unit": "/min"},
    }
    obs_id = post(world, obs)
    assert world.tasks(focus=f"Observation/{obs_id}") == []


def test_an_observation_in_a_report_is_acknowledged_through_the_report(world: World) -> None:
    patient = world.patient()
    order_id = order(world, patient, _role(staff(WARD, "doctor")))
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "basedOn": [{"reference": f"ServiceRequest/{order_id}"}],
        "code": {"coding": [{"system": LOINC, "code": "718-7"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "valueQuantity": {"value": 7.1, "unit": "g/dL"},
        "interpretation": [{"coding": [{"system": INTERPRETATION, "code": "LL"}]}],
    }
    body = report(patient, order_id)
    del body["contained"]
    body["result"] = [{"reference": "urn:uuid:5b0e7f1c-0000-4000-8000-000000000001"}]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:5b0e7f1c-0000-4000-8000-000000000001",
                "resource": obs,
                "request": {"method": "POST", "url": "Observation"},
            },
            {"resource": body, "request": {"method": "POST", "url": "DiagnosticReport"}},
        ],
    }
    r = world.system.post("/fhir", json=bundle)
    assert r.status_code == 200, r.text
    obs_id, report_id = (e["response"]["location"].split("/")[1] for e in r.json()["entry"])
    assert world.tasks(focus=f"Observation/{obs_id}") == []
    [task] = items(world, f"DiagnosticReport/{report_id}")
    assert task["priority"] == "stat"  # the critical value in the report's observation


def test_loading_history_creates_no_item(world: World) -> None:
    patient = world.patient()
    order_id = order(world, patient, _role(staff(WARD, "doctor")))
    stored = world.repo.historical().create("DiagnosticReport", report(patient, order_id)).stored
    assert world.tasks(focus=f"DiagnosticReport/{stored.res_id}") == []
    orphan = world.repo.historical().create("DiagnosticReport", report(None, None)).stored
    assert world.tasks(focus=f"DiagnosticReport/{orphan.res_id}") == []


def test_a_health_workers_own_report_without_an_order_is_no_item(world: World) -> None:
    doctor = staff(WARD, "doctor")
    patient = world.patient()
    # An admission gives the ward its care relation; the doctor writes an ECG report.
    post(
        world,
        {
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "IMP",
            },
            "subject": {"reference": f"Patient/{patient}"},
            "serviceProvider": {"reference": f"Organization/{WARD}"},
            "period": {"start": "2026-11-26T08:00:00+01:00"},
        },
    )
    body = report(patient, None)
    r = world.as_staff(doctor).post("/fhir/DiagnosticReport", json=body)
    assert r.status_code == 201, r.text
    assert world.tasks(focus=f"DiagnosticReport/{r.json()['id']}") == []


# -- the error queue --------------------------------------------------------------------------


def _unmatched_cases(world: World) -> dict[str, tuple[dict[str, Any], str | None, list[str]]]:
    """Results that match nothing: (body, the patient the item is for, words it says)."""
    doctor = _role(staff(WARD, "doctor"))
    patient = world.patient()
    other = world.patient()
    good = order(world, patient, doctor)
    others_order = order(world, other, doctor)
    non_member = next(u for u in REGION.units() if u.id == "kommune-1511-hjemmetjeneste")
    outside = order(world, patient, _role(non_member.staff[0]))
    return {
        "no subject": (report(None, good), None, ["mangler pasient (subject)"]),
        "unknown patient": (
            report("no-such-patient", good),
            None,
            ["Patient/no-such-patient finnes ikke"],
        ),
        "unknown order": (
            report(patient, "no-such-order"),
            patient,
            ["ServiceRequest/no-such-order finnes ikke"],
        ),
        "no order": (report(patient, None), patient, ["mangler rekvisisjon (basedOn)"]),
        "another patient's order": (
            report(patient, others_order),
            patient,
            [f"ServiceRequest/{others_order} gjelder Patient/{other}"],
        ),
        "requester outside the shared record": (
            report(patient, outside),
            patient,
            ["kommune-1511-hjemmetjeneste", "ikke aktivt medlem"],
        ),
    }


def test_results_that_match_nothing_go_to_the_monitored_error_queue(world: World) -> None:
    assert world.settings.result_error_queue_unit == ERROR_QUEUE
    desk = world.as_staff(staff(ERROR_QUEUE, "secretary"))
    for case, (body, patient, words) in _unmatched_cases(world).items():
        report_id = post(world, body)
        reference = f"DiagnosticReport/{report_id}"
        assert items(world, reference) == [], case
        [task] = items(world, reference, UNMATCHED)
        assert model.owner_of(task) == f"Organization/{ERROR_QUEUE}", case
        assert task["priority"] == "urgent" and model.due_of(task) == _today().isoformat()
        assert model.state_of(task) == results.UNMATCHED
        for word in words:
            assert word in task["description"], (case, task["description"])
        assert reference in task["description"]
        if patient:
            assert task["for"]["reference"] == f"Patient/{patient}", case
        else:
            assert "for" not in task, case
        # The error queue's staff see it in their queue.
        r = desk.get(
            "/fhir/Task",
            params={"owner": f"Organization/{ERROR_QUEUE}", "code": UNMATCHED, "_count": "1000"},
        )
        assert r.status_code == 200, r.text
        assert task["id"] in {e["resource"]["id"] for e in r.json().get("entry", ())}, case
    summary = {
        (q.unit_id, q.kind): q for q in queues.dashboard(world.repo) if q.unit_id == ERROR_QUEUE
    }
    assert summary[(ERROR_QUEUE, model.RESULT_UNMATCHED)].monitored
    assert summary[(ERROR_QUEUE, model.RESULT_UNMATCHED)].open >= 6


def test_an_ordered_observation_for_an_unknown_order_goes_to_the_error_queue(
    world: World,
) -> None:
    patient = world.patient()
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "basedOn": [{"reference": "ServiceRequest/never-ordered"}],
        "code": {"coding": [{"system": LOINC, "code": "2823-3"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "valueQuantity": {"value": 4.1, "unit": "mmol/L"},
    }
    obs_id = post(world, obs)
    [task] = items(world, f"Observation/{obs_id}", UNMATCHED)
    assert "ServiceRequest/never-ordered finnes ikke" in task["description"]


def test_the_error_queue_matches_a_result_to_its_order(world: World) -> None:
    doctor = staff(WARD, "doctor")
    patient = world.patient()
    order_id = order(world, patient, _role(doctor))
    body = report(patient, "lost-order")
    report_id = post(world, body)
    reference = f"DiagnosticReport/{report_id}"
    [unmatched] = items(world, reference, UNMATCHED)

    # The error queue's doctor opens the result (through the item) and names the order.
    desk_doctor = staff(ERROR_QUEUE, "doctor")
    desk = world.as_staff(desk_doctor)
    current = desk.get(f"/fhir/{reference}")
    assert current.status_code == 200, current.text
    fixed = {**current.json(), "basedOn": [{"reference": f"ServiceRequest/{order_id}"}]}
    r = desk.put(f"/fhir/{reference}", json=fixed)
    assert r.status_code == 200, r.text

    closed = world.read(f"Task/{unmatched['id']}")
    assert closed["status"] == "completed" and model.state_of(closed) == results.MATCHED
    assert f"ServiceRequest/{order_id}" in closed["statusReason"]["text"]
    assert desk_doctor.family in closed["statusReason"]["text"]
    assert model.extension_value(closed, model.CLOSED_AT_URL)
    by = model.extension_value(closed, model.CLOSED_BY_URL)
    assert WORKFLOW_ACTOR.subject in str(by)
    [task] = open_items(world, reference)
    assert model.owner_of(task) == f"Organization/{WARD}"
    assert model.assignee_of(task) == _role(doctor)


def test_the_error_queue_matches_a_result_without_a_patient(world: World) -> None:
    doctor = staff(WARD, "doctor")
    patient = world.patient()
    order_id = order(world, patient, _role(doctor))
    report_id = post(world, report(None, order_id))
    reference = f"DiagnosticReport/{report_id}"
    [unmatched] = items(world, reference, UNMATCHED)
    assert "for" not in unmatched

    desk = world.as_staff(staff(ERROR_QUEUE, "doctor"))
    current = desk.get(f"/fhir/{reference}").json()
    fixed = {**current, "subject": {"reference": f"Patient/{patient}"}}
    # The item about the result is the desk's tie to the patient: attach it to the patient
    # and correct the result in one transaction.
    task = {**unmatched, "for": {"reference": f"Patient/{patient}"}}
    del task["meta"]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": task, "request": {"method": "PUT", "url": f"Task/{task['id']}"}},
            {"resource": fixed, "request": {"method": "PUT", "url": reference}},
        ],
    }
    r = desk.post("/fhir", json=bundle)
    assert r.status_code == 200, r.text

    closed = world.read(f"Task/{unmatched['id']}")
    assert closed["status"] == "completed" and model.state_of(closed) == results.MATCHED
    [ack] = open_items(world, reference)
    assert model.owner_of(ack) == f"Organization/{WARD}"
    assert ack["for"]["reference"] == f"Patient/{patient}"


def test_a_result_still_unmatched_after_a_change_keeps_one_item_saying_why(world: World) -> None:
    patient = world.patient()
    body = report(None, "lost")
    report_id = post(world, body)
    reference = f"DiagnosticReport/{report_id}"
    put(world, "DiagnosticReport", report_id, {**report(patient, "still-lost"), "id": report_id})
    [task] = items(world, reference, UNMATCHED)
    assert model.is_open(task)
    assert "ServiceRequest/still-lost finnes ikke" in task["description"]
    assert task["for"]["reference"] == f"Patient/{patient}"
    assert "kan fortsatt ikke kobles" in task["note"][-1]["text"]


# -- acknowledging ----------------------------------------------------------------------------


def test_acknowledging_closes_the_item_with_the_actor_time_and_reason(world: World) -> None:
    doctor = staff(WARD, "doctor")
    _patient, _order, report_id = lab_result(world)
    reference = f"DiagnosticReport/{report_id}"
    ward_doctor = world.as_staff(doctor)

    other = world.as_staff(staff(UNRELATED, "doctor"))
    assert acknowledge(other, reference).status_code == 404
    assert ward_doctor.get(f"/fhir/{reference}/$acknowledge").status_code == 405
    bad = ward_doctor.post(
        f"/fhir/{reference}/$acknowledge",
        json={"resourceType": "Parameters", "parameter": [{"name": "comment"}]},
    )
    assert bad.status_code == 400, bad.text
    assert open_items(world, reference)  # nothing closed by the refused calls

    r = acknowledge(ward_doctor, reference, "Normal Hb, ingen tiltak")
    assert r.status_code == 200, r.text
    [part] = r.json()["parameter"]
    task = world.read(f"Task/{part['resource']['id']}")
    assert task["status"] == "completed" and model.state_of(task) == results.ACKNOWLEDGED
    assert model.reason_text(task) == results.ACKNOWLEDGE_REASON
    by = model.extension_value(task, model.CLOSED_BY_URL)
    assert by["reference"] == _role(doctor)
    assert model.extension_value(task, model.CLOSED_AT_URL)
    assert task["note"][-1]["text"] == "Normal Hb, ingen tiltak"
    assert open_items(world, reference) == []

    again = acknowledge(ward_doctor, reference)
    assert again.status_code == 409, again.text
    assert again.json()["resourceType"] == "OperationOutcome"


def test_a_plain_task_update_acknowledges_too(world: World) -> None:
    _patient, _order, report_id = lab_result(world)
    reference = f"DiagnosticReport/{report_id}"
    [task] = open_items(world, reference)
    nurse = world.as_staff(staff(WARD, "nurse"))
    r = nurse.put(
        f"/fhir/Task/{task['id']}",
        json={**task, "status": "completed", "statusReason": {"text": "Sett og vurdert"}},
    )
    assert r.status_code == 200, r.text
    closed = world.read(f"Task/{task['id']}")
    assert model.extension_value(closed, model.CLOSED_BY_URL)["reference"] == _role(
        staff(WARD, "nurse")
    )


def test_a_correction_after_acknowledgement_opens_a_new_item(world: World) -> None:
    patient, order_id, report_id = lab_result(world, status="preliminary")
    reference = f"DiagnosticReport/{report_id}"
    doctor = world.as_staff(staff(WARD, "doctor"))

    # While the item is open, the final result joins it (a note), no second item.
    put(world, "DiagnosticReport", report_id, report(patient, order_id, status="final"))
    [task] = items(world, reference)
    assert model.is_open(task) and "final" in task["note"][-1]["text"]

    assert acknowledge(doctor, reference).status_code == 200
    # The lab sends the same final result again: nothing new to see.
    put(world, "DiagnosticReport", report_id, report(patient, order_id, status="final"))
    assert open_items(world, reference) == []

    # A correction after the acknowledgement: the clinician must see it.
    put(
        world,
        "DiagnosticReport",
        report_id,
        report(patient, order_id, status="corrected", value=8.2, observation_interpretation="L"),
    )
    first, second = items(world, reference)
    assert first["status"] == "completed"  # the acknowledgement stands, with its stamps
    assert model.extension_value(first, model.CLOSED_BY_URL)
    assert model.is_open(second) and model.state_of(second) == results.REVISED
    assert model.due_of(second) == _today().isoformat()
    assert second["priority"] == "urgent"
    assert "corrected" in second["description"]
    assert acknowledge(doctor, reference).status_code == 200


def test_a_withdrawn_result_closes_nothing_and_reaches_whoever_acknowledged_it(
    world: World,
) -> None:
    doctor = world.as_staff(staff(WARD, "doctor"))
    # Withdrawn while the item is open: the item stays open, with a note.
    patient, order_id, report_id = lab_result(world)
    reference = f"DiagnosticReport/{report_id}"
    put(world, "DiagnosticReport", report_id, report(patient, order_id, status="entered-in-error"))
    [task] = items(world, reference)
    assert model.is_open(task)
    assert "trukket tilbake (entered-in-error)" in task["note"][-1]["text"]
    assert acknowledge(doctor, reference).status_code == 200

    # Withdrawn after acknowledgement: a new item, due today.
    patient, order_id, report_id = lab_result(world)
    reference = f"DiagnosticReport/{report_id}"
    assert acknowledge(doctor, reference).status_code == 200
    put(world, "DiagnosticReport", report_id, report(patient, order_id, status="entered-in-error"))
    [new] = open_items(world, reference)
    assert model.state_of(new) == results.WITHDRAWN_STATE
    assert model.due_of(new) == _today().isoformat()
    assert model.assignee_of(new) == _role(staff(WARD, "doctor"))
    assert acknowledge(doctor, reference).status_code == 200

    # A result entered in error from the start was never a result.
    report_id = post(world, report(patient, order_id, status="entered-in-error"))
    assert world.tasks(focus=f"DiagnosticReport/{report_id}") == []


def test_a_cancelled_analysis_reaches_the_orderer(world: World) -> None:
    _patient, _order, report_id = lab_result(world, status="cancelled")
    [task] = items(world, f"DiagnosticReport/{report_id}")
    assert task["description"].startswith("Analysen ble ikke utført")


def test_an_unacknowledged_result_ages_and_is_escalated(world: World) -> None:
    _patient, _order, report_id = lab_result(world, conclusion="H")
    [task] = open_items(world, f"DiagnosticReport/{report_id}")
    assert model.due_of(task) == _today().isoformat()
    tomorrow = dt.datetime.combine(_today() + dt.timedelta(days=1), dt.time(12), dt.UTC)
    assert queues.escalate(world.repo, now=tomorrow) >= 1
    escalated = world.read(f"Task/{task['id']}")
    assert model.ESCALATED_TAG["code"] in {t["code"] for t in escalated["meta"].get("tag", ())}
    assert model.is_open(escalated)  # escalation keeps it in the ward's queue
    [row] = [
        q
        for q in queues.dashboard(world.repo, tomorrow)
        if q.unit_id == WARD and q.kind == model.RESULT_ACKNOWLEDGEMENT
    ]
    assert row.overdue >= 1 and row.escalated >= 1
    age = row.age_days(tomorrow)
    assert age is not None and age > 0.5
    assert acknowledge(world.as_staff(staff(WARD, "doctor")), f"DiagnosticReport/{report_id}")
