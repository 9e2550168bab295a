"""A small world for identity tests: an organisation chain, a health worker in one role,
and a citizen, all with fresh ids (the suite database is shared)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from fellesjournal.norway.identifiers import FNR_SYSTEM, HPR_SYSTEM
from fellesjournal.region.fhir import ROLE_SYSTEM, VOLVEN_8655, VOLVEN_9060
from fellesjournal.service.repository import GuardedRepository
from tests.mpi.people import fresh_fnr

_rng = random.SystemRandom()


def fresh_hpr() -> str:
    """A well-formed 9-digit HPR-nummer below the region's synthetic range (990 000 000+)."""
    return str(_rng.randint(800_000_000, 899_999_999))


def _org(res_id: str, name: str, parent: str | None = None, active: bool = True) -> dict[str, Any]:
    org: dict[str, Any] = {
        "resourceType": "Organization",
        "id": res_id,
        "active": active,
        "name": name,
    }
    if parent:
        org["partOf"] = {"reference": f"Organization/{parent}"}
    return org


def role_resource(
    role_id: str, practitioner_id: str, unit_id: str, *, work_role: str = "doctor", **extra: Any
) -> dict[str, Any]:
    return {
        "resourceType": "PractitionerRole",
        "id": role_id,
        "active": True,
        "practitioner": {"reference": f"Practitioner/{practitioner_id}"},
        "organization": {"reference": f"Organization/{unit_id}"},
        "code": [{"coding": [{"system": ROLE_SYSTEM, "code": work_role}]}],
        "specialty": [{"coding": [{"system": VOLVEN_8655, "code": "S0208"}]}],
        **extra,
    }


@dataclass
class World:
    """Ids of what :func:`world` wrote."""

    top: str  #: the RHF-like top organisation
    trust: str
    unit: str
    hpr: str
    practitioner_id: str
    role_id: str
    other_hpr: str  #: a second health worker
    other_practitioner_id: str
    fnr: str
    patient_id: str


@pytest.fixture()
def world(repo: GuardedRepository) -> World:
    u = uuid.uuid4().hex[:10]
    hpr, other_hpr = fresh_hpr(), fresh_hpr()
    w = World(
        top=f"top-{u}",
        trust=f"trust-{u}",
        unit=f"trust-{u}-ward",
        hpr=hpr,
        practitioner_id=f"hpr-{hpr}",
        role_id=f"trust-{u}-ward-{hpr}",
        other_hpr=other_hpr,
        other_practitioner_id=f"hpr-{other_hpr}",
        fnr=fresh_fnr(),
        patient_id=f"pat-{u}",
    )
    resources = [
        _org(w.top, "Topp RHF"),
        _org(w.trust, "Test HF", w.top),
        _org(w.unit, "Sengepost", w.trust),
    ]
    for h, pid in ((w.hpr, w.practitioner_id), (w.other_hpr, w.other_practitioner_id)):
        resources.append(
            {
                "resourceType": "Practitioner",
                "id": pid,
                "active": True,
                "identifier": [{"system": HPR_SYSTEM, "value": h}],
                "qualification": [{"code": {"coding": [{"system": VOLVEN_9060, "code": "LE"}]}}],
            }
        )
    resources.append(role_resource(w.role_id, w.practitioner_id, w.unit))
    resources.append(
        {
            "resourceType": "Patient",
            "id": w.patient_id,
            "identifier": [{"system": FNR_SYSTEM, "value": w.fnr}],
            "name": [{"family": "Testesen", "given": ["Tone"]}],
        }
    )
    for res in resources:
        repo.update(res["resourceType"], res["id"], res)
    return w
