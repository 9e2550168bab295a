"""Blocks (``/portal/blocks``): a named health worker found by name among those who have
looked, the consequences shown before anything is written, the block in force on the
health worker's next request and gone when lifted; a unit, an organisation, one
document; only the candidates offered are accepted; only the citizen (or a full proxy)
blocks, and only their own record."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.access import consents
from fellesjournal.portal.pages import blocks
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from tests.portal.acting import Citizen, World, post_form, signed_in, staff, text_of

WARD = "stolav-lunge-sengepost"
WARD_NURSE = staff(WARD, "nurse")
WARD_DOCTOR = staff(WARD, "doctor")


@pytest.fixture(scope="module")
def world(portal_settings: Settings, portal_store: SqlStore) -> World:
    return World(portal_settings, portal_store)


def _read(client: TestClient, world: World, path: str, who: object = WARD_NURSE) -> int:
    token = world.practitioner_token(who)  # type: ignore[arg-type]
    got = client.get(f"/fhir/{path}", headers={"Authorization": f"Bearer {token}"})
    return int(got.status_code)


def _blocks_of(world: World, me: Citizen) -> list[dict[str, Any]]:
    return world.search(
        "Consent",
        [
            ("patient", f"Patient/{me.patient_id}"),
            ("category", f"{consents.CATEGORY_SYSTEM}|{consents.BLOCK}"),
        ],
    )


def _epikrise(world: World, me: Citizen) -> str:
    signed = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).isoformat(timespec="seconds")
    return world.create(
        {
            "resourceType": "DocumentReference",
            "status": "current",
            "docStatus": "final",
            "type": {"coding": [{"system": "http://loinc.org", "code": "18842-5"}]},
            "description": "Epikrise lungeavdelingen",
            "subject": {"reference": f"Patient/{me.patient_id}"},
            "date": signed,
            "content": [{"attachment": {"contentType": "text/plain", "data": "RXBpa3Jpc2U="}}],
        }
    )


def test_block_a_named_health_worker_on_their_next_request(
    world: World, visitor: TestClient
) -> None:
    me = world.citizen()
    world.encounter(me.patient_id, WARD)
    assert _read(visitor, world, f"Patient/{me.patient_id}") == 200  # in the access log now
    signed_in(visitor, me)
    family = WARD_NURSE.name.split()[-1]
    found = visitor.get(f"/portal/blocks/new?kind=practitioner&q={family}")
    assert found.status_code == 200
    target = f"Practitioner/{WARD_NURSE.practitioner_id}"
    assert f'value="{target}"' in found.text
    assert WARD_NURSE.unit_name in text_of(found.text)  # where they work
    nobody = visitor.get("/portal/blocks/new?kind=practitioner&q=Zzyzx")
    assert f'value="{target}"' not in nobody.text

    review = post_form(
        visitor, "/portal/blocks/new", {"kind": "practitioner", "target": target, "step": "review"}
    )
    assert review.status_code == 200
    # The consequences come first, and nothing is written yet.
    said = text_of(review.text)
    assert "Sperringen gjelder også i en nødsituasjon" in said
    assert 'name="step" value="confirm"' in review.text
    assert not _blocks_of(world, me)
    assert _read(visitor, world, f"Patient/{me.patient_id}") == 200

    done = post_form(
        visitor,
        "/portal/blocks/new",
        {"kind": "practitioner", "target": target, "scope": "whole", "step": "confirm"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/portal/blocks?done=created"
    made = _blocks_of(world, me)
    assert len(made) == 1
    assert made[0]["performer"] == [{"reference": f"Patient/{me.patient_id}"}]
    assert _read(visitor, world, f"Patient/{me.patient_id}") == 404  # the next request
    assert _read(visitor, world, f"Patient/{me.patient_id}", WARD_DOCTOR) == 200  # not others

    listed = visitor.get("/portal/blocks")
    assert WARD_NURSE.name in listed.text
    lift_path = f"/portal/blocks/{made[0]['id']}/lift"
    assert lift_path in listed.text
    confirm = visitor.get(lift_path)
    version = re.search(r'name="version" value="(\d+)"', confirm.text)
    assert confirm.status_code == 200 and version is not None
    lifted = post_form(visitor, lift_path, {"version": version.group(1)})
    assert lifted.status_code == 303
    assert _blocks_of(world, me)[0]["status"] == "inactive"
    assert _read(visitor, world, f"Patient/{me.patient_id}") == 200
    after = visitor.get("/portal/blocks").text
    assert 'id="lifted-heading"' in after and lift_path not in after
    assert visitor.get(lift_path).status_code == 409  # lifted already


def test_block_a_unit_and_one_document(world: World, visitor: TestClient) -> None:
    me = world.citizen()
    world.encounter(me.patient_id, WARD)
    document = _epikrise(world, me)
    assert _read(visitor, world, f"DocumentReference/{document}") == 200
    signed_in(visitor, me)
    offered = blocks.candidates(world.as_citizen(me), me.patient_id)
    kinds = {(c.reference, c.kind) for c in offered}
    assert (f"Organization/{WARD}", blocks.UNIT) in kinds
    assert ("Organization/stolav", blocks.ORGANIZATION) in kinds
    assert ("Organization/kommune-5059-fastlegekontor", blocks.UNIT) in kinds

    units = visitor.get("/portal/blocks/new?kind=unit")
    assert f'value="Organization/{WARD}"' in units.text
    assert f'value="DocumentReference/{document}"' in units.text
    review = post_form(
        visitor,
        "/portal/blocks/new",
        {
            "kind": "unit",
            "target": f"Organization/{WARD}",
            "scope": "document",
            "document": f"DocumentReference/{document}",
            "step": "review",
        },
    )
    assert review.status_code == 200 and "Epikrise lungeavdelingen" in review.text
    done = post_form(
        visitor,
        "/portal/blocks/new",
        {
            "kind": "unit",
            "target": f"Organization/{WARD}",
            "scope": "document",
            "document": f"DocumentReference/{document}",
            "step": "confirm",
        },
    )
    assert done.status_code == 303
    assert _read(visitor, world, f"DocumentReference/{document}") == 404
    assert _read(visitor, world, f"Patient/{me.patient_id}") == 200  # the rest is not blocked
    listed = text_of(visitor.get("/portal/blocks").text)
    assert "Epikrise lungeavdelingen" in listed


def test_only_offered_choices_are_accepted(world: World, visitor: TestClient) -> None:
    me = world.citizen()
    signed_in(visitor, me)
    stranger = post_form(
        visitor,
        "/portal/blocks/new",
        {"kind": "practitioner", "target": "Practitioner/hpr-000000000", "step": "confirm"},
    )
    assert stranger.status_code == 422
    missing = post_form(visitor, "/portal/blocks/new", {"kind": "unit", "step": "review"})
    assert missing.status_code == 422 and 'id="target-error"' in missing.text
    forged = visitor.post(
        "/portal/blocks/new",
        data={"csrf": "forged", "kind": "unit", "target": "Organization/stolav"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert not _blocks_of(world, me)


def test_another_citizens_block_cannot_be_lifted(world: World, visitor: TestClient) -> None:
    owner, other = world.citizen(), world.citizen(given="Ola")
    block_id = world.create(
        consents.block_consent(
            owner.patient_id, f"Organization/{WARD}", performer=f"Patient/{owner.patient_id}"
        )
    )
    signed_in(visitor, other)
    assert visitor.get(f"/portal/blocks/{block_id}/lift").status_code == 404
    refused = post_form(visitor, f"/portal/blocks/{block_id}/lift", {"version": "1"})
    assert refused.status_code == 404
    assert world.read("Consent", block_id)["status"] == "active"


def test_who_may_block(world: World, visitor: TestClient) -> None:
    patient = world.citizen(given="Ingrid")
    standard, full = world.citizen(given="Per"), world.citizen(given="Kari")
    world.proxy(patient.patient_id, standard, "standard")
    world.proxy(patient.patient_id, full, "full")
    world.encounter(patient.patient_id, WARD)
    signed_in(visitor, standard, acting_for=patient.patient_id)
    assert visitor.get("/portal/blocks").status_code == 403
    assert visitor.get("/portal/blocks/new").status_code == 403
    with TestClient(visitor.app, base_url="https://testserver") as kari:
        signed_in(kari, full, acting_for=patient.patient_id)
        assert kari.get("/portal/blocks").status_code == 200
        done = post_form(
            kari,
            "/portal/blocks/new",
            {"kind": "unit", "target": f"Organization/{WARD}", "step": "confirm"},
        )
        assert done.status_code == 303, done.text
    made = _blocks_of(world, patient)
    assert made and made[0]["performer"] == [{"reference": f"Patient/{patient.patient_id}"}]
