"""``$access-explain`` names the care relation that grants access, the block that denies
it, or the absence of both; and it is itself logged."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.access_matrix.world import Caller, World


def explain(http: TestClient, caller: Caller, patient_id: str) -> Any:
    return http.get(f"/fhir/Patient/{patient_id}/$access-explain", headers=caller.headers())


def parts(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The ``name`` parameters' parts, each as {part name: value}."""
    out = []
    for p in body["parameter"]:
        if p["name"] == name:
            out.append(
                {
                    q["name"]: next(v for k, v in q.items() if k.startswith("value"))
                    for q in p["part"]
                }
            )
    return out


def value(body: dict[str, Any], name: str) -> Any:
    found = [p for p in body["parameter"] if p["name"] == name]
    return next(v for k, v in found[0].items() if k.startswith("value")) if found else None


#: (record, caller, the relation kind that grants access, the resource label granting it)
RELATIONS = [
    ("fastlege", "doc", "fastlege", "patient"),
    ("kontor-unit", "doc", "fastlegekontor", "patient"),
    ("kontor-colleague", "doc", "fastlegekontor", "patient"),
    ("enc-open", "doc", "encounter-in-progress", "enc"),
    ("enc-recent", "doc", "encounter-recent", "enc"),
    ("eoc-active", "doc", "episode-of-care", "eoc"),
    ("ref-active", "doc", "referral", "referral"),
    ("ref-personal", "doc", "referral", "referral"),
    ("apt-booked", "doc", "appointment", "appointment"),
    ("ct-active", "doc", "care-team", "careteam"),
    ("enc-open-sibling", "doc_sibling", "encounter-in-progress", "enc"),
]


@pytest.mark.parametrize(
    ("record", "caller", "kind", "granting"), RELATIONS, ids=[f"{r}-{c}" for r, c, *_ in RELATIONS]
)
def test_names_the_relation(
    http: TestClient, world: World, record: str, caller: str, kind: str, granting: str
) -> None:
    rec = world.records[record]
    resp = explain(http, world.caller(caller), rec.patient_id)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert value(body, "access") is True
    assert value(body, "basis") == kind
    relations = parts(body, "relation")
    assert {"kind": kind, "reference": {"reference": rec[granting]}} in [
        {"kind": r["kind"], "reference": r["reference"]} for r in relations
    ]
    assert not parts(body, "block")


NO_RELATION = ["none", "enc-expired", "enc-open-clinic", "apt-future", "ref-completed"]


@pytest.mark.parametrize("record", NO_RELATION)
def test_says_there_is_none(http: TestClient, world: World, record: str) -> None:
    body = explain(http, world.caller("doc"), world.records[record].patient_id).json()
    assert value(body, "access") is False and value(body, "basis") == "none"
    assert not parts(body, "relation") and not parts(body, "block")
    assert "no care relation" in value(body, "reason")


#: (record, caller, access, block kind, whole record, yields to break-the-glass)
BLOCKS = [
    ("blk-person", "doc", False, "practitioner", True, False),
    ("blk-role", "doc", False, "role", True, False),
    ("blk-unit", "doc", False, "unit", True, True),
    ("blk-unit", "nurse", False, "unit", True, True),
    ("blk-org", "doc", False, "organization", True, True),
    ("blk1-person", "doc", True, "practitioner", False, False),
    ("blk1-unit", "doc", True, "unit", False, True),
]


@pytest.mark.parametrize(
    ("record", "caller", "access", "kind", "whole", "yields"),
    BLOCKS,
    ids=[f"{r}-{c}" for r, c, *_ in BLOCKS],
)
def test_names_the_block(
    http: TestClient,
    world: World,
    record: str,
    caller: str,
    access: bool,
    kind: str,
    whole: bool,
    yields: bool,
) -> None:
    rec = world.records[record]
    body = explain(http, world.caller(caller), rec.patient_id).json()
    assert value(body, "access") is access
    (block,) = parts(body, "block")
    assert block == {
        "consent": {"reference": rec["block"]},
        "kind": kind,
        "actor": block["actor"],
        "wholeRecord": whole,
        "yieldsToBreakGlass": yields,
    }
    if not access:
        assert "sperring" in value(body, "reason") and rec["block"] in value(body, "reason")
    # The care relation is still listed: the block is what denies.
    assert [r["kind"] for r in parts(body, "relation")] == ["encounter-in-progress"]


def test_names_what_the_role_may_do(http: TestClient, world: World) -> None:
    body = explain(http, world.caller("secretary"), world.records["enc-open"].patient_id).json()
    reads = {p["valueCode"] for p in body["parameter"] if p["name"] == "reads"}
    assert "Encounter" in reads and "Observation" not in reads


def test_citizens_and_systems(http: TestClient, world: World) -> None:
    rec, other = world.records["cit-own"], world.records["cit-other"]
    me = world.citizen("cit-own")
    body = explain(http, me, rec.patient_id).json()
    assert value(body, "access") is True and value(body, "basis") == "own-record"
    assert explain(http, me, other.patient_id).status_code == 404
    body = explain(http, world.system(), rec.patient_id).json()
    assert value(body, "access") is True and value(body, "basis") == "system"
    assert explain(http, world.caller("doc"), f"{rec.patient_id}-gone").status_code == 404
