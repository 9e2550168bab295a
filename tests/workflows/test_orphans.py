"""A record without a patient (a result with no subject) is patient data all the same:
only the unit whose queue holds its work item sees it, and nobody writes one unseen."""

from __future__ import annotations

from fellesjournal.workflows import model
from tests.workflows.conftest import World, staff

OTHER = "stolav-nevro-sengepost"


def _report_without_subject(world: World) -> str:
    body = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "Hemoglobin"},
        "conclusion": "Hb 9,1 — Kari Testesen",
    }
    r = world.system.post("/fhir/DiagnosticReport", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_only_the_error_queue_sees_a_result_without_a_patient(world: World) -> None:
    report = _report_without_subject(world)
    [item] = world.tasks(focus=f"DiagnosticReport/{report}")
    assert model.kind_of(item) == model.RESULT_UNMATCHED
    queue_unit = (model.owner_of(item) or "").split("/", 1)[1]
    insider = world.as_staff(staff(queue_unit, "doctor"))
    outsider = world.as_staff(staff(OTHER, "doctor"))

    assert insider.get(f"/fhir/DiagnosticReport/{report}").status_code == 200
    assert insider.get(f"/fhir/Task/{item['id']}").status_code == 200
    assert outsider.get(f"/fhir/DiagnosticReport/{report}").status_code == 404
    assert outsider.get(f"/fhir/Task/{item['id']}").status_code == 404
    found = outsider.get("/fhir/DiagnosticReport", params={"_id": report}).json()
    assert found.get("total", 0) == 0 and not found.get("entry")
    listed = insider.get("/fhir/Task", params={"_id": item["id"]}).json()
    assert [e["resource"]["id"] for e in listed.get("entry", [])] == [item["id"]]
    # Settle the item, so the shared world's invariant holds for the tests after.
    closed = dict(item, status="cancelled", statusReason={"text": "Testsvar"})
    assert insider.put(f"/fhir/Task/{item['id']}", json=closed).status_code == 200


def test_a_health_worker_cannot_write_a_record_nobody_could_see(world: World) -> None:
    doctor = world.as_staff(staff(OTHER, "doctor"))
    body = {"resourceType": "Observation", "status": "final", "code": {"text": "Puls"}}
    r = doctor.post("/fhir/Observation", json=body)
    assert r.status_code == 403, r.text
    assert "patient" in r.text
