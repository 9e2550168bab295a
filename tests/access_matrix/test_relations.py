"""Each care-relation kind present, absent and expired; each work role.

A health worker sees a record while their unit (or they themselves, for the personal
kinds) has a care relation with the patient (``access/relation_rules.py``): the whole
record but the PSY-labelled Observation, which nobody here is cleared for. Without a
relation — none at all, one at a sibling unit, one held only by a parent organisation,
one whose time is up or whose status does not count — they see nothing, on any path.
The rows are in ``scenarios.py``.
"""

from __future__ import annotations

from collections import Counter

import pytest
from starlette.testclient import TestClient

from tests.access_matrix.scenarios import RELATIONS, ROLES, ROWS, Row, caller, check_row, params
from tests.access_matrix.world import World


@pytest.mark.parametrize("row", params(RELATIONS))
def test_care_relation(http: TestClient, world: World, row: Row) -> None:
    check_row(http, world, row)


#: What each role reads of a record its unit has a relation with (``enc-open``).
ROLE_READS = {
    "nurse": ("patient", "enc", "obs", "obs2", "cond"),
    "therapist": ("patient", "enc", "obs", "obs2", "cond"),
    "leader": ("patient", "enc", "obs", "obs2", "cond"),
    "secretary": ("patient", "enc"),  # administrative types only
    "privacy": ("patient",),  # who the patient is, nothing of the record
}


@pytest.mark.parametrize("row", params(ROLES))
def test_work_role(http: TestClient, world: World, row: Row) -> None:
    """The role narrows the types: the check expects 403 on searches and 404 on reads of
    the types it does not cover, and nothing of them in includes or histories."""
    if row.record == "enc-open":
        rec = world.records["enc-open"]
        who = caller(world, row.caller)
        narrowed = {r for r in rec.without("psy") if who.reads(r.partition("/")[0])}
        assert narrowed == rec.only(*ROLE_READS[row.caller])
    check_row(http, world, row)


def test_each_caller_meets_each_record_once() -> None:
    """The rows of one caller are asked together, one view per record."""
    twice = [k for k, n in Counter((r.caller, r.record) for r in ROWS).items() if n > 1]
    assert not twice
    assert len(ROWS) >= 60
