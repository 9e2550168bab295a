"""Proxies through the FHIR API: each fullmakt level's and a parent's capabilities
(docs/portal.md's table), a representation that no longer holds stopping the very next
request, the proxy named in the audit log, and who reads the access log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from fellesjournal.access import consents, labels
from fellesjournal.audit.events import ON_BEHALF_OF_EXTENSION
from fellesjournal.audit.log import events_for_patient
from fellesjournal.workflows import messages
from tests.portal_access.conftest import Person, World, ago, document, ids

#: docs/portal.md, "Capabilities": what each level may do.
TABLE: dict[str, set[str]] = {
    "self": {"read", "sensitive", "appointments", "act", "blocks", "access-log", "proxies"},
    "full": {"read", "sensitive", "appointments", "act", "blocks", "access-log"},
    "standard": {"read", "appointments", "act"},
    "read-only": {"read", "appointments"},
    "communicate": {"appointments", "act"},
    "parent<12": {"read", "sensitive", "appointments", "act", "access-log"},
    "parent12-15": {"appointments", "act"},
}


@dataclass
class Record:
    """What a represented patient's record holds, for the capability checks."""

    patient: Person
    condition: str
    sensitive: str
    appointment: str
    message: str
    document: str
    block: str


@dataclass
class Family:
    grantor: Record
    holders: dict[str, tuple[str, str]]  #: level -> (holder fnr, RelatedPerson id)
    child8: Record
    child14: Record
    child16: Record
    parent_fnr: str


def _record(world: World, patient: Person) -> Record:
    def condition(*security: tuple[str, str]) -> str:
        cond: dict[str, Any] = {
            "resourceType": "Condition",
            "subject": {"reference": patient.ref},
            "code": {"text": "Astma"},
        }
        if security:
            cond["meta"] = {"security": [{"system": s, "code": c} for s, c in security]}
        return world.add(cond)

    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
    return Record(
        patient,
        condition(),
        condition((labels.ACT_CODE, "PSY")),
        world.add(
            {
                "resourceType": "Appointment",
                "status": "booked",
                "start": start.isoformat(timespec="seconds"),
                "end": (start + dt.timedelta(minutes=30)).isoformat(timespec="seconds"),
                "participant": [
                    {"actor": {"reference": patient.ref}, "status": "accepted"},
                    {
                        "actor": {"reference": f"PractitionerRole/{world.role_id}"},
                        "status": "accepted",
                    },
                ],
            }
        ),
        world.add(
            messages.communication(
                "innkalling",
                sender=f"Organization/{world.clinic}",
                recipients=[patient.ref],
                patient=patient.ref,
                sent=ago(days=1),
                text="Velkommen til time",
            )
        ),
        world.add(document(patient, "11506-3")),
        world.add(
            consents.block_consent(
                patient.patient_id, "Organization/blocked-elsewhere", performer=patient.ref
            )
        ),
    )


@pytest.fixture(scope="module")
def family(world: World) -> Family:
    grantor = _record(world, world.person(50, given="Grete"))
    holders = {}
    for level in ("full", "standard", "read-only", "communicate"):
        fnr = world.adult_number(35)
        holders[level] = (fnr, world.representation(grantor.patient, fnr, level))
    parent_fnr = world.adult_number(42)
    kids = []
    for years in (8, 14, 16):
        kid = _record(world, world.person(years, given=f"Barn{years}"))
        world.representation(kid.patient, parent_fnr, "parent")
        kids.append(kid)
    return Family(grantor, holders, kids[0], kids[1], kids[2], parent_fnr)


def _acting(world: World, family: Family, who: str) -> tuple[Any, Record, str | None]:
    """(client, the record acted on, the RelatedPerson id or None) for ``who``."""
    if who == "self":
        return world.citizen(family.grantor.patient.fnr), family.grantor, None
    if who == "parent<12":
        return world.citizen(family.parent_fnr, family.child8.patient), family.child8, "p"
    if who == "parent12-15":
        return world.citizen(family.parent_fnr, family.child14.patient), family.child14, "p"
    fnr, rid = family.holders[who]
    return world.citizen(fnr, family.grantor.patient), family.grantor, rid


def _status(client: Any, ref: str) -> int:
    return int(client.get(f"/fhir/{ref}").status_code)


