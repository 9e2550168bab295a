"""The region as data: completeness, identifiers, hierarchy, staff."""

from __future__ import annotations

from collections import Counter

from fellesjournal.norway import municipalities
from fellesjournal.norway.identifiers import (
    HER_SYSTEM,
    HPR_SYSTEM,
    KOMMUNENUMMER_SYSTEM,
    ORGNR_SYSTEM,
    RESH_SYSTEM,
    check,
)
from fellesjournal.region.model import HOSPITAL_KINDS, MUNICIPAL_KINDS, ROLES
from fellesjournal.region.seed import build_region, orgnr_control, synthetic_orgnr

REGION = build_region()


def test_cached_and_deterministic() -> None:
    assert build_region() is REGION
    again = build_region.__wrapped__()
    assert again == REGION
    assert [s.hpr for s in again.staff()] == [s.hpr for s in REGION.staff()]


def test_every_municipality_of_both_counties() -> None:
    numbers = [m.number for m in REGION.municipalities]
    assert sorted(numbers) == sorted(municipalities.MUNICIPALITIES)
    assert len(numbers) == 65
    counties = Counter(m.county for m in REGION.municipalities)
    assert counties == {"Trøndelag": 38, "Møre og Romsdal": 27}
    assert REGION.municipality("5001").name == "Trondheim"  # type: ignore[union-attr]
    assert REGION.municipality("0301") is None


def test_five_services_in_every_municipality() -> None:
    for m in REGION.municipalities:
        assert {u.kind for u in m.units} == set(MUNICIPAL_KINDS), m.number
        assert all(u.parent_id == m.id for u in m.units)
        assert all(u.staff for u in m.units), m.number
    trondheim = REGION.municipality("5001")
    alesund = REGION.municipality("1508")
    assert trondheim and alesund
    assert len(trondheim.units_of("fastlegekontor")) >= 4
    assert len(trondheim.units_of("hjemmetjeneste")) >= 3
    assert len(alesund.units_of("fastlegekontor")) >= 2
    # several of a kind are numbered; one alone is not
    assert trondheim.units_of("legevakt")[0].id == "kommune-5001-legevakt"
    assert trondheim.units_of("fastlegekontor")[1].id == "kommune-5001-fastlegekontor-2"


def test_hospital_units() -> None:
    units = [u for t in REGION.trusts for u in t.units]
    assert 40 <= len(units) <= 80
    assert {u.kind for u in units} == set(HOSPITAL_KINDS)
    assert [t.id for t in REGION.trusts] == ["stolav", "hmr", "hnt"]
    for trust in REGION.trusts:
        assert all(u.id.startswith(f"{trust.id}-") for u in trust.units)
        assert all(u.resh_id and u.her_id for u in trust.units)
        officers = [s for u in trust.units for s in u.staff if s.role == "privacy-officer"]
        assert len(officers) == 1, trust.id
        assert {u.kind for u in trust.units} >= {"emergency", "ward", "outpatient"}
    names = {u.name for u in units}
    assert {"Akuttmottaket", "Hjertemedisinsk sengepost", "DPS poliklinikk"} <= names
    assert {"Ålesund sjukehus", "Volda sjukehus", "Sykehuset Levanger"} <= names


def test_ids_and_numbers_are_unique() -> None:
    org_ids = [REGION.rhf_id, *(t.id for t in REGION.trusts)]
    org_ids += [m.id for m in REGION.municipalities] + [u.id for u in REGION.units()]
    assert len(org_ids) == len(set(org_ids))
    staff = REGION.staff()
    assert len({s.hpr for s in staff}) == len(staff)
    assert len({s.role_id for s in staff}) == len(staff)
    hers = [u.her_id for u in REGION.units()]
    assert len(set(hers)) == len(hers)
    reshes = [u.resh_id for u in REGION.units() if u.resh_id]
    assert len(set(reshes)) == len(reshes)
    orgnrs = [REGION.rhf_orgnr, *(t.orgnr for t in REGION.trusts)]
    orgnrs += [m.orgnr for m in REGION.municipalities]
    assert len(set(orgnrs)) == len(orgnrs)


