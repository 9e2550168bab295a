"""What a citizen (or their proxy) writes through the FHIR API: messages of the right
shape, delivered by the outbox as work items; cancellations, each a work item; blocks;
fullmakt granted and revoked."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from fellesjournal.access import consents, proxy
from fellesjournal.norway.identifiers import FNR_SYSTEM
from fellesjournal.workflows import delivery, messages, model
from tests.portal_access.conftest import Person, World, ago

CANCELLED_BY_PATIENT = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason",
            "code": "pat",
        }
    ]
}


def _deliver(world: World) -> delivery.RoundStats:
    return delivery.deliver_due(delivery.worker_repository(world.store, world.settings))


def _items(world: World, focus: str) -> list[dict[str, Any]]:
    return world.search("Task", [("focus", focus)])


def _kind(task: dict[str, Any]) -> str:
    return str(task["code"]["coding"][0]["code"])


def _message(
    patient: Person, world: World, kind: str = "pasientmelding", **changes: Any
) -> dict[str, Any]:
    msg = messages.communication(
        kind,
        sender=patient.ref,
        recipients=[f"Organization/{world.clinic}"],
        patient=patient.ref,
        sent=ago(seconds=1),
        text="Kan jeg få svar på prøvene?",
    )
    msg.update(changes)
    return msg


def _appointment(world: World, patient: Person, status: str = "booked") -> str:
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    return world.add(
        {
            "resourceType": "Appointment",
            "status": status,
            "start": start.isoformat(timespec="seconds"),
            "end": (start + dt.timedelta(minutes=20)).isoformat(timespec="seconds"),
            "participant": [
                {"actor": {"reference": patient.ref}, "status": "accepted"},
                {"actor": {"reference": f"PractitionerRole/{world.role_id}"}, "status": "accepted"},
            ],
        }
    )


@pytest.fixture
def me(world: World) -> Person:
    """A citizen treated at the clinic (the only units a citizen writes to)."""
    person = world.person(35, given="Marit")
    world.care_relation(person)
    return person


def test_message_becomes_a_work_item(world: World, me: Person) -> None:
    client = world.citizen(me.fnr)
    r = client.post("/fhir/Communication", json=_message(me, world))
    assert r.status_code == 201, r.text
    ref = f"Communication/{r.json()['id']}"
    _deliver(world)
    items = _items(world, ref)
    assert [_kind(t) for t in items] == [model.MESSAGE], items
    assert items[0]["owner"]["reference"] == f"Organization/{world.clinic}"
    assert items[0]["for"]["reference"] == me.ref
    # The citizen sees their message, never the work item.
    assert client.get(f"/fhir/{ref}").status_code == 200
    assert client.get(f"/fhir/Task/{items[0]['id']}").status_code == 404


def test_asking_for_a_new_time_becomes_an_appointment_request(world: World, me: Person) -> None:
    appointment = _appointment(world, me)
    client = world.citizen(me.fnr)
    msg = _message(me, world, "timeforesporsel", about=[{"reference": appointment}])
    r = client.post("/fhir/Communication", json=msg)
    assert r.status_code == 201, r.text
    _deliver(world)
    items = _items(world, f"Communication/{r.json()['id']}")
    assert [_kind(t) for t in items] == [model.APPOINTMENT_REQUEST]
    assert items[0]["owner"]["reference"] == f"Organization/{world.clinic}"


def test_a_proxys_message_comes_from_their_related_person(world: World, me: Person) -> None:
    fnr = world.adult_number()
    rid = world.representation(me, fnr, "communicate")
    client = world.citizen(fnr, me)
    as_patient = client.post("/fhir/Communication", json=_message(me, world))
    assert as_patient.status_code == 422, as_patient.text
    msg = _message(me, world, sender={"reference": f"RelatedPerson/{rid}"})
    r = client.post("/fhir/Communication", json=msg)
    assert r.status_code == 201, r.text
    _deliver(world)
    items = _items(world, f"Communication/{r.json()['id']}")
    assert [_kind(t) for t in items] == [model.MESSAGE]


def test_message_shapes_refused(world: World, me: Person) -> None:
    other = world.person(36, given="Annen")
    client = world.citizen(me.fnr)
    unit = f"Organization/{world.clinic}"
    wrong = {
        "kind": _message(me, world, "vurderingsbrev"),
        "unit kind": _message(me, world, "helseopplysninger"),
        "no kind": {k: v for k, v in _message(me, world).items() if k != "category"},
        "subject": _message(me, world, subject={"reference": other.ref}),
        "sender": _message(me, world, sender={"reference": unit}),
        "other patient sender": _message(me, world, sender={"reference": other.ref}),
        "to a person": _message(
            me, world, recipient=[{"reference": f"Practitioner/{world.practitioner_id}"}]
        ),
        "to the patient": _message(me, world, recipient=[{"reference": me.ref}]),
        "to a unit and a person": _message(
            me, world, recipient=[{"reference": unit}, {"reference": other.ref}]
        ),
        "no recipient": {k: v for k, v in _message(me, world).items() if k != "recipient"},
        "draft": _message(me, world, status="preparation"),
    }
    for why, body in wrong.items():
        r = client.post("/fhir/Communication", json=body)
        assert r.status_code == 422, (why, r.status_code, r.text)
    assert not world.search("Communication", [("sender", me.ref)])


def test_a_sent_message_is_not_changed_or_deleted(world: World, me: Person) -> None:
    client = world.citizen(me.fnr)
    r = client.post("/fhir/Communication", json=_message(me, world))
    assert r.status_code == 201, r.text
    sent = r.json()
    changed = {**sent, "payload": [{"contentString": "Noe annet"}]}
    assert client.put(f"/fhir/Communication/{sent['id']}", json=changed).status_code == 422
    assert client.delete(f"/fhir/Communication/{sent['id']}").status_code == 403


def test_cancellation_becomes_an_appointment_request(world: World, me: Person) -> None:
    ref = _appointment(world, me)
    client = world.citizen(me.fnr)
    current = client.get(f"/fhir/{ref}").json()
    body = {**current, "status": "cancelled", "cancelationReason": CANCELLED_BY_PATIENT}
    r = client.put(f"/fhir/{ref}", json=body)
    assert r.status_code == 200, r.text
    items = _items(world, ref)
    assert [_kind(t) for t in items] == [model.APPOINTMENT_REQUEST]
    assert items[0]["owner"]["reference"] == f"Organization/{world.clinic}"
    assert items[0]["for"]["reference"] == me.ref
    # Cancelled is cancelled: not again.
    again = client.get(f"/fhir/{ref}").json()
    assert client.put(f"/fhir/{ref}", json=again).status_code in (200, 422)
    assert len(_items(world, ref)) == 1


def test_cancellation_changes_nothing_else(world: World, me: Person) -> None:
    ref = _appointment(world, me)
    client = world.citizen(me.fnr)
    current = client.get(f"/fhir/{ref}").json()
    cancel = {**current, "status": "cancelled", "cancelationReason": CANCELLED_BY_PATIENT}
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat(timespec="seconds")
    other_reason = {"coding": [{**CANCELLED_BY_PATIENT["coding"][0], "code": "prov"}]}
    wrong = {
        "start moved": {**cancel, "start": later},
        "no reason": {k: v for k, v in cancel.items() if k != "cancelationReason"},
        "provider's reason": {**cancel, "cancelationReason": other_reason},
        "not cancelled": {**current, "start": later},
        "no-show": {**current, "status": "noshow"},
        "participant dropped": {**cancel, "participant": current["participant"][:1]},
    }
    for why, body in wrong.items():
        r = client.put(f"/fhir/{ref}", json=body)
        assert r.status_code == 422, (why, r.status_code, r.text)
    assert client.get(f"/fhir/{ref}").json()["status"] == "booked"
    assert not _items(world, ref)
    # A fulfilled appointment is not cancelled afterwards.
    done = _appointment(world, me, status="fulfilled")
    body = {**client.get(f"/fhir/{done}").json(), "status": "cancelled"}
    body["cancelationReason"] = CANCELLED_BY_PATIENT
    assert client.put(f"/fhir/{done}", json=body).status_code == 422
    # Citizens do not book.
    new = {k: v for k, v in current.items() if k not in ("id", "meta")}
    assert client.post("/fhir/Appointment", json=new).status_code == 422


def test_someone_elses_appointment(world: World, me: Person) -> None:
    other = world.person(37, given="Annen")
    ref = _appointment(world, other)
    body = {**world.read(ref), "status": "cancelled", "cancelationReason": CANCELLED_BY_PATIENT}
    r = world.citizen(me.fnr).put(f"/fhir/{ref}", json=body)
    assert r.status_code in (403, 404), r.text
    assert world.read(ref)["status"] == "booked"
    assert not _items(world, ref)


def test_block_takes_effect_and_is_lifted(world: World, me: Person) -> None:
    world.care_relation(me)
    doctor = world.doctor()
    assert doctor.get(f"/fhir/{me.ref}").status_code == 200
    client = world.citizen(me.fnr)
    block = consents.block_consent(
        me.patient_id, f"Practitioner/{world.practitioner_id}", performer=me.ref
    )
    r = client.post("/fhir/Consent", json=block)
    assert r.status_code == 201, r.text
    assert doctor.get(f"/fhir/{me.ref}").status_code in (403, 404)
    lifted = {**r.json(), "status": "inactive"}
    r = client.put(f"/fhir/Consent/{lifted['id']}", json=lifted)
    assert r.status_code == 200, r.text
    assert doctor.get(f"/fhir/{me.ref}").status_code == 200
    # Other Consents than a block of one's own record are refused.
    other = world.person(38, given="Annen")
    theirs = consents.block_consent(other.patient_id, f"Organization/{world.clinic}")
    assert client.post("/fhir/Consent", json=theirs).status_code in (403, 422)
    start, end = ago(seconds=0), ago(hours=-4)
    grant = consents.break_glass_consent(me.patient_id, _work(world), "emergency", "x", start, end)
    assert client.post("/fhir/Consent", json=grant).status_code == 403
    assert client.delete(f"/fhir/Consent/{lifted['id']}").status_code == 403


def _work(world: World) -> Any:
    from fellesjournal.access.context import WorkContext

    return WorkContext(
        world.practitioner_id, world.hpr, world.role_id, world.clinic, (world.trust,), "doctor"
    )


def _fullmakt(patient: Person, fnr: str, level: str = "standard") -> dict[str, Any]:
    return {
        "resourceType": "RelatedPerson",
        "patient": {"reference": patient.ref},
        "active": True,
        "identifier": [{"system": FNR_SYSTEM, "value": fnr}],
        "name": [{"text": "Ny Fullmektig"}],
        "relationship": [{"coding": [{"system": proxy.PROXY_SYSTEM, "code": level}]}],
        "period": {"start": ago(seconds=5)},
    }


def test_fullmakt_granted_used_and_revoked(world: World, me: Person) -> None:
    client = world.citizen(me.fnr)
    holder = world.adult_number(18)
    r = client.post("/fhir/RelatedPerson", json=_fullmakt(me, holder))
    assert r.status_code == 201, r.text
    granted = r.json()
    as_proxy = world.citizen(holder, me)
    assert as_proxy.get(f"/fhir/{me.ref}").status_code == 200
    revoked = {**granted, "active": False, "period": {**granted["period"], "end": ago(seconds=0)}}
    r = client.put(f"/fhir/RelatedPerson/{granted['id']}", json=revoked)
    assert r.status_code == 200, r.text
    assert as_proxy.get(f"/fhir/{me.ref}").status_code == 401


def test_fullmakt_refused(world: World, me: Person) -> None:
    client = world.citizen(me.fnr)
    other = world.person(39, given="Annen")
    wrong = {
        "to a 17-year-old": _fullmakt(me, world.adult_number(17)),
        "to oneself": _fullmakt(me, me.fnr),
        "a parent's": _fullmakt(me, world.adult_number(), "parent"),
        "no level": {
            **_fullmakt(me, world.adult_number()),
            "relationship": [{"text": "venn"}],
        },
        "invalid number": _fullmakt(me, "12345678901"),
        "for another record": _fullmakt(other, world.adult_number()),
        "two holders": {
            **_fullmakt(me, world.adult_number()),
            "identifier": [
                {"system": FNR_SYSTEM, "value": world.adult_number()},
                {"system": FNR_SYSTEM, "value": world.adult_number()},
            ],
        },
    }
    for why, body in wrong.items():
        r = client.post("/fhir/RelatedPerson", json=body)
        assert r.status_code == 422, (why, r.status_code, r.text)
    # A 15-year-old grants no fullmakt.
    young = world.person(15, given="Ung")
    r = world.citizen(young.fnr).post(
        "/fhir/RelatedPerson", json=_fullmakt(young, world.adult_number())
    )
    assert r.status_code == 422, r.text
    # The holder of a fullmakt is not swapped for another.
    r = client.post("/fhir/RelatedPerson", json=_fullmakt(me, world.adult_number()))
    assert r.status_code == 201, r.text
    swapped = {**r.json(), "identifier": [{"system": FNR_SYSTEM, "value": world.adult_number()}]}
    assert client.put(f"/fhir/RelatedPerson/{swapped['id']}", json=swapped).status_code == 422
    # A parent's representation is not the child's to change.
    kid = world.person(16, given="Sekstenåring")
    parent_rp = world.representation(kid, world.adult_number(45), "parent")
    body = {**world.read(f"RelatedPerson/{parent_rp}"), "active": False}
    r = world.citizen(kid.fnr).put(f"/fhir/RelatedPerson/{parent_rp}", json=body)
    assert r.status_code in (403, 422), r.text
