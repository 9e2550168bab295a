"""Seeding the region and the option model, on a real database."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.app import create_app
from fellesjournal.region import fhir
from fellesjournal.region.options import (
    NotSeeded,
    UnknownMunicipality,
    join,
    list_memberships,
    seed_region,
)
from fellesjournal.region.seed import build_region
from fellesjournal.service.repository import GuardedRepository
from tests.region.conftest import Seeded

REGION = build_region()


def _versions(repo: GuardedRepository, res_type: str) -> dict[str, int]:
    """The current version of every resource of a type (paged by id ranges of 1000)."""
    out: dict[str, int] = {}
    offset = 0
    while True:
        items = [("_count", "1000"), ("_offset", str(offset)), ("_sort", "_id")]
        page = repo.search(res_type, items).matches
        out.update({s.res_id: s.version for s in page})
        if len(page) < 1000:
            return out
        offset += 1000


def _json(repo: GuardedRepository, res_type: str, res_id: str) -> Any:
    import json

    content = repo.read(res_type, res_id).content
    assert content is not None
    return json.loads(content)


def test_seed_writes_the_whole_region(seeded: Seeded) -> None:
    # Its speed is measured, not asserted: a timed test fails on a busy machine.
    members = {m.number for m in REGION.municipalities if m.member}
    assert seeded.written == len(fhir.region_resources(REGION, members))
    assert len(_versions(seeded.repo, "Organization")) == 1 + 3 + 65 + len(REGION.units())


def test_seed_is_idempotent(seeded: Seeded) -> None:
    before = _versions(seeded.repo, "Organization")
    assert seed_region(seeded.repo) == 0
    assert _versions(seeded.repo, "Organization") == before


def test_seed_is_idempotent_with_small_pages(seeded: Seeded) -> None:
    # the comparison with the stored state reads in pages; none may be cut short
    small = seeded.settings.model_copy(update={"max_page_size": 50})
    repo = GuardedRepository(seeded.repo.store, small, seeded.repo.ctx)
    assert seed_region(repo) == 0


def test_seeded_resources_through_the_api(seeded: Seeded) -> None:
    app = create_app(seeded.settings, store=seeded.repo.store)
    from fellesjournal.auth.tokens import issue_system_token

    token = issue_system_token(seeded.settings, ttl=600)
    with TestClient(app, base_url="http://testserver") as client:
        client.headers["Authorization"] = f"Bearer {token}"
        org = client.get("/fhir/Organization/kommune-5001")
        assert org.status_code == 200 and org.json()["active"] is True
        found = client.get(
            "/fhir/Organization",
            params={"identifier": "urn:oid:2.16.578.1.12.4.1.4.101|883974832"},
        ).json()
        assert [e["resource"]["id"] for e in found["entry"]] == ["stolav"]
        wards = client.get("/fhir/Organization", params={"partof": "stolav-medisin"}).json()
        assert {e["resource"]["id"] for e in wards["entry"]} == {
            "stolav-lunge-sengepost",
            "stolav-gastro-sengepost",
            "stolav-medisin-poliklinikk",
        }
        roles = client.get(
            "/fhir/PractitionerRole",
            params={
                "organization": "Organization/kommune-5001-legevakt",
                "_include": "PractitionerRole:practitioner",
            },
        ).json()
        kinds = {e["resource"]["resourceType"] for e in roles["entry"]}
        assert kinds == {"PractitionerRole", "Practitioner"}


def test_join_activates_only_that_municipality(seeded: Seeded) -> None:
    repo = seeded.repo
    steinkjer = REGION.municipality("5006")
    assert steinkjer and not steinkjer.member
    own = {steinkjer.id, *(u.id for u in steinkjer.units)}
    orgs_before = _versions(repo, "Organization")
    roles_before = _versions(repo, "PractitionerRole")
    endpoints_before = _versions(repo, "Endpoint")

    result = join(repo, "5006")
    assert (result.number, result.already_member) == ("5006", False)
    assert result.units == len(steinkjer.units) and result.endpoints == len(steinkjer.units)
    staff = [s for u in steinkjer.units for s in u.staff]
    assert result.written == len(own) + len(staff) + len(steinkjer.units)

    for org_id in own:
        org = _json(repo, "Organization", org_id)
        assert org["active"] is True and fhir.membership_of(org) == "member"
    for unit in steinkjer.units:
        ep = _json(repo, "Endpoint", fhir.endpoint_id(unit))
        assert ep["identifier"][0]["value"] == unit.her_id
    for s in staff:
        assert _json(repo, "PractitionerRole", s.role_id)["active"] is True

    orgs_after = _versions(repo, "Organization")
    assert {k: v for k, v in orgs_after.items() if k not in own} == {
        k: v for k, v in orgs_before.items() if k not in own
    }
    assert all(orgs_after[k] == orgs_before[k] + 1 for k in own)
    own_roles = {s.role_id for s in staff}
    roles_after = _versions(repo, "PractitionerRole")
    assert {k: v for k, v in roles_after.items() if k not in own_roles} == {
        k: v for k, v in roles_before.items() if k not in own_roles
    }
    endpoints_after = _versions(repo, "Endpoint")
    assert set(endpoints_after) - set(endpoints_before) == {
        fhir.endpoint_id(u) for u in steinkjer.units
    }

    # twice: nothing changes at all
    again = join(repo, "5006")
    assert again.already_member and again.written == 0 and again.endpoints == 0
    assert _versions(repo, "Organization") == orgs_after
    assert _versions(repo, "Endpoint") == endpoints_after
    # and a re-seed does not undo the join
    assert seed_region(repo) == 0
    assert _json(repo, "Organization", steinkjer.id)["active"] is True


def test_join_of_a_member_changes_nothing(seeded: Seeded) -> None:
    before = _versions(seeded.repo, "Organization")
    result = join(seeded.repo, "5001")
    assert result.already_member and result.written == 0
    assert _versions(seeded.repo, "Organization") == before


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("0301", "not a municipality of the region"),
        ("1507", "no longer in use"),
        ("5099", "not a current municipality"),
        ("50", "4 digits"),
        ("abcd", "not a valid kommunenummer"),
    ],
)
def test_join_unknown_number(seeded: Seeded, number: str, message: str) -> None:
    with pytest.raises(UnknownMunicipality, match=message):
        join(seeded.repo, number)


def test_not_seeded(empty: Any) -> None:
    _, repo = empty
    with pytest.raises(NotSeeded, match="org seed"):
        join(repo, "5006")
    with pytest.raises(NotSeeded):
        list_memberships(repo)


def test_list_memberships(seeded: Seeded) -> None:
    rows = list_memberships(seeded.repo)
    assert [r.number for r in rows] == sorted(r.number for r in rows)
    assert len(rows) == 65
    by_number = {r.number: r for r in rows}
    assert by_number["5001"].member and by_number["1508"].member
    assert not by_number["1580"].member
    assert by_number["5001"].units == len(REGION.municipality("5001").units)  # type: ignore[union-attr]
    assert by_number["5006"].trust_key == "hnt"
