"""Blocks (sperring): a named practitioner, a PractitionerRole, a unit, an organisation;
the whole record or single resources; and which of them break-the-glass lifts.

Every blocked record also has an open Encounter at the unit, so the block is all that
stands between the unit's staff and the record. A block on the person (or their role)
holds even after break-the-glass; one on the unit or an organisation above it yields to
it (``access/consents.py``).
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.access import consents
from tests.access_matrix.paths import check_view, glance
from tests.access_matrix.scenarios import (
    BLOCKS,
    NONE,
    RELATION,
    Row,
    View,
    allowed,
    check_row,
    params,
)
from tests.access_matrix.world import Caller, World


@pytest.mark.parametrize("row", params(BLOCKS))
def test_block(http: TestClient, world: World, row: Row) -> None:
    check_row(http, world, row)


def break_glass(
    http: TestClient, caller: Caller, patient_id: str, reason: str = "emergency"
) -> Any:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "reason", "valueCode": reason},
            {"name": "text", "valueString": "Bevisstløs i akuttmottaket"},
        ],
    }
    return http.post(
        f"/fhir/Patient/{patient_id}/$break-glass", json=body, headers=caller.headers()
    )


#: (record, what the doctor's glance finds hidden before, or None for nothing seen;
#: the status of ``$break-glass``; the view after it, as in ``scenarios.py``)
LIFTED: list[tuple[str, tuple[str, ...] | None, int, View]] = [
    ("bg-blk-unit", None, 200, RELATION),
    ("bg-blk-org", None, 200, RELATION),
    ("bg-blk-person", None, 403, NONE),  # holds even in an emergency
    ("bg-blk-role", None, 403, NONE),
    ("bg-blk1-unit-norel", None, 200, RELATION),
    ("bg-blk1-person", ("obs",), 200, ("psy", "obs")),  # a personal block holds
]


@pytest.mark.parametrize(
    ("record", "before", "status", "after"), LIFTED, ids=[r for r, *_ in LIFTED]
)
def test_break_glass_over_a_block(
    http: TestClient,
    world: World,
    record: str,
    before: tuple[str, ...] | None,
    status: int,
    after: View,
) -> None:
    rec = world.records[record]
    doc = world.caller("doc")
    glance(http, doc, rec, sees=before is not None, hidden=before or ())
    resp = break_glass(http, doc, rec.patient_id)
    world.changed()
    assert resp.status_code == status, resp.text
    check_view(http, world, doc, rec, allowed(world, record, after))


def test_break_glass_lifts_a_unit_block_of_single_resources(http: TestClient, world: World) -> None:
    """A unit's block of single resources yields to break-the-glass, whether or not the
    unit also has a care relation (here it has: an open Encounter)."""
    rec = world.records["bg-blk1-unit"]
    doc = world.caller("doc")
    glance(http, doc, rec, sees=True)
    assert http.get(f"/fhir/{rec['cond']}", headers=doc.headers()).status_code == 404
    assert break_glass(http, doc, rec.patient_id).status_code == 200
    world.changed()
    check_view(http, world, doc, rec, rec.without("psy"))


def test_a_citizen_blocks_a_doctor(http: TestClient, world: World) -> None:
    """The patient writes the block themselves (a Consent in their record); from then on
    the doctor sees nothing, the doctor's colleague everything."""
    rec = world.records["cit-block"]
    doc, nurse = world.caller("doc"), world.caller("nurse")
    glance(http, doc, rec, sees=True)
    body = consents.block_consent(rec.patient_id, world.staff["doc"].practitioner)
    citizen = world.citizen("cit-block", "patient/*.*")
    resp = http.post("/fhir/Consent", json=body, headers=citizen.headers())
    world.changed()
    assert resp.status_code == 201, resp.text
    check_view(http, world, doc, rec, ())
    check_view(http, world, nurse, rec, rec.without("psy"))


#: (record, caller, how): a block of single resources names the caller (or their unit),
#: who may see the rest of the record, the block's Consent included.
LIFTS = [
    ("lift-person-put", "doc", "inactive"),
    ("lift-person-delete", "doc", "delete"),
    ("lift-person-patch", "doc", "patch"),
    ("lift-unit-put", "nurse", "inactive"),
    ("lift-unit-data", "nurse", "narrow"),
]


@pytest.mark.parametrize(("record", "caller", "how"), LIFTS, ids=[r for r, *_ in LIFTS])
def test_the_blocked_may_not_lift_their_block(
    http: TestClient, world: World, record: str, caller: str, how: str
) -> None:
    """A block protects the patient from the person or unit it names: they must not be
    able to end it (set it inactive, delete it, or take the resource out of it), even
    though they may see the Consent in the record. The patient (or staff on their
    behalf elsewhere) lifts it."""
    rec = world.records[record]
    who = world.caller(caller)
    blocked = rec["obs"] if "person" in record else rec["cond"]
    block = rec["block"]
    assert http.get(f"/fhir/{blocked}", headers=who.headers()).status_code == 404
    content = http.get(f"/fhir/{block}", headers=world.system().headers()).json()
    if how == "inactive":
        resp = http.put(
            f"/fhir/{block}", json={**content, "status": "inactive"}, headers=who.headers()
        )
    elif how == "narrow":  # the block names another resource instead
        other = [{"meaning": "instance", "reference": {"reference": rec["obs2"]}}]
        narrowed = {**content, "provision": {**content["provision"], "data": other}}
        resp = http.put(f"/fhir/{block}", json=narrowed, headers=who.headers())
    elif how == "patch":
        patch = [{"op": "replace", "path": "/status", "value": "inactive"}]
        headers = {**who.headers(), "Content-Type": "application/json-patch+json"}
        resp = http.patch(f"/fhir/{block}", json=patch, headers=headers)
    else:
        resp = http.delete(f"/fhir/{block}", headers=who.headers())
    world.changed()
    assert resp.status_code in (403, 404), resp.text
    assert http.get(f"/fhir/{blocked}", headers=who.headers()).status_code == 404
    now = http.get(f"/fhir/{block}", headers=world.system().headers()).json()
    assert now["meta"]["versionId"] == content["meta"]["versionId"]


def test_break_the_glass_does_not_lift_the_block_for_ever(http: TestClient, world: World) -> None:
    """Break-the-glass opens a unit-blocked record for a few hours, the block's Consent
    with it; ending the block must still be refused to the unit it names."""
    rec = world.records["lift-after-glass"]
    doc = world.caller("doc")
    assert break_glass(http, doc, rec.patient_id).status_code == 200
    world.changed()
    content = http.get(f"/fhir/{rec['block']}", headers=doc.headers())
    assert content.status_code == 200  # the grant shows the whole record
    ended = {**content.json(), "status": "inactive"}
    resp = http.put(f"/fhir/{rec['block']}", json=ended, headers=doc.headers())
    world.changed()
    assert resp.status_code in (403, 404), resp.text
    nurse = world.caller("nurse")  # a colleague without a grant: still blocked
    assert http.get(f"/fhir/{rec.patient}", headers=nurse.headers()).status_code == 404