@pytest.mark.parametrize("who", sorted(TABLE))
def test_reads_follow_the_capabilities(world: World, family: Family, who: str) -> None:
    client, record, _rid = _acting(world, family, who)
    caps = TABLE[who]
    pid = record.patient.ref
    assert _status(client, pid) == 200
    assert _status(client, record.appointment) == 200
    assert _status(client, record.message) == 200
    appointments = client.get("/fhir/Appointment", params={"patient": pid})
    assert appointments.status_code == 200
    assert record.appointment in ids(appointments.json())
    reads = "read" in caps
    assert _status(client, record.condition) == (200 if reads else 404)
    assert _status(client, record.document) == (200 if reads else 404)
    sensitive = reads and "sensitive" in caps
    assert _status(client, record.sensitive) == (200 if sensitive else 404)
    search = client.get("/fhir/Condition", params={"patient": pid})
    if reads:
        assert search.status_code == 200, search.text
        found = ids(search.json())
        assert record.condition in found
        assert (record.sensitive in found) == sensitive
    else:
        assert search.status_code in (403, 404)
    everything = client.get(f"/fhir/{pid}/$everything", params={"_count": "1000"})
    if everything.status_code == 200:
        found = ids(everything.json())
        assert (record.condition in found) == reads
        assert (record.sensitive in found) == sensitive
        if not reads:
            directory = {"Organization", "PractitionerRole", "Practitioner", "Location"}
            shown = {r.split("/")[0] for r in found} - directory
            assert shown <= {"Patient", "Appointment", "Communication"}
    else:
        assert everything.status_code in (403, 404)
    log = client.get("/fhir/AuditEvent", params={"patient": pid})
    assert log.status_code == (200 if "access-log" in caps else 403), log.text
    blocks = client.get("/fhir/Consent", params={"patient": pid})
    if blocks.status_code == 200:
        assert (record.block in ids(blocks.json())) == ("blocks" in caps)
    else:
        assert blocks.status_code in (403, 404)
        assert "blocks" not in caps
    assert _status(client, record.block) == (200 if "blocks" in caps else 404)
    if "proxies" not in caps:
        grants = client.get("/fhir/RelatedPerson", params={"patient": pid})
        assert grants.status_code in (200, 403)
        assert not ids(grants.json()) if grants.status_code == 200 else True


def _message(record: Record, sender: str, unit: str) -> dict[str, Any]:
    return messages.communication(
        "pasientmelding",
        sender=sender,
        recipients=[f"Organization/{unit}"],
        patient=record.patient.ref,
        sent=ago(seconds=1),
        text="Hei, jeg lurer på noe.",
    )


@pytest.mark.parametrize("who", sorted(TABLE))
def test_writes_follow_the_capabilities(world: World, family: Family, who: str) -> None:
    client, record, rid = _acting(world, family, who)
    caps = TABLE[who]
    if rid == "p":
        rid = next(
            r["id"]
            for r in world.search("RelatedPerson", [("patient", record.patient.ref)])
            if r["identifier"][0]["value"] == family.parent_fnr
        )
    sender = record.patient.ref if rid is None else f"RelatedPerson/{rid}"
    sent = client.post("/fhir/Communication", json=_message(record, sender, world.clinic))
    assert sent.status_code == (201 if "act" in caps else 403), sent.text
    block = consents.block_consent(
        record.patient.patient_id, f"Organization/{world.gp_office}", performer=record.patient.ref
    )
    made = client.post("/fhir/Consent", json=block)
    assert made.status_code == (201 if "blocks" in caps else 403), made.text
    if made.status_code == 201:
        lifted = {**made.json(), "status": "inactive"}
        r = client.put(f"/fhir/Consent/{lifted['id']}", json=lifted)
        assert r.status_code == 200, r.text
    grant = {
        "resourceType": "RelatedPerson",
        "patient": {"reference": record.patient.ref},
        "active": True,
        "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": world.adult_number()}],
        "relationship": [
            {
                "coding": [
                    {
                        "system": "https://fellesjournal.no/fhir/CodeSystem/proxy-access",
                        "code": "read-only",
                    }
                ]
            }
        ],
    }
    granted = client.post("/fhir/RelatedPerson", json=grant)
    assert granted.status_code == (201 if "proxies" in caps else 403), granted.text


