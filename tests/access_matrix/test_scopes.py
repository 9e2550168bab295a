"""System tokens, and SMART scopes that narrow a token's reach but never widen it.

A scope names a context (``system/``, ``user/``, ``patient/``), a type and what may be
done. A practitioner's token counts only ``user/`` scopes, a citizen's ``patient/`` and
``user/`` ones, a system client's ``system/`` ones; whatever the scopes say, the care
relation, the labels and the blocks still decide. The caller's types (the record types
its scopes and role read at all) narrow each view: 404 on reads and 403 on searches of
the other types, nothing of them in includes or histories. The rows are in
``scenarios.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.access_matrix.paths import glance
from tests.access_matrix.scenarios import SCOPES, Row, check_row, params
from tests.access_matrix.world import Caller, World


@pytest.mark.parametrize("row", params(SCOPES))
def test_scopes_narrow(http: TestClient, world: World, row: Row) -> None:
    check_row(http, world, row)


def _caller(world: World, who: str, scope: str, record: str) -> Caller:
    if who == "system":
        return world.system(scope)
    if who == "citizen":
        return world.citizen(record, scope)
    return world.caller(who, scope)


def _observation(patient: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "Blodtrykk"},
        "subject": {"reference": patient},
    }


WRITES = [
    ("doc", "user/Observation.read", 403),
    ("doc", "user/Patient.write", 403),
    ("doc", "user/Observation.rs", 403),
    ("doc", "system/*.*", 403),
    ("doc", "user/Observation.write", 201),
    ("doc", "user/Observation.c", 201),
    ("citizen", "patient/*.*", 403),
    ("system", "system/Patient.read", 403),
    ("system", "system/Observation.write", 201),
]


@pytest.mark.parametrize(("who", "scope", "status"), WRITES, ids=[f"{w}-{s}" for w, s, _ in WRITES])
def test_write_scopes(http: TestClient, world: World, who: str, scope: str, status: int) -> None:
    """A read scope never writes; a write scope writes only what the role and the care
    relation allow (here they do: ``scope`` has an open Encounter at the unit)."""
    caller = _caller(world, who, scope, "scope")
    rec = world.records["scope"]
    resp = http.post("/fhir/Observation", json=_observation(rec.patient), headers=caller.headers())
    assert resp.status_code == status, resp.text


def test_a_system_scope_of_one_type_searches_no_other(http: TestClient, world: World) -> None:
    rec = world.records["scope"]
    patients = world.system("system/Patient.read")
    resp = http.get(f"/fhir/Observation?subject={rec.patient}", headers=patients.headers())
    assert resp.status_code == 403
    resp = http.get(f"/fhir/{rec.patient}", headers=patients.headers())
    assert resp.status_code == 200


#: (record, a practitioner token's scope): none of them writes anything.
READ_ONLY = [
    ("scope-bg-system", "system/*.*"),  # no scope a practitioner's token may use
    ("scope-bg-observations", "user/Observation.read"),
    ("scope-bg-read", "user/*.read"),
]


@pytest.mark.parametrize(("record", "scope"), READ_ONLY, ids=[s for _, s in READ_ONLY])
def test_a_token_that_may_not_write_does_not_break_the_glass(
    http: TestClient, world: World, record: str, scope: str
) -> None:
    """``$break-glass`` writes a grant (a Consent) and opens a record: a token whose
    scopes write nothing may not do it, whatever the role would allow."""
    rec = world.records[record]
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "reason", "valueCode": "emergency"},
            {"name": "text", "valueString": "Bevisstløs i akuttmottaket"},
        ],
    }
    resp = http.post(
        f"/fhir/Patient/{rec.patient_id}/$break-glass",
        json=body,
        headers=world.caller("doc", scope).headers(),
    )
    world.changed()
    assert resp.status_code == 403, resp.text
    glance(http, world.caller("doc"), rec, sees=False)


def test_a_token_without_a_usable_scope_gets_no_explanation(http: TestClient, world: World) -> None:
    """A practitioner's token with only ``system/`` scopes reads nothing, the access
    explanation (relations, blocks, grants of a patient) included."""
    rec = world.records["scope"]
    resp = http.get(
        f"/fhir/Patient/{rec.patient_id}/$access-explain",
        headers=world.caller("doc", "system/*.*").headers(),
    )
    assert resp.status_code in (403, 404), resp.text


@pytest.mark.parametrize("scope", ["patient/Observation.read", "system/*.*"])
def test_a_citizens_narrow_token_does_not_read_the_access_log(
    http: TestClient, world: World, scope: str
) -> None:
    """The access log is AuditEvents: a token whose scopes do not cover AuditEvent (an
    app the citizen let read their Observations) does not read who treated them."""
    rec = world.records["scope"]
    resp = http.get(
        f"/fhir/AuditEvent?patient={rec.patient_id}",
        headers=world.citizen("scope", scope).headers(),
    )
    assert resp.status_code == 403, resp.text
    full = world.citizen("scope", "patient/*.read")
    resp = http.get(f"/fhir/AuditEvent?patient={rec.patient_id}", headers=full.headers())
    assert resp.status_code == 200 and resp.json()["total"] > 0
