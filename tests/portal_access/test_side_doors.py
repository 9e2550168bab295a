"""Other ways in: ``_has`` and chains, counts, batches and transactions, PATCH,
``$summary``, another proxy's sender, and proxies cancelling: none reveals or changes
more than a plain read or write would."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from fellesjournal.access import labels, release
from fellesjournal.workflows import messages, model
from tests.portal_access.conftest import (
    Person,
    World,
    ago,
    document,
    ids,
    observation,
    report,
)

WITHHELD = f"{release.WITHHOLD_SYSTEM}|NORN_FFL"
CANCEL = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason",
            "code": "pat",
        }
    ]
}


@dataclass
class Case:
    patient: Person
    withheld: str
    shown: str
    unreleased: str
    appointment: str


def _appointment(world: World, patient: Person) -> str:
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    return world.add(
        {
            "resourceType": "Appointment",
            "status": "booked",
            "start": start.isoformat(timespec="seconds"),
            "end": (start + dt.timedelta(minutes=20)).isoformat(timespec="seconds"),
            "participant": [
                {"actor": {"reference": patient.ref}, "status": "accepted"},
                {"actor": {"reference": f"PractitionerRole/{world.role_id}"}, "status": "accepted"},
            ],
        }
    )


@pytest.fixture(scope="module")
def case(world: World) -> Case:
    p = world.person(52, given="Sigrid")
    return Case(
        p,
        world.add(document(p, "11506-3", security=["NORN_FFL"])),
        world.add(document(p, "11506-3")),
        world.add(report(p, "manual")),
        _appointment(world, p),
    )


def _get(client: Any, path: str, **params: str) -> dict[str, Any]:
    r = client.get(f"/fhir/{path}", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_has_and_chains_do_not_reveal(world: World, case: Case) -> None:
    client = world.citizen(case.patient.fnr)
    found = _get(client, "Patient", **{"_has:DocumentReference:subject:_security": WITHHELD})
    assert not ids(found)
    found = _get(client, "Patient", **{"_has:DiagnosticReport:subject:_tag": "manual"})
    assert not ids(found)
    found = _get(client, "DocumentReference", **{"subject:Patient._id": case.patient.patient_id})
    assert case.withheld not in ids(found)
    assert case.shown in ids(found)


def test_counts_and_totals(world: World, case: Case) -> None:
    client = world.citizen(case.patient.fnr)
    count = _get(client, "DocumentReference", patient=case.patient.ref, _summary="count")
    assert count["total"] == 1
    count = _get(client, "DocumentReference", _security=WITHHELD, _total="accurate")
    assert count.get("total", 0) == 0
    assert not ids(count)
    count = _get(client, "DiagnosticReport", patient=case.patient.ref, _summary="count")
    assert count["total"] == 0


def test_batch_reads_as_reads_do(world: World, case: Case) -> None:
    client = world.citizen(case.patient.fnr)
    withheld_id = case.withheld.split("/")[1]
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": case.withheld}},
            {"request": {"method": "GET", "url": case.shown}},
            {"request": {"method": "GET", "url": case.unreleased}},
            {"request": {"method": "GET", "url": f"DocumentReference?_id={withheld_id}"}},
        ],
    }
    r = client.post("/fhir", json=batch)
    assert r.status_code == 200, r.text
    entries = r.json()["entry"]
    statuses = [e["response"]["status"].split()[0] for e in entries]
    assert statuses[:3] == ["404", "200", "404"]
    assert not ids({"entry": [e for e in entries[3:] if "resource" in e]}, "DocumentReference")
    inner = entries[3].get("resource") or {}
    assert not inner.get("entry"), inner


def test_transaction_is_all_or_nothing(world: World, case: Case) -> None:
    client = world.citizen(case.patient.fnr)
    msg = messages.communication(
        "pasientmelding",
        sender=case.patient.ref,
        recipients=[f"Organization/{world.clinic}"],
        patient=case.patient.ref,
        sent=ago(seconds=1),
        text="Hei",
    )
    condition = {
        "resourceType": "Condition",
        "subject": {"reference": case.patient.ref},
        "code": {"text": "Selvdiagnose"},
    }
    tx = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": msg, "request": {"method": "POST", "url": "Communication"}},
            {"resource": condition, "request": {"method": "POST", "url": "Condition"}},
        ],
    }
    r = client.post("/fhir", json=tx)
    assert r.status_code == 403, r.text
    assert not world.search("Communication", [("sender", case.patient.ref)])
    assert not world.search("Condition", [("subject", case.patient.ref)])


def test_patch_is_checked_as_an_update(world: World, case: Case) -> None:
    client = world.citizen(case.patient.fnr)
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=40)).isoformat(timespec="seconds")
    moved = [
        {"op": "replace", "path": "/status", "value": "cancelled"},
        {"op": "add", "path": "/cancelationReason", "value": CANCEL},
        {"op": "replace", "path": "/start", "value": later},
    ]
    r = client.patch(
        f"/fhir/{case.appointment}",
        json=moved,
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert r.status_code == 422, r.text
    assert world.read(case.appointment)["status"] == "booked"
    # Unreleased or withheld: not found, whatever the method.
    for ref in (case.withheld, case.unreleased):
        r = client.patch(
            f"/fhir/{ref}",
            json=[{"op": "replace", "path": "/status", "value": "entered-in-error"}],
            headers={"Content-Type": "application/json-patch+json"},
        )
        assert r.status_code in (403, 404), r.text


def test_summary_holds_only_what_is_released(world: World, case: Case) -> None:
    client = world.citizen(case.patient.fnr)
    r = client.get(f"/fhir/{case.patient.ref}/$summary")
    assert r.status_code == 200, r.text
    text = r.text
    for hidden in (case.withheld, case.unreleased):
        assert hidden.split("/")[1] not in text
    other = world.person(53, given="Annen")
    assert client.get(f"/fhir/{other.ref}/$summary").status_code == 404


def test_a_proxy_sends_only_as_themselves(world: World) -> None:
    p = world.person(70, given="Olav")
    first, second = world.adult_number(), world.adult_number()
    world.representation(p, first, "standard")
    other_rid = world.representation(p, second, "standard")
    msg = messages.communication(
        "pasientmelding",
        sender=f"RelatedPerson/{other_rid}",
        recipients=[f"Organization/{world.clinic}"],
        patient=p.ref,
        sent=ago(seconds=1),
        text="Hei",
    )
    r = world.citizen(first, p).post("/fhir/Communication", json=msg)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(("level", "allowed"), [("communicate", True), ("read-only", False)])
def test_a_proxy_cancels_per_level(world: World, level: str, allowed: bool) -> None:
    p = world.person(72, given="Astrid")
    fnr = world.adult_number()
    world.representation(p, fnr, level)
    ref = _appointment(world, p)
    client = world.citizen(fnr, p)
    body = {**client.get(f"/fhir/{ref}").json(), "status": "cancelled", "cancelationReason": CANCEL}
    r = client.put(f"/fhir/{ref}", json=body)
    assert r.status_code == (200 if allowed else 403), r.text
    items = world.search("Task", [("focus", ref)])
    kinds = [t["code"]["coding"][0]["code"] for t in items]
    assert kinds == ([model.APPOINTMENT_REQUEST] if allowed else [])


def test_observations_of_a_hidden_report_stay_hidden(world: World) -> None:
    """A report withheld (9603) or labelled beyond a proxy's capabilities does not show
    its values through the Observations it lists."""
    p = world.person(48, given="Hilde")
    withheld_obs = world.add(observation(p))
    withheld = report(p, "automatic", results=[withheld_obs])
    withheld["meta"]["security"] = [{"system": release.WITHHOLD_SYSTEM, "code": "NORN_FFL"}]
    world.add(withheld)
    labelled_obs = world.add(observation(p))
    labelled = report(p, "automatic", results=[labelled_obs])
    labelled["meta"]["security"] = [{"system": labels.ACT_CODE, "code": "HIV"}]
    labelled_ref = world.add(labelled)
    fnr = world.adult_number()
    world.representation(p, fnr, "standard")
    citizen, standard = world.citizen(p.fnr), world.citizen(fnr, p)
    assert citizen.get(f"/fhir/{withheld_obs}").status_code == 404
    assert standard.get(f"/fhir/{withheld_obs}").status_code == 404
    assert citizen.get(f"/fhir/{labelled_ref}").status_code == 200
    assert citizen.get(f"/fhir/{labelled_obs}").status_code == 200
    assert standard.get(f"/fhir/{labelled_ref}").status_code == 404
    assert standard.get(f"/fhir/{labelled_obs}").status_code == 404
    found = ids(_get(standard, "Observation", patient=p.ref))
    assert not found & {withheld_obs, labelled_obs}


def test_cancelling_keeps_labels_and_narrative(world: World) -> None:
    p = world.person(49, given="Liv")
    ref = _appointment(world, p)
    body = world.read(ref)
    body["meta"] = {"security": [{"system": labels.CONFIDENTIALITY, "code": "R"}]}
    body["text"] = {
        "status": "generated",
        "div": '<div xmlns="http://www.w3.org/1999/xhtml">Time hos lege</div>',
    }
    world.put(body)
    client = world.citizen(p.fnr)
    shown = client.get(f"/fhir/{ref}").json()
    cancel = {**shown, "status": "cancelled", "cancelationReason": CANCEL}
    no_label = {**cancel, "meta": {"tag": [{"system": "urn:x", "code": "y"}]}}
    assert client.put(f"/fhir/{ref}", json=no_label).status_code == 422
    other_text = {
        **cancel,
        "text": {
            **cancel["text"],
            "div": body["text"]["div"].replace("Time hos lege", "Avlyst av legen"),
        },
    }
    assert client.put(f"/fhir/{ref}", json=other_text).status_code == 422
    assert world.read(ref)["meta"]["security"][0]["code"] == "R"
    r = client.put(f"/fhir/{ref}", json=cancel)
    assert r.status_code == 200, r.text


def test_a_message_only_to_a_unit_that_treats_the_patient(world: World) -> None:
    """A message becomes a work item, and an open work item a care relation: a citizen
    writes only to the units that treat them, never to any unit (which would open the
    record to it), nor to one that does not exist; nor about another patient's data."""
    p = world.person(47, given="Tor")
    other = world.person(52, given="Siv")
    world.care_relation(p)

    def message(unit: str, **extra: Any) -> dict[str, Any]:
        msg = messages.communication(
            "pasientmelding",
            sender=p.ref,
            recipients=[f"Organization/{unit}"],
            patient=p.ref,
            sent=ago(seconds=1),
            text="Hallo?",
        )
        return {**msg, **extra}

    client = world.citizen(p.fnr)
    for unit in ("no-such-unit", world.trust):
        r = client.post("/fhir/Communication", json=message(unit))
        assert r.status_code == 422, r.text
        assert "does not treat the patient" in r.text
    elsewhere = world.care_relation(other)
    r = client.post(
        "/fhir/Communication", json=message(world.clinic, about=[{"reference": elsewhere}])
    )
    assert r.status_code == 422, r.text
    assert client.post("/fhir/Communication", json=message(world.clinic)).status_code == 201
