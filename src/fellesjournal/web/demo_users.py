"""The health workers the built-in issuer's sign-in page offers (demo and tests).

In production the workspace signs in through HelseID; the built-in issuer stands in for
it and lists a few of the region's synthetic staff (``region/seed.py``), one per kind of
work the workspace serves: GP and GP-office secretary, ward doctor and nurse, emergency
doctor, outpatient secretary, wards in Møre og Romsdal (one nynorsk), home nurse,
legevakt, and the privacy officer. (The demo population has patients at the first and
at the Møre og Romsdal wards from 60 persons on; the others fill up with more.) Anyone
else of the region's staff can sign in by HPR-nummer on the same page.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from fellesjournal.region.model import Region
from fellesjournal.region.seed import build_region

#: (unit id, role): the first of the unit's staff in that role is offered.
CURATED: tuple[tuple[str, str], ...] = (
    ("kommune-5059-fastlegekontor", "doctor"),
    ("kommune-5059-fastlegekontor", "secretary"),
    ("stolav-lunge-sengepost", "doctor"),
    ("stolav-lunge-sengepost", "nurse"),
    ("stolav-akuttmottak", "doctor"),
    ("stolav-medisin-poliklinikk", "secretary"),
    ("hmr-molde-kirurgi", "doctor"),
    ("hmr-volda-medisin", "nurse"),
    ("kommune-5001-hjemmetjeneste-2", "nurse"),
    ("kommune-1508-legevakt", "doctor"),
    ("stolav-personvern", "privacy-officer"),
)


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A member of the region's staff in one work role."""

    hpr: str
    name: str
    role: str  #: ``doctor``, ``nurse``... (``region.model.ROLES``)
    unit_id: str
    unit_name: str
    organization_name: str

    @property
    def practitioner_id(self) -> str:
        return f"hpr-{self.hpr}"

    @property
    def role_id(self) -> str:
        return f"{self.unit_id}-{self.hpr}"


@functools.cache
def demo_users() -> tuple[DemoUser, ...]:
    """The curated users, in :data:`CURATED` order (built from the region, no I/O)."""
    region = build_region()
    names = _unit_names(region)
    out = []
    for unit_id, role in CURATED:
        unit_name, org_name = names[unit_id]
        staff = next(s for s in region.staff() if s.unit_id == unit_id and s.role == role)
        out.append(
            DemoUser(staff.hpr, f"{staff.given} {staff.family}", role, unit_id, unit_name, org_name)
        )
    return tuple(out)


def _unit_names(region: Region) -> dict[str, tuple[str, str]]:
    names: dict[str, tuple[str, str]] = {}
    for trust in region.trusts:
        for unit in trust.units:
            names[unit.id] = (unit.name, trust.name)
    for municipality in region.municipalities:
        for unit in municipality.units:
            names[unit.id] = (unit.name, f"{municipality.name} kommune")
    return names
