"""The generated population: deterministic, valid, plausible, and self-consistent."""

from __future__ import annotations

import base64
import datetime
import json
import random
import re
from collections import Counter
from typing import Any

from fellesjournal.demo.person import GRADING_URL, MIDDLENAME_URL, MUNICIPALITY_URL, make_person
from fellesjournal.demo.places import Places
from fellesjournal.demo.population import PatientRecord, generate
from fellesjournal.norway import identifiers
from fellesjournal.region import fhir as region_fhir
from fellesjournal.region.model import Region
from fellesjournal.service.writes import content_issues
from tests.demo.conftest import SIZE, TODAY

Json = dict[str, Any]


def _dump(records: list[PatientRecord]) -> bytes:
    return json.dumps([r.resources for r in records], ensure_ascii=False).encode()


def _patients(resources: list[Json]) -> list[Json]:
    return [r for r in resources if r["resourceType"] == "Patient"]


def test_same_seed_same_bytes_and_a_different_seed_differs(region: Region) -> None:
    first = list(generate(region, 7, 120, TODAY))
    again = list(generate(region, 7, 120, TODAY))
    other = list(generate(region, 8, 120, TODAY))
    assert _dump(first) == _dump(again)
    assert _dump(first) != _dump(other)
    assert first[0].resources[0]["id"] == "pop7-0"


def test_a_small_population_is_a_prefix_of_a_larger_one(
    region: Region, population: list[PatientRecord]
) -> None:
    small = list(generate(region, 1, 150, TODAY))
    assert _dump(small) == _dump(population[:150])


def test_the_anchor_date_moves_the_history(region: Region) -> None:
    a = list(generate(region, 3, 30, TODAY))
    b = list(generate(region, 3, 30, TODAY + datetime.timedelta(days=1)))
    assert _dump(a) != _dump(b)


def test_every_resource_passes_the_products_validation(resources: list[Json]) -> None:
    bad = {
        f"{r['resourceType']}/{r['id']}": [i.diagnostics for i in issues]
        for r in resources
        if (issues := content_issues(r, allow_test_identities=True))
    }
    assert bad == {}
    assert len(resources) / SIZE >= 12  # the plausible record averages 12-20 per person
    assert len(resources) / SIZE <= 20


def test_ids_are_unique_and_readable(resources: list[Json]) -> None:
    ids = Counter((r["resourceType"], r["id"]) for r in resources)
    assert [k for k, n in ids.items() if n > 1] == []
    assert all(identifiers_ok(r["id"]) for r in resources)


def identifiers_ok(res_id: str) -> bool:
    return res_id.startswith("pop1-") and len(res_id) <= 64


def test_person_numbers_are_valid_unique_and_match_birth_date_and_sex(
    resources: list[Json],
) -> None:
    seen: set[str] = set()
    kinds: Counter[str] = Counter()
    for patient in _patients(resources):
        for ident in patient.get("identifier", []):
            system, value = ident["system"], ident["value"]
            test_ok = system != identifiers.HNR_SYSTEM  # H-numbers are real, not test ids
            assert identifiers.check(system, value, allow_test_identities=test_ok) is None
            assert value not in seen
            seen.add(value)
            kinds[system] += 1
            assert identifiers.birth_date(value) == datetime.date.fromisoformat(
                patient["birthDate"]
            )
            assert identifiers.sex(value) == patient["gender"]
            if system != identifiers.HNR_SYSTEM:  # Tenor test numbers: month + 80
                assert int(value[2:4]) > 80
    assert kinds[identifiers.FNR_SYSTEM] > 0.95 * SIZE
    assert kinds[identifiers.DNR_SYSTEM] > 0
    assert kinds[identifiers.HNR_SYSTEM] > 0


def test_codes_exist_in_the_official_norwegian_lists(resources: list[Json]) -> None:
    from fellesjournal.demo.clinical import ICD10_TEXT, ICPC2_TEXT
    from tests.conftest import shared_path

    folder = shared_path("data", "codes", "no-icd10-icpc2")
    official = {
        "http://hl7.org/fhir/sid/icd-10-no": {
            c["code"]: c["text"] for c in json.loads((folder / "ICD10.json").read_text("utf-8"))
        },
        "http://hl7.org/fhir/sid/icpc-2": {
            c["code"]: c["text"] for c in json.loads((folder / "ICPC2.json").read_text("utf-8"))
        },
    }
    icd, icpc = official.values()
    assert {c: icd.get(c) for c in ICD10_TEXT} == ICD10_TEXT
    assert {c: icpc.get(c) for c in ICPC2_TEXT} == ICPC2_TEXT
    used: Counter[str] = Counter()
    for res in resources:
        if res["resourceType"] != "Condition":
            continue
        (coding,) = res["code"]["coding"]
        assert "." not in coding["code"]
        assert official[coding["system"]][coding["code"]] == coding["display"]
        used[coding["system"]] += 1
    assert set(used) == set(official)


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return out + [r for v in node.values() for r in _references(v)]
    if isinstance(node, list):
        return [r for v in node for r in _references(v)]
    return []


