"""The region as FHIR resources: valid for the API, references resolve, membership shows."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from fellesjournal.norway.identifiers import HER_SYSTEM, HPR_SYSTEM, RESH_SYSTEM
from fellesjournal.region import fhir
from fellesjournal.region.seed import build_region
from fellesjournal.service.writes import content_issues

REGION = build_region()
MEMBERS = {m.number for m in REGION.municipalities if m.member}


@pytest.fixture(scope="module")
def resources() -> dict[tuple[str, str], dict[str, Any]]:
    out = fhir.region_resources(REGION, MEMBERS)
    keyed = {(r["resourceType"], r["id"]): r for r in out}
    assert len(keyed) == len(out), "a resource id is used twice"
    return keyed


def _codes(resource: dict[str, Any], element: str, system: str) -> list[str]:
    return [
        c["code"] for cc in resource.get(element, []) for c in cc["coding"] if c["system"] == system
    ]


def test_every_resource_passes_the_api_validator(resources: dict[Any, Any]) -> None:
    problems = {key: content_issues(r, allow_test_identities=False) for key, r in resources.items()}
    assert {k: v for k, v in problems.items() if v} == {}
    counts = Counter(t for t, _ in resources)
    assert counts["Organization"] == 1 + 3 + 65 + len(REGION.units())
    assert counts["Practitioner"] == counts["PractitionerRole"] == len(REGION.staff())


def test_references_resolve_within_the_region(resources: dict[Any, Any]) -> None:
    def refs(r: dict[str, Any]) -> list[str]:
        out = [r.get("partOf"), r.get("managingOrganization")]
        out += [r.get("practitioner"), r.get("organization")]
        return [x["reference"] for x in out if x]

    for resource in resources.values():
        for ref in refs(resource):
            res_type, res_id = ref.split("/")
            assert (res_type, res_id) in resources, f"{resource['id']}: {ref}"


def test_organizations(resources: dict[Any, Any]) -> None:
    rhf = resources["Organization", "hmn"]
    assert "partOf" not in rhf and _codes(rhf, "type", fhir.VOLVEN_8628) == ["1"]
    stolav = resources["Organization", "stolav"]
    assert stolav["partOf"]["reference"] == "Organization/hmn"
    assert _codes(stolav, "type", fhir.VOLVEN_8628) == ["2"]
    ward = resources["Organization", "stolav-hjerte-sengepost"]
    assert ward["partOf"] == {
        "reference": "Organization/stolav-hjerte",
        "display": "Klinikk for hjertemedisin",
    }
    assert {i["system"] for i in ward["identifier"]} == {RESH_SYSTEM, HER_SYSTEM}
    assert _codes(ward, "type", fhir.VOLVEN_8624) == ["08"]
    assert _codes(ward, "type", fhir.KIND_SYSTEM) == ["ward"]
    site = resources["Organization", "hmr-volda"]
    assert _codes(site, "type", fhir.VOLVEN_8624) == ["01"]
    kommune = resources["Organization", "kommune-5001"]
    assert kommune["name"] == "Trondheim kommune" and "partOf" not in kommune
    assert kommune["address"][0]["postalCode"] == "7010"
    assert resources["Organization", "kommune-5041"]["name"] == "Snåsa kommune"


def test_membership_marker_and_active(resources: dict[Any, Any]) -> None:
    for (res_type, _), r in resources.items():
        if res_type == "Organization":
            assert fhir.membership_of(r) == ("member" if r["active"] else "option")
    steinkjer = REGION.municipality("5006")
    assert steinkjer and not steinkjer.member
    option = resources["Organization", steinkjer.id]
    assert option["active"] is False and fhir.membership_of(option) == "option"
    for unit in steinkjer.units:
        org = resources["Organization", unit.id]
        assert org["active"] is False and fhir.membership_of(org) == "option"
        assert ("Endpoint", fhir.endpoint_id(unit)) not in resources
        for s in unit.staff:
            assert resources["PractitionerRole", s.role_id]["active"] is False
            assert resources["Practitioner", s.practitioner_id]["active"] is True
    for trust in REGION.trusts:
        assert resources["Organization", trust.id]["active"] is True


def test_endpoints_for_member_units(resources: dict[Any, Any]) -> None:
    member_units = [u for t in REGION.trusts for u in t.units]
    member_units += [u for m in REGION.municipalities if m.member for u in m.units]
    endpoints = [r for (t, _), r in resources.items() if t == "Endpoint"]
    assert len(endpoints) == len(member_units)
    unit = REGION.municipality("5001").units[0]  # type: ignore[union-attr]
    ep = resources["Endpoint", fhir.endpoint_id(unit)]
    assert ep["identifier"] == [{"system": HER_SYSTEM, "value": unit.her_id}]
    assert ep["managingOrganization"]["reference"] == f"Organization/{unit.id}"
    assert ep["address"].startswith("amqps://") and ep["address"].endswith(f"/{unit.her_id}_async")
    assert ep["connectionType"]["code"] == "no-amqp"


def test_practitioners_and_roles(resources: dict[Any, Any]) -> None:
    ward = next(u for u in REGION.units() if u.id == "stolav-ortopedi-sengepost")
    doctor = next(s for s in ward.staff if s.role == "doctor")
    prac = resources["Practitioner", doctor.practitioner_id]
    assert prac["identifier"] == [{"system": HPR_SYSTEM, "value": doctor.hpr}]
    assert prac["qualification"][0]["code"]["coding"][0] == {
        "system": "urn:oid:2.16.578.1.12.4.1.1.9060",
        "code": "LE",
        "display": "Lege",
    }
    role = resources["PractitionerRole", doctor.role_id]
    assert role["practitioner"]["reference"] == f"Practitioner/hpr-{doctor.hpr}"
    assert role["organization"]["reference"] == "Organization/stolav-ortopedi-sengepost"
    assert _codes(role, "code", fhir.ROLE_SYSTEM) == ["doctor"]
    assert _codes(role, "specialty", fhir.VOLVEN_8655) == ["S0208"]
    assert role["active"] is True
