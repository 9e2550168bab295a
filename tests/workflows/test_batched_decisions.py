"""A search page's patients are decided in one batch (``policy.patient_decisions``):
the same decisions as one by one, blocks and break-the-glass included."""

from __future__ import annotations

import time

from fellesjournal.access import consents, policy
from fellesjournal.access.actor import Actor
from fellesjournal.access.context import WorkContext
from tests.workflows.conftest import World, staff

UNIT = "stolav-hjerte-sengepost"


def test_batched_decisions_equal_single_ones(world: World) -> None:
    nurse = staff(UNIT, "nurse")
    work = WorkContext(
        practitioner_id=nurse.practitioner_id,
        hpr=nurse.hpr,
        role_id=nurse.role_id,
        unit_id=UNIT,
        parents=("stolav-hjerte", "stolav", "hmn"),
        role="nurse",
    )
    actor = Actor("practitioner", nurse.hpr, scopes=("user/*.*",), work=work)
    related, blocked, glass, glass_blocked, stranger = (world.patient() for _ in range(5))
    for pid in (related, blocked, glass_blocked):
        stay = {
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": f"Patient/{pid}"},
            "serviceProvider": {"reference": f"Organization/{UNIT}"},
        }
        assert world.system.post("/fhir/Encounter", json=stay).status_code == 201
    for pid in (blocked, glass_blocked):
        body = consents.block_consent(pid, f"Organization/{UNIT}", resources=[])
        assert world.system.post("/fhir/Consent", json=body).status_code == 201
    client = world.as_staff(nurse)
    for pid in (glass, glass_blocked):
        r = client.post(
            f"/fhir/Patient/{pid}/$break-glass",
            json={
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "reason", "valueCode": "emergency"},
                    {"name": "text", "valueString": "Akutt"},
                ],
            },
        )
        assert r.status_code == 200, r.text
    ids = [related, blocked, glass, glass_blocked, stranger]
    now = int(time.time() * 1_000_000)
    settings = world.settings.relation_settings
    with world.repo.reading() as tx:
        batch = policy.patient_decisions(tx, actor, ids, now, settings)
        single = {pid: policy.patient_decision(tx, actor, pid, now, settings) for pid in ids}
    assert batch == single
    assert [batch[p].allowed for p in ids] == [True, False, True, True, False]
