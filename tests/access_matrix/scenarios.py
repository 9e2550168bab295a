"""The static rows of the access matrix: a caller, a record, and the view the rules give.

Rows are grouped by dimension (care relations, roles, labels, blocks, scopes, citizens,
cross-record references); the test modules parametrize over their dimension. No test
changes these records, so all the rows of one caller are asked together, once per run
(:func:`check_row`); scenarios that change state live in their test modules.

A *caller* is a staff key of the world (``doc``), optionally with the token's scope after
``|`` (``doc|user/Observation.read``), or ``system|{scope}``, or ``citizen:{record}|{scope}``.
A *view* is ``ALL`` (every resource of the record), ``NONE``, or the labels of the
record's resources the caller must not see (``("psy",)``: all but the PSY Observation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import pytest
from starlette.testclient import TestClient

from tests.access_matrix.paths import check_in_group, check_view
from tests.access_matrix.world import Caller, World

ALL: Final = "all"
NONE: Final = "none"
#: The PSY Observation every record holds: nobody below is cleared for it.
RELATION: Final = ("psy",)
#: The labelled resources of the ``labels`` record.
LABELLED: Final = ("psy", "sex", "psy_sex", "cond")

View = str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Row:
    dimension: str
    record: str
    caller: str
    view: View
    #: A known product bug: the row is checked alone, as a strict xfail.
    bug: str | None = None

    @property
    def id(self) -> str:
        return f"{self.record}-{self.caller.replace('|', '[').replace(' ', '+')}"


def rows(dimension: str, *specs: tuple[Any, ...]) -> list[Row]:
    return [Row(dimension, *spec) for spec in specs]


RELATIONS = rows(
    "relation",
    # fastlege: personal, whichever unit the worker acts in
    ("fastlege", "doc", RELATION),
    ("fastlege", "doc_alt", RELATION),
    ("fastlege", "nurse", NONE),
    ("fastlege-other", "doc", NONE),
    ("fastlege-other", "doc_sibling", RELATION),
    # fastlegekontor: the GP is the unit, or a colleague's role at it
    ("kontor-unit", "doc", RELATION),
    ("kontor-unit", "doc_sibling", NONE),
    ("kontor-colleague", "doc", RELATION),
    ("kontor-parent", "doc", NONE),  # held by the parent organisation only
    ("kontor-parent", "doc_clinic", RELATION),
    # encounters: open at the unit, recently finished; not elsewhere, expired or planned
    ("enc-open", "doc", RELATION),
    ("enc-arrived", "doc", RELATION),
    ("enc-open-sibling", "doc", NONE),  # at another unit
    ("enc-open-sibling", "doc_sibling", RELATION),
    ("enc-open-clinic", "doc", NONE),  # at the parent organisation only
    ("enc-open-clinic", "doc_clinic", RELATION),
    ("enc-open", "doc_clinic", NONE),  # a child unit's relation does not reach the parent
    ("enc-recent", "doc", RELATION),
    ("enc-expired", "doc", NONE),  # finished 40 days ago
    ("enc-planned", "doc", NONE),
    # episodes of care
    ("eoc-active", "doc", RELATION),
    ("eoc-finished", "doc", NONE),
    ("eoc-sibling", "doc", NONE),
    # referrals; a colleague's PractitionerRole stands for the unit (unit members)
    ("ref-active", "doc", RELATION),
    ("ref-completed", "doc", NONE),
    ("ref-parent", "doc", NONE),
    ("ref-personal", "doc", RELATION),
    ("ref-personal", "nurse", RELATION),
    ("ref-personal", "doc_sibling", NONE),
    # appointments: 30 days either side, with the unit's people or the worker
    ("apt-booked", "doc", RELATION),
    ("apt-personal", "doc", RELATION),
    ("apt-future", "doc", NONE),  # 45 days ahead
    ("apt-past", "doc", NONE),  # 45 days ago
    ("apt-cancelled", "doc", NONE),
    ("apt-sibling", "doc", NONE),
    ("apt-sibling", "doc_sibling", RELATION),
    # care teams
    ("ct-active", "doc", RELATION),
    ("ct-inactive", "doc", NONE),
    ("ct-other", "doc", NONE),
    # nothing at all
    ("none", "doc", NONE),
    ("none", "nurse", NONE),
    ("none", "doc_other", NONE),
)

#: Each role in a record its unit has a relation with (``enc-open``) and in one it has
#: none with: the caller's role narrows the types (secretary: Patient and Encounter;
#: privacy officer: Patient), the relation decides the record.
ROLES = rows(
    "role",
    ("enc-open", "nurse", RELATION),
    ("enc-open", "therapist", RELATION),
    ("enc-open", "leader", RELATION),
    ("enc-open", "secretary", RELATION),
    ("enc-open", "privacy", RELATION),
    ("none", "therapist", NONE),
    ("none", "leader", NONE),
    ("none", "secretary", NONE),
    ("none", "privacy", NONE),
)

LABELS = rows(
    "label",
    ("labels", "doc", LABELLED),
    ("labels", "nurse", LABELLED),
    ("labels", "doc_psy", ("sex", "psy_sex", "cond")),  # cleared on the PractitionerRole
    ("labels", "doc_psy_unit", ("sex", "psy_sex", "cond")),  # cleared through the unit
    ("none", "doc_psy", NONE),  # a clearance opens no record
    ("labels", "system|system/*.*", ALL),
    ("labels", "citizen:labels|patient/*.read", ALL),  # their own labelled data too
)

BLOCKS = rows(
    "block",
    ("blk-person", "doc", NONE),
    ("blk-person", "nurse", RELATION),  # a colleague at the same unit is not blocked
    ("blk-role", "doc", NONE),
    ("blk-role", "doc_alt", RELATION),  # the same person in another role (relation there)
    ("blk-role", "nurse", RELATION),
    ("blk-unit", "doc", NONE),
    ("blk-unit", "nurse", NONE),
    ("blk-unit", "doc_sibling", RELATION),  # a sibling unit with its own relation
    ("blk-org", "doc", NONE),  # the clinic above the unit
    ("blk-org", "doc_psy", NONE),
    ("blk-org", "doc_other", RELATION),  # another health trust with its own relation
    ("blk-trust", "doc", NONE),  # the health trust two levels up
    ("blk1-person", "doc", ("psy", "obs")),
    ("blk1-person", "nurse", RELATION),
    ("blk1-role", "doc", ("psy", "obs2")),
    ("blk1-role", "nurse", RELATION),
    ("blk1-unit", "doc", ("psy", "cond")),
    ("blk1-unit", "nurse", ("psy", "cond")),
    ("blk1-org", "doc", ("psy", "obs")),
    ("blk-inactive", "doc", RELATION),  # a lifted block blocks nothing
    ("blk-elsewhere", "doc", RELATION),  # a block of the sibling unit
    ("blk-permit", "doc", NONE),  # a sperring is a block, whatever its provision.type
)

#: SMART scopes: a practitioner's token counts only ``user/`` scopes, a citizen's
#: ``patient/`` and ``user/``, a system client's ``system/``; they narrow the types
#: (404 on reads and 403 on searches of the others), never the rules past them.
SCOPES = rows(
    "scope",
    ("scope", "system|system/*.*", ALL),
    ("scope", "system|system/Patient.read", ALL),  # no Observation
    ("scope", "system|user/*.* patient/*.*", NONE),  # no system/ scope: nothing
    ("scope", "doc|user/Observation.read", RELATION),  # no Patient
    ("none", "doc|user/Observation.read", NONE),
    ("scope", "doc|user/Observation.rs", RELATION),  # SMART v2
    ("none", "doc|user/*.* system/*.* patient/*.*", NONE),  # no widening past relations
    ("labels", "doc|user/*.* system/*.* patient/*.*", LABELLED),  # nor past labels
    ("scope", "doc|system/*.*", NONE),  # the only scope of another context
    ("scope", "secretary|user/*.* system/*.*", RELATION),  # the role still holds
    ("scope", "citizen:scope|patient/Observation.read", ALL),  # not their Patient
    ("scope", "citizen:scope|system/*.*", NONE),
    ("scope", "citizen:scope|patient/*.* system/*.*", ALL),
    ("scope-other", "citizen:scope|patient/*.* system/*.*", NONE),  # never another's
)

CITIZENS = rows(
    "citizen",
    ("cit-own", "citizen:cit-own|patient/*.read", ALL),
    ("cit-other", "citizen:cit-own|patient/*.read", NONE),
)

#: ``xref`` holds an Observation pointing (hasMember, derivedFrom) into ``xref-target``.
REFERENCES = rows(
    "reference",
    ("xref", "doc", RELATION),
    ("xref-target", "doc", NONE),
)

#: Break-the-glass grants written before the run (an expired one, a colleague's).
GRANTS = rows(
    "grant",
    ("bg-expired", "doc", NONE),
    ("bg-other", "doc", NONE),
    ("bg-other", "doc_sibling", RELATION),
)

ROWS: Final = [
    *RELATIONS,
    *ROLES,
    *LABELS,
    *BLOCKS,
    *SCOPES,
    *CITIZENS,
    *REFERENCES,
    *GRANTS,
]


def params(table: list[Row]) -> list[Any]:
    """``pytest.param`` of each row, known bugs as strict xfails."""
    return [
        pytest.param(
            row,
            id=row.id,
            marks=[pytest.mark.xfail(strict=True, reason=f"product: {row.bug}")] if row.bug else [],
        )
        for row in table
    ]


def caller(world: World, key: str) -> Caller:
    who, _, scope = key.partition("|")
    if who == "system":
        return world.system(scope or "system/*.*")
    if who.startswith("citizen:"):
        return world.citizen(who.removeprefix("citizen:"), scope or "patient/*.read")
    return world.caller(who, scope or None)


def allowed(world: World, record: str, view: View) -> frozenset[str]:
    rec = world.records[record]
    if view == ALL:
        return rec.all()
    if view == NONE:
        return frozenset()
    return rec.without(*view)


def check_row(http: TestClient, world: World, row: Row) -> None:
    """Check one row; the rows of its caller (and without known bugs) are asked together
    the first time one of them is checked."""
    who = caller(world, row.caller)
    if row.bug:
        check_view(
            http, world, who, world.records[row.record], allowed(world, row.record, row.view)
        )
        return

    def items() -> list[Any]:
        mine = [r for r in ROWS if r.caller == row.caller and not r.bug]
        return [(world.records[r.record], allowed(world, r.record, r.view)) for r in mine]

    check_in_group(http, world, row.caller, who, items, row.record)
