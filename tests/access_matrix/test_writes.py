"""Writes: the role decides the types, the care relation the record; checked before the
change (the current version must be visible) and after it (the writer must be able to
see what they wrote). Every refusal is logged with outcome 4 and leaves nothing behind.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.audit import events as ev
from fellesjournal.audit import log
from tests.access_matrix.paths import check_view, entries, glance
from tests.access_matrix.world import PSY, Caller, Record, World
from tests.conftest import settle_audit


def observation(rec: Record, text: str, *labels: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": text},
        "subject": {"reference": rec.patient},
    }
    if labels:
        body["meta"] = {"security": list(labels)}
    return body


def encounter(world: World, rec: Record, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": rec.patient},
        "serviceProvider": {"reference": world.unit_ref(unit)},
        "period": {"start": world.at(0)},
    }


def appointment(world: World, rec: Record) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "start": world.at(5),
        "end": world.at(5.02),
        "participant": [
            {"actor": {"reference": rec.patient}, "status": "accepted"},
            {"actor": {"reference": world.staff["doc"].practitioner_role}, "status": "accepted"},
        ],
    }


def post(http: TestClient, caller: Caller, body: dict[str, Any]) -> Any:
    return http.post(f"/fhir/{body['resourceType']}", json=body, headers=caller.headers())


def stored_for(http: TestClient, world: World, rec: Record, res_type: str) -> set[str]:
    """Every ``res_type`` in the record, as the system sees it."""
    resp = http.get(f"/fhir/{res_type}?patient={rec.patient}", headers=world.system().headers())
    assert resp.status_code == 200
    settle_audit(world.repo.store)  # its event in the log before whatever comes next
    return {ref for ref, _mode, _res in entries(resp.json())}


def last_event(world: World) -> dict[str, Any]:
    settle_audit(world.repo.store)
    with world.repo.reading() as tx:
        seq = log.head(tx)[0]
        event = log.read_event(tx, seq)
    assert event is not None
    return event


#: (caller, record, what, status)
CREATES = [
    ("doc", "w-rel", "observation", 201),
    ("nurse", "w-rel", "observation", 201),
    ("therapist", "w-rel", "observation", 201),
    ("secretary", "w-sec", "observation", 403),  # the role does not write clinical data
    ("secretary", "w-sec", "appointment", 201),
    ("leader", "w-sec", "observation", 403),
    ("leader", "w-sec", "appointment", 201),
    ("privacy", "w-sec", "appointment", 403),
    ("doc", "w-norel-obs", "observation", 403),  # no care relation
    # Documented: an Appointment with oneself is a care relation, so the check after the
    # write passes (as for an Encounter at the own unit, below).
    ("doc", "w-norel-apt", "appointment", 201),
    ("doc", "w-rel", "psy-observation", 403),  # would not see what it wrote
    ("doc_psy", "w-rel", "psy-observation", 201),
]


@pytest.mark.parametrize(
    ("caller", "record", "what", "status"),
    CREATES,
    ids=[f"{c}-{r}-{w}" for c, r, w, _ in CREATES],
)
def test_create(
    http: TestClient, world: World, caller: str, record: str, what: str, status: int
) -> None:
    rec = world.records[record]
    who = world.caller(caller)
    body = {
        "observation": observation(rec, f"Måling av {caller}"),
        "psy-observation": observation(rec, f"Samtale med {caller}", PSY),
        "appointment": appointment(world, rec),
    }[what]
    res_type = body["resourceType"]
    before = stored_for(http, world, rec, res_type)
    resp = post(http, who, body)
    world.changed()
    event = last_event(world)
    assert resp.status_code == status, resp.text
    after = stored_for(http, world, rec, res_type)
    assert event["agent"][0]["who"]["reference"] == who.agent
    if status == 201:
        created = f"{res_type}/{resp.json()['id']}"
        assert after == before | {created}
        assert event["outcome"] == "0" and event["action"] == "C"
        assert http.get(f"/fhir/{created}", headers=who.headers()).status_code == 200
    else:
        assert after == before  # refused before or rolled back after the change
        assert event["outcome"] == ev.DENIED and event["action"] == "C"


def test_an_encounter_at_the_own_unit_opens_the_record(http: TestClient, world: World) -> None:
    """Documented behaviour: a doctor without a care relation may create an Encounter
    at their own unit, and that Encounter is then their care relation (the check after
    the write sees it). It is in the patient's access log like every other access."""
    rec = world.records["w-norel-enc"]
    doc = world.caller("doc")
    glance(http, doc, rec, sees=False)
    settle_audit(world.repo.store)  # the glance's events before the write's
    resp = post(http, doc, encounter(world, rec, "unit"))
    world.changed()
    assert resp.status_code == 201, resp.text
    rec.refs["new_encounter"] = f"Encounter/{resp.json()['id']}"
    event = last_event(world)
    assert event["outcome"] == "0" and ev.basis_of(event) == "encounter-in-progress"
    check_view(http, world, doc, rec, rec.without("psy"))


def test_an_encounter_at_another_unit_opens_nothing(http: TestClient, world: World) -> None:
    rec = world.records["w-norel-other-unit"]
    doc = world.caller("doc")
    before = stored_for(http, world, rec, "Encounter")
    resp = post(http, doc, encounter(world, rec, "sibling"))
    world.changed()
    assert resp.status_code == 403, resp.text
    assert stored_for(http, world, rec, "Encounter") == before
    assert last_event(world)["outcome"] == ev.DENIED
    check_view(http, world, doc, rec, ())


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_changes_outside_the_view_are_not_found(
    http: TestClient, world: World, method: str
) -> None:
    """Changing a resource the caller may not see answers 404, as reading it would,
    and changes nothing."""
    rec = world.records["w-norel-other-unit"]
    doc = world.caller("doc")
    target = rec["obs2"]
    content = http.get(f"/fhir/{target}", headers=world.system().headers()).json()
    if method == "PUT":
        changed = {**content, "status": "amended"}
        resp = http.put(f"/fhir/{target}", json=changed, headers=doc.headers())
    elif method == "PATCH":
        patch = [{"op": "replace", "path": "/status", "value": "amended"}]
        headers = {**doc.headers(), "Content-Type": "application/json-patch+json"}
        resp = http.patch(f"/fhir/{target}", json=patch, headers=headers)
    else:
        resp = http.delete(f"/fhir/{target}", headers=doc.headers())
    world.changed()
    assert resp.status_code == 404, resp.text
    assert last_event(world)["outcome"] == ev.DENIED
    now = http.get(f"/fhir/{target}", headers=world.system().headers()).json()
    assert now["meta"]["versionId"] == content["meta"]["versionId"]


def test_a_secretary_may_not_change_an_observation(http: TestClient, world: World) -> None:
    """In a record the secretary's unit may see: still 403 for a type the role does
    not write (and 404 for reading it)."""
    rec = world.records["w-sec"]
    sec = world.caller("secretary")
    content = http.get(f"/fhir/{rec['obs']}", headers=world.system().headers()).json()
    resp = http.put(f"/fhir/{rec['obs']}", json=content, headers=sec.headers())
    assert resp.status_code == 403, resp.text
    assert http.get(f"/fhir/{rec['obs']}", headers=sec.headers()).status_code == 404