def test_every_reference_resolves_in_the_population_or_the_region(
    region: Region, resources: list[Json]
) -> None:
    members = [m.number for m in region.municipalities if m.member]
    known = {f"{r['resourceType']}/{r['id']}" for r in resources}
    known |= {
        f"{r['resourceType']}/{r['id']}" for r in region_fhir.region_resources(region, members)
    }
    refs = [ref for res in resources for ref in _references(res)]
    assert len(refs) > 5 * SIZE
    assert sorted({r for r in refs if r not in known}) == []


def test_patients_follow_no_basis(resources: list[Json], region: Region) -> None:
    middle = 0
    for patient in _patients(resources):
        name = patient["name"][0]
        assert name["given"] and name["family"]
        if "extension" in name:
            (ext,) = name["extension"]
            assert ext["url"] == MIDDLENAME_URL
            assert ext["valueString"] not in name["given"]
            middle += 1
        address = patient.get("address", [{}])[0]
        if "_district" in address:
            coding = address["_district"]["extension"][0]["valueCoding"]
            assert address["_district"]["extension"][0]["url"] == MUNICIPALITY_URL
            municipality = region.municipality(coding["code"])
            assert municipality is not None and municipality.name == address["district"]
            assert (address["postalCode"], address["city"]) in municipality.postcodes
            gp = patient.get("generalPractitioner", [])
            if gp:  # the fastlege works in the patient's own municipality
                assert gp[1]["reference"].startswith(f"Organization/kommune-{coding['code']}-")
                assert gp[0]["reference"].startswith("Practitioner/hpr-")
    assert 0.08 * SIZE < middle < 0.3 * SIZE


def test_age_municipality_and_address_grading_are_distributed_plausibly(region: Region) -> None:
    places = Places(region)
    used: set[str] = set()
    people = [
        make_person(k, f"t-{k}", random.Random(f"grading/{k}"), places, TODAY, used)
        for k in range(20_000)
    ]
    grading = Counter(p.grading for p in people)
    assert 60 <= grading["fortrolig"] <= 145  # 0.5 % of 20,000 = 100
    assert 20 <= grading["strengtFortrolig"] <= 65  # 0.2 % = 40
    assert grading["ugradert"] + grading["fortrolig"] + grading["strengtFortrolig"] == 20_000
    ages = [p.age for p in people]
    assert min(ages) >= 0 and max(ages) <= 103
    assert 0.15 < sum(a < 15 for a in ages) / len(ages) < 0.2
    assert 0.035 < sum(a >= 80 for a in ages) / len(ages) < 0.07
    trondheim = sum(p.local.municipality.number == "5001" for p in people) / len(people)
    share = 214_000 / sum(m.population for m in region.municipalities)
    assert abs(trondheim - share) < 0.02


def test_protected_addresses_carry_their_grading(resources: list[Json]) -> None:
    gradings: Counter[str] = Counter()
    for patient in _patients(resources):
        for address in patient.get("address", []):
            ext = {e["url"]: e for e in address["extension"]}
            code = ext[GRADING_URL]["valueCoding"]["code"]
            gradings[code] += 1
            if code == "strengtFortrolig":  # Folkeregisteret does not give it out
                assert "line" not in address and "postalCode" not in address
            else:
                assert address["line"] and address["country"] == "NO"
    assert gradings["ugradert"] > 0.95 * SIZE


def test_the_record_spans_the_levels_of_care(resources: list[Json]) -> None:
    types = Counter(r["resourceType"] for r in resources)
    for res_type in (
        "Encounter", "Condition", "MedicationStatement", "AllergyIntolerance", "Flag",
        "Observation", "DiagnosticReport", "DocumentReference", "EpisodeOfCare",
    ):  # fmt: skip
        assert types[res_type] > 0, res_type
    classes = Counter(
        (r["class"]["code"], r["serviceProvider"]["reference"].split("-")[0])
        for r in resources
        if r["resourceType"] == "Encounter"
    )
    assert classes[("IMP", "Organization/stolav")] > 0  # hospital stays
    assert classes[("AMB", "Organization/kommune")] > 0  # fastlege
    assert classes[("EMER", "Organization/kommune")] > 0  # legevakt
    assert classes[("HH", "Organization/kommune")] > 0  # home care
    assert any(c == "EMER" and org != "Organization/kommune" for c, org in classes)
    categories = Counter(
        r["category"][0]["coding"][0]["code"]
        for r in resources
        if r["resourceType"] == "Observation"
    )
    assert categories["vital-signs"] > 0 and categories["laboratory"] > 0
    codes = {
        r["code"]["coding"][-1]["code"] for r in resources if r["resourceType"] == "Observation"
    }
    assert {"85354-9", "8867-4", "8310-5", "9279-1", "59408-5", "29463-7", "8302-2"} <= codes
    assert {"718-7", "1988-5", "4548-4", "14682-9", "2951-2", "2823-3"} <= codes