def test_parent_of_a_16_year_old_acts_no_more(world: World, family: Family) -> None:
    client = world.citizen(family.parent_fnr, family.child16.patient)
    assert client.get(f"/fhir/{family.child16.patient.ref}").status_code == 401


def test_a_proxy_under_18_is_refused(world: World, family: Family) -> None:
    young = world.adult_number(17)
    world.representation(family.grantor.patient, young, "full")
    client = world.citizen(young, family.grantor.patient)
    assert client.get(f"/fhir/{family.grantor.patient.ref}").status_code == 401


def _representation_stops(world: World, change: Any) -> None:
    grantor = world.person(60, given="Gunnar")
    fnr = world.adult_number(30)
    rid = world.representation(grantor, fnr, "full")
    client = world.citizen(fnr, grantor)
    assert client.get(f"/fhir/{grantor.ref}").status_code == 200
    body = world.read(f"RelatedPerson/{rid}")
    change(body)
    world.put(body)
    r = client.get(f"/fhir/{grantor.ref}")
    assert r.status_code == 401, r.text


def test_revoked_stops_the_next_request(world: World) -> None:
    _representation_stops(world, lambda b: b.update(active=False))


def test_expired_stops_the_next_request(world: World) -> None:
    _representation_stops(
        world, lambda b: b.update(period={"start": ago(days=10), "end": ago(minutes=1)})
    )


def test_moved_to_another_patient_stops_the_next_request(world: World) -> None:
    other = world.person(61, given="Annen")
    _representation_stops(world, lambda b: b.update(patient={"reference": other.ref}))


def test_not_yet_in_force_and_other_patients(world: World, family: Family) -> None:
    fnr = world.adult_number(33)
    world.representation(family.grantor.patient, fnr, "full", period={"start": ago(days=-3)})
    assert (
        world.citizen(fnr, family.grantor.patient)
        .get(f"/fhir/{family.grantor.patient.ref}")
        .status_code
        == 401
    )
    # A fullmakt for one patient opens no other record.
    holder, _rid = family.holders["full"]
    other = world.citizen(holder, family.child8.patient)
    assert other.get(f"/fhir/{family.child8.patient.ref}").status_code == 401
    # Acting for oneself through fj_on_behalf_of is no representation either.
    own = world.person(44, given="Selv")
    assert world.citizen(own.fnr, own).get(f"/fhir/{own.ref}").status_code == 401


def test_a_proxys_read_is_audited_as_theirs(world: World, family: Family) -> None:
    fnr, rid = family.holders["standard"]
    client = world.citizen(fnr, family.grantor.patient)
    assert client.get(f"/fhir/{family.grantor.condition}").status_code == 200
    world.app.state.audit_sink.drain()
    with world.store.snapshot() as tx:
        events = events_for_patient(tx, family.grantor.patient.patient_id, count=200)
    reads = [
        e
        for e in events
        if any(
            str((ent.get("what") or {}).get("reference")).startswith(family.grantor.condition)
            for ent in e.get("entity") or ()
        )
        and any(
            (a.get("who") or {}).get("reference") == f"RelatedPerson/{rid}"
            for a in e.get("agent") or ()
        )
    ]
    assert reads
    agent = next(
        a for a in reads[0]["agent"] if a["who"].get("reference") == f"RelatedPerson/{rid}"
    )
    assert agent["who"]["identifier"]["value"] == fnr
    assert agent["who"]["display"] == "Fullmektig Fullmektigsen", "the proxy's own name"
    behalf = [e for e in agent.get("extension") or () if e["url"] == ON_BEHALF_OF_EXTENSION]
    assert behalf == [
        {
            "url": ON_BEHALF_OF_EXTENSION,
            "valueReference": {"reference": family.grantor.patient.ref},
        }
    ]


def test_access_log_is_the_own_records_only(world: World, family: Family) -> None:
    client = world.citizen(family.grantor.patient.fnr)
    r = client.get("/fhir/AuditEvent", params={"patient": family.child8.patient.ref})
    assert r.status_code == 200
    assert not ids(r.json())
    mine = client.get("/fhir/AuditEvent", params={"patient": family.grantor.patient.ref})
    assert mine.status_code == 200
    assert ids(mine.json())