def test_identifiers_are_valid_and_synthetic_ones_recognisable() -> None:
    assert REGION.rhf_orgnr == "983658776"
    assert {t.key: t.orgnr for t in REGION.trusts} == {
        "stolav": "883974832",
        "hmr": "997005562",
        "hnt": "983974899",
    }
    for orgnr in [REGION.rhf_orgnr, *(t.orgnr for t in REGION.trusts)]:
        assert check(ORGNR_SYSTEM, orgnr) is None, orgnr
    for m in REGION.municipalities:
        assert check(ORGNR_SYSTEM, m.orgnr) is None, m.number
        assert check(KOMMUNENUMMER_SYSTEM, m.number) is None
        assert m.orgnr.startswith("99" + m.number)
    for u in REGION.units():
        assert u.her_id and check(HER_SYSTEM, u.her_id) is None
        assert len(u.her_id) == 8 and u.her_id[0] == "8"
        if u.resh_id:
            assert check(RESH_SYSTEM, u.resh_id) is None
            assert len(u.resh_id) == 8 and u.resh_id[0] == "9"
    for s in REGION.staff():
        assert check(HPR_SYSTEM, s.hpr) is None
        assert len(s.hpr) == 9 and s.hpr.startswith("99")


def test_synthetic_orgnr_rule() -> None:
    assert synthetic_orgnr("5001") == "995001004"
    assert orgnr_control("91593314") == "9"  # Direktoratet for e-helse, 915933149
    # a serial whose control digit would be 10 is skipped
    for number in municipalities.MUNICIPALITIES:
        assert synthetic_orgnr(number)[7] in "01"


def test_part_of_chains_end_at_the_rhf_or_a_municipality() -> None:
    parents = {t.id: REGION.rhf_id for t in REGION.trusts}
    parents.update({u.id: u.parent_id for u in REGION.units()})
    roots = {REGION.rhf_id, *(m.id for m in REGION.municipalities)}
    for unit in REGION.units():
        seen, node = [unit.id], unit.parent_id
        while node not in roots:
            assert node in parents, f"{unit.id}: dangling parent {node}"
            assert node not in seen, f"{unit.id}: cycle"
            seen.append(node)
            node = parents[node]
        hospital = unit.id.split("-")[0] in {t.id for t in REGION.trusts}
        assert node == (REGION.rhf_id if hospital else unit.parent_id)
        assert len(seen) <= 3


def test_staffing() -> None:
    staff = REGION.staff()
    assert 500 <= len(staff) <= 2000
    assert {s.role for s in staff} <= set(ROLES)
    assert {s.profession for s in staff} <= {"LE", "SP", "HE", "JO", "PS", "FT"}
    by_id = {u.id: u for u in REGION.units()}
    assert all(by_id[s.unit_id].staff.count(s) == 1 for s in staff)
    for unit in REGION.units():
        roles = Counter((s.profession, s.role) for s in unit.staff)
        if unit.kind == "fastlegekontor":
            assert 2 <= roles["LE", "doctor"] <= 4 and roles["HE", "secretary"] == 1
        if unit.kind == "hjemmetjeneste":
            assert roles["SP", "nurse"] >= 2 and roles["SP", "unit-leader"] == 1
        if unit.kind == "ward":
            assert roles["LE", "doctor"] == 2 and roles["HE", "secretary"] == 1
            assert roles["SP", "nurse"] + roles["JO", "nurse"] == 3


def test_membership_catchment_and_postcodes() -> None:
    members = {m.number for m in REGION.municipalities if m.member}
    assert members == {"5001", "5031", "5028", "5059", "1508", "1506", "1505", "5037"}
    trust_of = {m.number: m.trust_key for m in REGION.municipalities}
    assert trust_of["5001"] == "stolav" and trust_of["5054"] == "stolav"
    assert trust_of["5006"] == trust_of["5037"] == trust_of["5035"] == "hnt"
    assert all(trust_of[n] == "hmr" for n in municipalities.MORE_OG_ROMSDAL)
    for m in REGION.municipalities:
        assert 1 <= len(m.postcodes) <= 6
        assert all(len(code) == 4 and code.isdigit() and place for code, place in m.postcodes)
        assert m.population > 0
    trondheim = REGION.municipality("5001")
    assert trondheim and trondheim.population > 200_000
