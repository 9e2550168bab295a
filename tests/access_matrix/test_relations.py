"""Each care-relation kind present, absent and expired; each work role.

A health worker sees a record while their unit (or they themselves, for the personal
kinds) has a care relation with the patient (``access/relation_rules.py``): the whole
record but the PSY-labelled Observation, which no one here is cleared for. Without a
relation — none at all, one at a sibling unit, one held only by a parent organisation,
one whose time is up or whose status does not count — they see nothing, on any path.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.access_matrix.paths import check_view
from tests.access_matrix.world import World

#: (record, caller, has access)
RELATIONS = [
    # fastlege: personal, whichever unit the worker acts in
    ("fastlege", "doc", True),
    ("fastlege", "doc_alt", True),
    ("fastlege", "nurse", False),
    ("fastlege-other", "doc", False),
    ("fastlege-other", "doc_sibling", True),
    # fastlegekontor: the GP is the unit, or a colleague's role at it
    ("kontor-unit", "doc", True),
    ("kontor-unit", "doc_sibling", False),
    ("kontor-colleague", "doc", True),
    ("kontor-parent", "doc", False),
    ("kontor-parent", "doc_clinic", True),
    # encounters: open at the unit, recently finished; not elsewhere, expired or planned
    ("enc-open", "doc", True),
    ("enc-arrived", "doc", True),
    ("enc-open-sibling", "doc", False),
    ("enc-open-sibling", "doc_sibling", True),
    ("enc-open-clinic", "doc", False),
    ("enc-open-clinic", "doc_clinic", True),
    ("enc-open", "doc_clinic", False),
    ("enc-recent", "doc", True),
    ("enc-expired", "doc", False),
    ("enc-planned", "doc", False),
    # episodes of care
    ("eoc-active", "doc", True),
    ("eoc-finished", "doc", False),
    ("eoc-sibling", "doc", False),
    # referrals
    ("ref-active", "doc", True),
    ("ref-completed", "doc", False),
    ("ref-parent", "doc", False),
    ("ref-personal", "doc", True),
    ("ref-personal", "nurse", False),
    # appointments: within 30 days either side, with the unit's people or the worker
    ("apt-booked", "doc", True),
    ("apt-personal", "doc", True),
    ("apt-future", "doc", False),
    ("apt-past", "doc", False),
    ("apt-cancelled", "doc", False),
    ("apt-sibling", "doc", False),
    ("apt-sibling", "doc_sibling", True),
    # care teams
    ("ct-active", "doc", True),
    ("ct-inactive", "doc", False),
    ("ct-other", "doc", False),
    # nothing at all
    ("none", "doc", False),
    ("none", "nurse", False),
    ("none", "doc_other", False),
]


@pytest.mark.parametrize(
    ("record", "caller", "access"),
    RELATIONS,
    ids=[f"{r}-{c}-{'yes' if a else 'no'}" for r, c, a in RELATIONS],
)
def test_care_relation(
    http: TestClient, world: World, record: str, caller: str, access: bool
) -> None:
    rec = world.records[record]
    check_view(http, world, world.caller(caller), rec, rec.without("psy") if access else ())


#: (caller, what the role reads in a record it has a relation with)
ROLES = [
    ("doc", "all"),
    ("nurse", "all"),
    ("therapist", "all"),
    ("leader", "all"),
    ("secretary", "administrative"),  # Patient and Encounter, no Observation or Condition
    ("privacy", "patient"),  # who the patient is, nothing of the record
]


@pytest.mark.parametrize(("caller", "reads"), ROLES, ids=[c for c, _ in ROLES])
def test_work_role(http: TestClient, world: World, caller: str, reads: str) -> None:
    """The role narrows the view in a record the unit has a relation with (``enc-open``):
    the caller's types are the role's, so the check also expects 403 on type searches
    and 404 on reads of the types the role does not cover."""
    rec = world.records["enc-open"]
    c = world.caller(caller)
    expected = {
        "all": rec.without("psy"),
        "administrative": rec.only("patient", "enc"),
        "patient": rec.only("patient"),
    }[reads]
    assert {r for r in rec.without("psy") if c.reads(r.partition("/")[0])} == expected
    check_view(http, world, c, rec, rec.without("psy"))


@pytest.mark.parametrize("caller", ["secretary", "privacy", "leader", "therapist"])
def test_work_role_without_relation(http: TestClient, world: World, caller: str) -> None:
    check_view(http, world, world.caller(caller), world.records["none"], ())
