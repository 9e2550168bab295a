"""Who has looked at my record (``/portal/access-log``): a health worker's read a moment
ago, in plain words (person, role, unit, organisation, time, the care relation); a
refused attempt; emergency access highlighted and listed above the log; the newest
first, paged; a citizen sees only their own record's log; a proxy without the
``access-log`` capability does not see it."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.portal.pages import access_log
from fellesjournal.service.access_ops import audit_log_agents
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from tests.portal.acting import WARD, World, signed_in, staff, text_of

WARD_NURSE = staff(WARD, "nurse")
EMERGENCY_DOCTOR = staff("stolav-akuttmottak", "doctor")


@pytest.fixture(scope="module")
def world(portal_settings: Settings, portal_store: SqlStore) -> World:
    return World(portal_settings, portal_store)


def _fhir(client: TestClient, world: World, who: object, path: str, **kw: object) -> Any:
    token = world.practitioner_token(who)  # type: ignore[arg-type]
    method = "POST" if "json" in kw else "GET"
    return client.request(
        method,
        f"/fhir/{path}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
        **kw,  # type: ignore[arg-type]
    )


def test_a_health_workers_read_in_plain_words(world: World, visitor: TestClient) -> None:
    me = world.citizen()
    world.encounter(me.patient_id, WARD)
    assert _fhir(visitor, world, WARD_NURSE, f"Patient/{me.patient_id}").status_code == 200
    signed_in(visitor, me)
    page = visitor.get("/portal/access-log")
    assert page.status_code == 200
    text = text_of(page.text)
    assert WARD_NURSE.name in text
    assert WARD_NURSE.unit_name in text and "St. Olavs" in text
    assert "sykepleier" in text  # the work role, in bokmål
    assert "Du er innlagt ved enheten" in text  # the care relation, in plain words
    assert "Emergency access to your record" not in text  # no box without one
    entries = access_log.log_page(world.as_citizen(me), me.patient_id).accesses
    assert [a.when for a in entries] == sorted((a.when for a in entries), reverse=True)
    nurse = next(a for a in entries if a.person == WARD_NURSE.name)
    assert (nurse.who, nurse.role, nurse.unit) == ("health-worker", "nurse", WARD_NURSE.unit_name)
    assert nurse.basis == "encounter-in-progress" and not nurse.emergency and not nurse.denied
    assert nurse.organisation == WARD_NURSE.organization_name


def test_emergency_access_is_highlighted(world: World, visitor: TestClient) -> None:
    me = world.citizen()
    glass = _fhir(
        visitor,
        world,
        EMERGENCY_DOCTOR,
        f"Patient/{me.patient_id}/$break-glass",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "reason", "valueCode": "emergency"},
                {"name": "text", "valueString": "Bevisstløs i akuttmottaket"},
            ],
        },
    )
    assert glass.status_code == 200, glass.text
    assert _fhir(visitor, world, EMERGENCY_DOCTOR, f"Patient/{me.patient_id}").status_code == 200
    signed_in(visitor, me)
    page = visitor.get("/portal/access-log")
    box = page.text.split('id="log-heading"')[0]
    assert 'class="emergency"' in box and EMERGENCY_DOCTOR.name in box
    assert "Bevisstløs i akuttmottaket" in box
    log = page.text.split('id="log-heading"')[1]
    assert 'class="access emergency"' in log
    assert "Bevisstløs i akuttmottaket" in log


def test_a_refused_attempt_is_shown(world: World, visitor: TestClient) -> None:
    me = world.citizen()
    # No care relation between the ward and the patient (listed with the GP office).
    assert _fhir(visitor, world, WARD_NURSE, f"Patient/{me.patient_id}").status_code == 404
    signed_in(visitor, me)
    page = visitor.get("/portal/access-log")
    assert 'class="access denied"' in page.text
    assert WARD_NURSE.name in text_of(page.text)


def test_alike_events_are_one_line_and_the_log_is_paged(world: World, visitor: TestClient) -> None:
    me = world.citizen()
    world.encounter(me.patient_id, WARD)
    for _ in range(access_log.PAGE_SIZE + 5):
        _fhir(visitor, world, WARD_NURSE, f"Patient/{me.patient_id}")
    signed_in(visitor, me)
    first = visitor.get("/portal/access-log")
    assert first.status_code == 200
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    assert first.text.count(f"<strong>{WARD_NURSE.name}</strong>") == 1, text_of(first.text)
    second = visitor.get("/portal/access-log?page=2")
    assert 'rel="prev"' in second.text
    assert WARD_NURSE.name in second.text
    assert visitor.get("/portal/access-log?page=nonsense").status_code == 200


def test_only_the_citizens_own_log(world: World, visitor: TestClient) -> None:
    owner, other = world.citizen(), world.citizen(given="Ola")
    world.encounter(owner.patient_id, WARD)
    _fhir(visitor, world, WARD_NURSE, f"Patient/{owner.patient_id}")
    signed_in(visitor, other)
    page = visitor.get("/portal/access-log")
    assert WARD_NURSE.name not in page.text


def test_a_standard_proxy_does_not_see_the_log(world: World, visitor: TestClient) -> None:
    patient, holder = world.citizen(given="Ingrid"), world.citizen(given="Per")
    world.proxy(patient.patient_id, holder, "standard")
    signed_in(visitor, holder, acting_for=patient.patient_id)
    assert visitor.get("/portal/access-log").status_code == 403


def test_a_full_proxys_reads_are_theirs(world: World, visitor: TestClient) -> None:
    patient, holder = world.citizen(given="Ingrid"), world.citizen(given="Kari")
    world.proxy(patient.patient_id, holder, "full")
    signed_in(visitor, holder, acting_for=patient.patient_id)
    visitor.get("/portal/appointments")
    page = visitor.get("/portal/access-log")
    assert page.status_code == 200
    assert "Kari Testesen, på vegne av deg" in text_of(page.text)


def test_who_has_acted_on_the_record_one_event_each(world: World, visitor: TestClient) -> None:
    """``access_ops.audit_log_agents``: the newest event of each agent, the citizen's own
    record only (the block page's health workers come from it)."""
    me, other = world.citizen(), world.citizen(given="Ola")
    world.encounter(me.patient_id, WARD)
    for _ in range(3):
        _fhir(visitor, world, WARD_NURSE, f"Patient/{me.patient_id}")
    signed_in(visitor, me)
    visitor.get("/portal/access-log")  # the sink has written the reads
    mine = audit_log_agents(world.as_citizen(me), me.patient_id)
    agents = [a["agent"][0]["who"].get("reference") for a in mine]
    assert agents.count(f"Practitioner/{WARD_NURSE.practitioner_id}") == 1
    assert audit_log_agents(world.as_citizen(other), me.patient_id) == []