def test_some_patients_are_on_a_ward_today(resources: list[Json]) -> None:
    now = [
        r for r in resources
        if r["resourceType"] == "Encounter" and r["status"] == "in-progress"
    ]  # fmt: skip
    assert len(now) >= 5
    for enc in now:
        assert enc["class"]["code"] == "IMP" and "end" not in enc["period"]
        start = datetime.date.fromisoformat(enc["period"]["start"][:10])
        assert TODAY - datetime.timedelta(days=7) <= start < TODAY


def test_nothing_happens_before_birth_in_the_future_or_after_death(
    population: list[PatientRecord],
) -> None:
    fields = ("start", "end", "effectiveDateTime", "date", "onsetDateTime", "recordedDate")
    deceased = 0
    for record in population:
        patient = record.resources[0]
        limit = TODAY.isoformat()
        if "deceasedDateTime" in patient:
            deceased += 1
            limit = patient["deceasedDateTime"][:10]
        for res in record.resources[1:]:
            if res["resourceType"] == "EpisodeOfCare":
                continue
            for value in _dates(res, fields):
                assert patient["birthDate"] <= value[:10] <= limit, (res["id"], value, limit)
    assert 0.005 * SIZE < deceased < 0.05 * SIZE


def _dates(node: Any, fields: tuple[str, ...]) -> list[str]:
    if isinstance(node, dict):
        out = [v for k, v in node.items() if k in fields and isinstance(v, str)]
        return out + [d for v in node.values() for d in _dates(v, fields)]
    if isinstance(node, list):
        return [d for v in node for d in _dates(v, fields)]
    return []


def test_notes_are_short_norwegian_texts(resources: list[Json]) -> None:
    docs = [r for r in resources if r["resourceType"] == "DocumentReference"]
    types = Counter(d["type"]["coding"][0]["code"] for d in docs)
    assert {"11506-3", "18842-5", "34117-2", "34746-8"} <= set(types)
    for doc in docs:
        assert doc["status"] == "current" and doc["docStatus"] == "final"
        attachment = doc["content"][0]["attachment"]
        assert attachment["contentType"] == "text/plain; charset=utf-8"
        text = base64.b64decode(attachment["data"]).decode("utf-8")
        sentences = len(re.findall(r"[.!?](?:\s|$)", text))
        assert 2 <= sentences <= 6, text
        assert doc["context"]["encounter"][0]["reference"].startswith("Encounter/")
    assert any(
        "å" in base64.b64decode(d["content"][0]["attachment"]["data"]).decode() for d in docs
    )


def test_duplicates_and_merges(population: list[PatientRecord]) -> None:
    by_id = {
        r["id"]: r for rec in population for r in rec.resources if r["resourceType"] == "Patient"
    }
    twins = [pid for pid in by_id if pid.endswith(("-d", "-h"))]
    assert twins, "the population has duplicate candidates"
    for twin_id in twins:
        twin, person = by_id[twin_id], by_id[twin_id[:-2]]
        assert twin["name"][0]["family"] == person["name"][0]["family"]
        assert twin["birthDate"] == person["birthDate"]
        shared = {i["value"] for i in twin.get("identifier", [])} & {
            i["value"] for i in person["identifier"]
        }
        assert not shared
        if twin_id.endswith("-h"):
            (hnr,) = twin["identifier"]
            assert hnr["system"] == "HNR" and hnr["type"]["coding"][0]["code"] == "HNR"
            assert hnr["assigner"]["reference"] in (
                "Organization/stolav",
                "Organization/hmr",
                "Organization/hnt",
            )
    merges = [rec.merge for rec in population if rec.merge]
    assert merges and all(s == f"{t}-h" and s in by_id for s, t in merges)


def test_a_small_hand_made_region_is_enough() -> None:
    from fellesjournal.region.model import HealthTrust, Municipality, Staff, Unit

    def staff(unit: str, hpr: str, role: str) -> Staff:
        return Staff(hpr, "Test", "Testesen", "LE" if role == "doctor" else "SP", role, unit)

    gp = Unit("k-gp", "Testby legekontor", "fastlegekontor", "k", "81234567",
              staff=(staff("k-gp", "990999001", "doctor"),))  # fmt: skip
    ward = Unit(
        "t-ward",
        "Medisinsk sengepost",
        "ward",
        "t",
        staff=(staff("t-ward", "990999002", "doctor"),),
    )
    town = Municipality("5001", "Trondheim", "Trøndelag", "999999999", 1000, True,
                        (("7010", "Trondheim"),), "t", (gp,))  # fmt: skip
    tiny = Region(
        "r", "RHF", "999999998", (HealthTrust("t", "Trust", "999999997", (ward,)),), (town,)
    )
    made = [r for rec in generate(tiny, 5, 80, TODAY) for r in rec.resources]
    assert all(content_issues(r, allow_test_identities=True) == [] for r in made)
    known = {f"{r['resourceType']}/{r['id']}" for r in made}
    known |= {"Organization/k-gp", "Organization/t-ward", "Organization/t"}
    known |= {"Practitioner/hpr-990999001", "Practitioner/hpr-990999002"}
    assert {ref for r in made for ref in _references(r)} <= known
