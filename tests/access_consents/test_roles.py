"""The role table: what each work role may read and write in a record."""

from __future__ import annotations

import pytest

from fellesjournal.access.roles import ALL_RECORD, ROLE_PERMISSIONS, allows
from fellesjournal.region.model import ROLES
from fellesjournal.search.registry import load_registry


def test_every_region_role_has_permissions_and_known_types() -> None:
    assert set(ROLES) == set(ROLE_PERMISSIONS)
    types = load_registry().resource_types
    for perms in ROLE_PERMISSIONS.values():
        assert perms.reads <= types and perms.writes <= types
        assert perms.writes <= perms.reads  # nobody writes what they may not read
        assert perms.reads <= ALL_RECORD


@pytest.mark.parametrize(
    ("role", "action", "res_type", "allowed"),
    [
        ("doctor", "write", "Condition", True),
        ("doctor", "read", "DocumentReference", True),
        ("nurse", "write", "Observation", True),
        ("nurse", "write", "MedicationRequest", False),  # prescribing is the doctor's
        ("secretary", "read", "Appointment", True),
        ("secretary", "read", "DocumentReference", False),  # no clinical notes
        ("secretary", "read", "Observation", False),
        ("secretary", "write", "Consent", False),
        ("therapist", "write", "Condition", False),
        ("privacy-officer", "read", "Observation", False),
        ("privacy-officer", "read", "Patient", True),
        ("unknown-role", "read", "Patient", False),
    ],
)
def test_role_matrix(role: str, action: str, res_type: str, allowed: bool) -> None:
    assert allows(role, action, res_type) is allowed
