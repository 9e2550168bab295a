"""Messages in the portal (``/portal/messages``): a new message to a unit that treats
the patient becomes a work item in that unit's queue (the outbox, one delivery round),
a health worker answers it from the queue item ("Svar pasienten"), and the answer shows
in the patient's thread; a reply in the thread goes to the same unit. Only the units
that treat the patient are offered (and accepted), another citizen's thread is not
there, and a proxy writes as themselves."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.portal.pages import messages as portal_messages
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from fellesjournal.workflows import messages, model
from tests.portal.acting import GP_OFFICE, WARD, World, post_form, signed_in, staff, text_of
from tests.web.conftest import csrf_of
from tests.web.conftest import sign_in as clinician_sign_in

WARD_NURSE = staff(WARD, "nurse")


@pytest.fixture(scope="module")
def world(portal_settings: Settings, portal_store: SqlStore) -> World:
    return World(portal_settings, portal_store)


def _sent(world: World, patient_id: str) -> list[dict[str, Any]]:
    return world.search("Communication", [("subject", f"Patient/{patient_id}")])


def test_the_units_that_treat_the_patient(world: World, visitor: TestClient) -> None:
    me = world.citizen()
    world.encounter(me.patient_id, WARD)
    units = portal_messages.treating_units(world.as_citizen(me), me.patient_id)
    refs = {u.reference for u in units}
    assert refs == {f"Organization/{WARD}", f"Organization/{GP_OFFICE}"}
    signed_in(visitor, me)
    form = visitor.get("/portal/messages/new")
    assert form.status_code == 200
    assert f'value="Organization/{WARD}"' in form.text
    assert f'value="Organization/{GP_OFFICE}"' in form.text
    # A unit that does not treat them is refused, nothing sent.
    refused = post_form(
        visitor,
        "/portal/messages/new",
        {"unit": "Organization/stolav-hjerte-poliklinikk", "text": "Hei"},
    )
    assert refused.status_code == 422
    empty = post_form(visitor, "/portal/messages/new", {"unit": f"Organization/{WARD}"})
    assert empty.status_code == 422 and 'aria-invalid="true"' in empty.text
    assert not _sent(world, me.patient_id)


def test_message_work_item_answer_and_reply(
    world: World, visitor: TestClient, portal_app: object
) -> None:
    me = world.citizen(given="Marte")
    world.encounter(me.patient_id, WARD)
    signed_in(visitor, me)
    sent = post_form(
        visitor,
        "/portal/messages/new",
        {"unit": f"Organization/{WARD}", "text": "Når kan jeg få besøk?"},
    )
    assert sent.status_code == 303, sent.text
    thread_path = sent.headers["location"].split("?")[0]
    first_id = thread_path.rsplit("/", 1)[1]
    message = world.read("Communication", first_id)
    assert messages.kind_of(message) == "pasientmelding"
    assert message["sender"]["reference"] == f"Patient/{me.patient_id}"
    assert message["recipient"][0]["reference"] == f"Organization/{WARD}"
    shown = visitor.get(sent.headers["location"])
    assert "Når kan jeg få besøk?" in shown.text and 'role="status"' in shown.text

    # The outbox delivers it: a work item in the ward's queue.
    world.deliver()
    items = world.work_items(WARD, model.MESSAGE, me.patient_id)
    assert len(items) == 1
    task = items[0]
    assert str(task["focus"]["reference"]).startswith(f"Communication/{first_id}")
    delivered = visitor.get(thread_path)
    assert "Levert til enheten" in delivered.text

    # The nurse answers it from the queue item.
    with TestClient(visitor.app, base_url="https://testserver") as ward:
        clinician_sign_in(ward, WARD_NURSE.hpr)
        item = ward.get(f"/queues/items/{task['id']}")
        assert item.status_code == 200 and 'id="reply-text"' in item.text
        answered = ward.post(
            f"/queues/items/{task['id']}/reply",
            data={"csrf": csrf_of(item.text), "reply": "Besøkstid er 16–19.", "back": "/queues"},
            follow_redirects=False,
        )
        assert answered.status_code == 303, answered.text
        assert "replied=1" in answered.headers["location"]
        assert 'role="status"' in ward.get(answered.headers["location"]).text
        empty = ward.post(
            f"/queues/items/{task['id']}/reply",
            data={"csrf": csrf_of(item.text), "reply": "  "},
            follow_redirects=False,
        )
        assert empty.status_code == 422
    answer = next(c for c in _sent(world, me.patient_id) if c["id"] != first_id)
    assert answer["sender"]["reference"] == f"Organization/{WARD}"
    assert answer["recipient"] == [{"reference": f"Patient/{me.patient_id}"}]
    assert answer["inResponseTo"] == [{"reference": f"Communication/{first_id}"}]

    # The patient sees the answer in the thread, and answers back to the same unit.
    thread = visitor.get(thread_path)
    assert "Besøkstid er 16–19." in thread.text
    assert thread.text.index("Når kan jeg få besøk?") < thread.text.index("Besøkstid er 16–19.")
    back = post_form(visitor, thread_path, {"text": "Takk!"})
    assert back.status_code == 303
    last = world.read("Communication", back.headers["location"].split("?")[0].rsplit("/", 1)[1])
    assert last["recipient"][0]["reference"] == f"Organization/{WARD}"
    assert last["inResponseTo"] == [{"reference": f"Communication/{answer['id']}"}]
    listed = visitor.get("/portal/messages")
    assert len(re.findall(r'href="/portal/messages/(?!new)[^"/]+"', listed.text)) == 1  # one thread
    assert "Takk!" in text_of(listed.text)


def test_the_reply_form_only_for_a_patients_message(world: World, visitor: TestClient) -> None:
    me = world.citizen()
    world.encounter(me.patient_id, WARD)
    gp_letter = messages.communication(
        "dialogmelding",
        sender=f"Organization/{GP_OFFICE}",
        recipients=[f"Organization/{WARD}"],
        patient=f"Patient/{me.patient_id}",
        sent="2026-01-01T10:00:00+00:00",
        text="Fra fastlegen",
    )
    world.create(gp_letter)
    world.deliver()
    task = world.work_items(WARD, model.MESSAGE, me.patient_id)[0]
    clinician_sign_in(visitor, WARD_NURSE.hpr)
    item = visitor.get(f"/queues/items/{task['id']}")
    assert item.status_code == 200 and 'id="reply-text"' not in item.text
    refused = visitor.post(
        f"/queues/items/{task['id']}/reply",
        data={"csrf": csrf_of(item.text), "reply": "Hei"},
        follow_redirects=False,
    )
    assert refused.status_code == 403


def test_another_citizens_thread_is_not_there(world: World, visitor: TestClient) -> None:
    owner, other = world.citizen(), world.citizen(given="Ola")
    sent_id = portal_messages.send_new(
        world.as_citizen(owner), owner.patient_id, f"Organization/{GP_OFFICE}", "Privat"
    )
    signed_in(visitor, other)
    assert visitor.get(f"/portal/messages/{sent_id}").status_code == 404
    assert "Privat" not in visitor.get("/portal/messages").text
    refused = post_form(visitor, f"/portal/messages/{sent_id}", {"text": "Hei"})
    assert refused.status_code == 404
    assert len(_sent(world, owner.patient_id)) == 1


def test_a_proxy_writes_as_themselves(world: World, visitor: TestClient) -> None:
    patient, holder = world.citizen(given="Ingrid"), world.citizen(given="Per")
    related = world.proxy(patient.patient_id, holder, "standard")
    signed_in(visitor, holder, acting_for=patient.patient_id)
    sent = post_form(
        visitor,
        "/portal/messages/new",
        {"unit": f"Organization/{GP_OFFICE}", "text": "Mor trenger ny resept."},
    )
    assert sent.status_code == 303, sent.text
    message = _sent(world, patient.patient_id)[0]
    assert message["sender"]["reference"] == f"RelatedPerson/{related}"
    thread = visitor.get(sent.headers["location"])
    assert "Per Testesen" in text_of(thread.text)  # the proxy's name on their message


def test_a_read_only_proxy_does_not_write(world: World, visitor: TestClient) -> None:
    patient, holder = world.citizen(given="Ingrid"), world.citizen(given="Ola")
    world.proxy(patient.patient_id, holder, "read-only")
    signed_in(visitor, holder, acting_for=patient.patient_id)
    assert visitor.get("/portal/messages/new").status_code == 403
    refused = post_form(
        visitor, "/portal/messages/new", {"unit": f"Organization/{GP_OFFICE}", "text": "Hei"}
    )
    assert refused.status_code == 403
    assert not _sent(world, patient.patient_id)
