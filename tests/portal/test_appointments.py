"""Appointments in the portal (``/portal/appointments``): upcoming and past with their
unit, cancelling one (a confirmation, then a change of status and reason only, and a
work item in the unit's queue), asking for a new time (a message that the outbox turns
into a work item in the unit's queue), and who may do what: another citizen sees
nothing, a read-only proxy sees but does not act."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from starlette.testclient import TestClient

from fellesjournal.portal.pages import appointments
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from fellesjournal.workflows import messages, model
from tests.portal.acting import CLINIC, World, post_form, signed_in, text_of

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def world(portal_settings: Settings, portal_store: SqlStore) -> World:
    return World(portal_settings, portal_store)


def test_upcoming_and_past_with_their_unit(world: World, visitor: TestClient) -> None:
    me = world.citizen()
    soon = world.appointment(me.patient_id, NOW + dt.timedelta(days=3), what="Ekkokardiografi")
    later = world.appointment(me.patient_id, NOW + dt.timedelta(days=30), what="Kontroll")
    past = world.appointment(
        me.patient_id, NOW - dt.timedelta(days=20), status="fulfilled", what="Første samtale"
    )
    signed_in(visitor, me)
    got = visitor.get("/portal/appointments")
    assert got.status_code == 200
    assert got.headers["cache-control"] == "no-store"
    body = got.text
    upcoming, earlier = body.split('id="past-heading"')
    # Soonest first among the upcoming; the past below.
    assert upcoming.index("Ekkokardiografi") < upcoming.index("Kontroll")
    assert "Første samtale" in earlier and "Første samtale" not in upcoming
    assert "Medisinsk poliklinikk" in text_of(upcoming)  # the PractitionerRole's unit
    for booked in (soon, later):
        assert f"/portal/appointments/{booked}/cancel" in upcoming
        assert f"/portal/appointments/{booked}/new-time" in upcoming
    assert f"/portal/appointments/{past}/cancel" not in body


def test_the_data_function_sorts_and_names_units(world: World) -> None:
    me = world.citizen()
    world.appointment(me.patient_id, NOW + dt.timedelta(days=9))
    world.appointment(me.patient_id, NOW + dt.timedelta(days=2))
    world.appointment(me.patient_id, NOW - dt.timedelta(days=2), status="cancelled")
    found = appointments.appointment_list(world.as_citizen(me), me.patient_id, NOW)
    assert [a.start for a in found.upcoming] == sorted(a.start or "" for a in found.upcoming)
    assert len(found.upcoming) == 2 and len(found.past) == 1
    assert all(a.unit == f"Organization/{CLINIC}" for a in found.upcoming)
    assert found.past[0].status == "cancelled" and not found.past[0].cancellable


def test_cancel_changes_status_and_reason_only(world: World, visitor: TestClient) -> None:
    me = world.citizen()
    booked = world.appointment(me.patient_id, NOW + dt.timedelta(days=5))
    before = world.read("Appointment", booked)
    signed_in(visitor, me)
    confirm = visitor.get(f"/portal/appointments/{booked}/cancel")
    assert confirm.status_code == 200
    assert "Avbestille timen?" in confirm.text  # bokmål, the browser's language
    version = re.search(r'name="version" value="(\d+)"', confirm.text)
    assert version is not None
    done = post_form(
        visitor, f"/portal/appointments/{booked}/cancel", {"version": version.group(1)}
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/portal/appointments?done=cancelled"
    after = world.read("Appointment", booked)
    assert after["status"] == "cancelled"
    assert after["cancelationReason"]["coding"][0]["code"] == "pat"
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert changed <= {"status", "cancelationReason", "meta"}
    listed = visitor.get("/portal/appointments?done=cancelled").text
    assert 'role="status"' in listed
    assert f"/portal/appointments/{booked}/cancel" not in listed
    # The unit hears of it: a work item in its queue.
    assert world.work_items(CLINIC, model.APPOINTMENT_REQUEST, me.patient_id)


def test_cancel_refused_without_csrf_and_when_changed(world: World, visitor: TestClient) -> None:
    me = world.citizen()
    booked = world.appointment(me.patient_id, NOW + dt.timedelta(days=6))
    signed_in(visitor, me)
    forged = visitor.post(
        f"/portal/appointments/{booked}/cancel",
        data={"csrf": "forged", "version": "1"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    stale = post_form(visitor, f"/portal/appointments/{booked}/cancel", {"version": "7"})
    assert stale.status_code == 409
    assert world.read("Appointment", booked)["status"] == "booked"


def test_a_past_appointment_cannot_be_cancelled(world: World, visitor: TestClient) -> None:
    me = world.citizen()
    past = world.appointment(me.patient_id, NOW - dt.timedelta(days=2))
    signed_in(visitor, me)
    assert visitor.get(f"/portal/appointments/{past}/cancel").status_code == 409
    refused = post_form(visitor, f"/portal/appointments/{past}/cancel", {"version": "1"})
    assert refused.status_code == 409
    assert world.read("Appointment", past)["status"] == "booked"


def test_ask_for_a_new_time_reaches_the_units_queue(world: World, visitor: TestClient) -> None:
    me = world.citizen()
    booked = world.appointment(me.patient_id, NOW + dt.timedelta(days=12))
    signed_in(visitor, me)
    form = visitor.get(f"/portal/appointments/{booked}/new-time")
    assert form.status_code == 200 and 'name="text"' in form.text
    empty = post_form(visitor, f"/portal/appointments/{booked}/new-time", {"text": "   "})
    assert empty.status_code == 422 and 'aria-invalid="true"' in empty.text
    sent = post_form(
        visitor,
        f"/portal/appointments/{booked}/new-time",
        {"text": "Jeg er bortreist den uka. Passer det uka etter?"},
    )
    assert sent.status_code == 303, sent.text
    asked = world.search("Communication", [("subject", f"Patient/{me.patient_id}")])
    assert len(asked) == 1
    message = asked[0]
    assert messages.kind_of(message) == appointments.NEW_TIME_KIND
    assert message["sender"]["reference"] == f"Patient/{me.patient_id}"
    assert message["recipient"][0]["reference"] == f"Organization/{CLINIC}"
    assert message["about"][0]["reference"] == f"Appointment/{booked}"
    assert world.read("Appointment", booked)["status"] == "booked"  # stays booked
    world.deliver()
    items = world.work_items(CLINIC, model.APPOINTMENT_REQUEST, me.patient_id)
    assert any(
        str(i.get("focus", {}).get("reference", "")).startswith(f"Communication/{message['id']}")
        for i in items
    ), items


def test_another_citizens_appointment_is_not_there(world: World, visitor: TestClient) -> None:
    owner, other = world.citizen(), world.citizen(given="Ola")
    booked = world.appointment(owner.patient_id, NOW + dt.timedelta(days=4))
    signed_in(visitor, other)
    assert booked not in visitor.get("/portal/appointments").text
    assert visitor.get(f"/portal/appointments/{booked}/cancel").status_code == 404
    refused = post_form(visitor, f"/portal/appointments/{booked}/cancel", {"version": "1"})
    assert refused.status_code == 404
    assert visitor.get(f"/portal/appointments/{booked}/new-time").status_code == 404
    assert world.read("Appointment", booked)["status"] == "booked"


def test_a_read_only_proxy_sees_but_does_not_act(world: World, visitor: TestClient) -> None:
    patient, holder = world.citizen(given="Ingrid"), world.citizen(given="Ola")
    world.proxy(patient.patient_id, holder, "read-only")
    booked = world.appointment(patient.patient_id, NOW + dt.timedelta(days=8))
    signed_in(visitor, holder, acting_for=patient.patient_id)
    listed = visitor.get("/portal/appointments")
    assert listed.status_code == 200 and "Kontroll hjerte" in listed.text
    assert f"/portal/appointments/{booked}/cancel" not in listed.text
    assert visitor.get(f"/portal/appointments/{booked}/cancel").status_code == 403
    assert world.read("Appointment", booked)["status"] == "booked"


def test_a_communicate_proxy_cancels_as_themselves(world: World, visitor: TestClient) -> None:
    patient, holder = world.citizen(given="Ingrid"), world.citizen(given="Nina")
    related = world.proxy(patient.patient_id, holder, "communicate")
    booked = world.appointment(patient.patient_id, NOW + dt.timedelta(days=8))
    signed_in(visitor, holder, acting_for=patient.patient_id)
    sent = post_form(
        visitor, f"/portal/appointments/{booked}/new-time", {"text": "Kan vi flytte den?"}
    )
    assert sent.status_code == 303, sent.text
    asked = world.search("Communication", [("subject", f"Patient/{patient.patient_id}")])
    assert asked[0]["sender"]["reference"] == f"RelatedPerson/{related}"
