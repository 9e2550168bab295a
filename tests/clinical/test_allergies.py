"""Allergies, "no known allergies" and critical information as FHIR, and how they end."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from fellesjournal.clinical import allergies as al
from fellesjournal.clinical import critical_info as ci
from fellesjournal.fhir.validation import validate_resource

WHO = {"reference": "Practitioner/hpr-1", "display": "Kari Lege"}
WHEN = "2026-11-25T09:30:00.000Z"
DAY = datetime.date(2026, 11, 25)


def _codes(concept: dict[str, Any], system: str) -> list[str]:
    return [str(c["code"]) for c in concept.get("coding") or () if c["system"] == system]


def test_a_listed_substance_is_coded_and_the_entry_is_valid() -> None:
    entry = al.AllergyInput(
        substance="penicilliner",
        criticality="high",
        verification="confirmed",
        manifestation="Anafylaksi",
        severity="severe",
        critical=True,
    )
    assert al.check(entry) == []
    body = al.allergy_intolerance(entry, "p1", WHO, WHEN)
    assert validate_resource(body) == []
    assert body["code"]["coding"][0] == {
        "system": "http://www.whocc.no/atc",
        "code": "J01C",
        "display": "Betalaktamantibakterielle midler, penicilliner",
    }
    assert body["category"] == ["medication"]  # from the list
    assert body["reaction"] == [{"manifestation": [{"text": "Anafylaksi"}], "severity": "severe"}]
    assert body["recorder"] == WHO and body["recordedDate"] == WHEN
    assert _codes(body["clinicalStatus"], al.CLINICAL) == ["active"]
    assert _codes(body["verificationStatus"], al.VERIFICATION) == ["confirmed"]


def test_a_typed_substance_stays_text() -> None:
    entry = al.AllergyInput(substance="Jordbær", category="food", criticality="low")
    body = al.allergy_intolerance(entry, "p1", WHO, WHEN)
    assert body["code"] == {"text": "Jordbær"} and body["category"] == ["food"]
    assert "reaction" not in body and validate_resource(body) == []


@pytest.mark.parametrize(
    ("entry", "fields"),
    [
        (al.AllergyInput(substance=""), ["substance"]),
        (al.AllergyInput(substance="x" * 201), ["substance"]),
        (al.AllergyInput(substance="Egg", type="maybe"), ["type"]),
        (al.AllergyInput(substance="Egg", category="mineral"), ["category"]),
        (al.AllergyInput(substance="Egg", criticality="extreme"), ["criticality"]),
        # critical information is for serious reactions only
        (al.AllergyInput(substance="Egg", criticality="low", critical=True), ["criticality"]),
        (al.AllergyInput(substance="Egg", verification="refuted"), ["verification"]),
        (al.AllergyInput(substance="Egg", severity="severe"), ["severity"]),  # of what?
        (al.AllergyInput(substance="Egg", manifestation="U", severity="fatal"), ["severity"]),
    ],
)
def test_what_cannot_be_saved_names_its_field(entry: al.AllergyInput, fields: list[str]) -> None:
    assert al.check(entry) == fields


def test_no_known_allergies_is_a_snomed_situation() -> None:
    body = al.no_known_allergies("p1", WHO, WHEN)
    assert validate_resource(body) == []
    assert al.is_no_known_allergy(body) and al.is_active(body)
    assert _codes(body["code"], al.SNOMED) == ["716186003"]
    typed = al.allergy_intolerance(al.AllergyInput(substance="Egg"), "p1", WHO, WHEN)
    assert not al.is_no_known_allergy(typed)


@pytest.mark.parametrize(
    ("how", "clinical", "verification"),
    [
        ("inactive", ["inactive"], ["unconfirmed"]),
        ("refuted", ["inactive"], ["refuted"]),
        ("entered-in-error", None, ["entered-in-error"]),  # ait-2: no clinical status
    ],
)
def test_ending_an_allergy_keeps_it_with_who_when_and_why(
    how: str, clinical: list[str] | None, verification: list[str]
) -> None:
    body = al.allergy_intolerance(al.AllergyInput(substance="Kodein"), "p1", WHO, WHEN)
    out = al.ended(body, how, "testet negativt", WHO, "2026-12-01T10:00:00.000Z")
    assert validate_resource(out) == []
    assert not al.is_active(out)
    if clinical is None:
        assert "clinicalStatus" not in out
    else:
        assert _codes(out["clinicalStatus"], al.CLINICAL) == clinical
    assert _codes(out["verificationStatus"], al.VERIFICATION) == verification
    assert out["note"][-1] == {
        "authorReference": WHO,
        "time": "2026-12-01T10:00:00.000Z",
        "text": f"{al.ENDINGS[how]}: testet negativt",
    }
    assert al.is_active(body)  # the original is not changed


def test_critical_information_is_a_flag_in_a_kjernejournal_category() -> None:
    body = ci.flag("treatment", "Hemodialyse tir/tor/lør", "p1", WHO, DAY)
    assert validate_resource(body) == []
    assert body["status"] == "active" and body["period"] == {"start": "2026-11-25"}
    category = body["category"][0]
    assert category["text"] == (
        "Kritisk informasjon: Pågående behandlinger og implantater: behandling som ikke må avbrytes"
    )
    assert _codes(category, ci.FLAG_CATEGORY) == ["clinical"]
    assert ci.category_key(body) == "treatment"
    assert body["author"] == WHO and body["code"] == {"text": "Hemodialyse tir/tor/lør"}
    assert ci.flag("infection", "MRSA", "p1", WHO, DAY)["category"][0]["coding"][0]["code"] == (
        "safety"
    )
    assert "drug-reaction" not in ci.FORM_CATEGORIES  # allergies come through their own form


def test_a_serious_allergy_is_flagged_and_points_to_the_allergy() -> None:
    entry = al.AllergyInput(
        substance="Penicilliner", criticality="high", manifestation="Anafylaksi", critical=True
    )
    allergy = al.allergy_intolerance(entry, "p1", WHO, WHEN)
    flag = ci.allergy_flag(allergy, "AllergyIntolerance/a1", "Penicilliner", "p1", WHO, DAY)
    assert validate_resource(flag) == []
    assert ci.category_key(flag) == "drug-reaction"
    assert flag["code"]["text"] == "Anafylaksi ved Penicilliner"
    assert ci.detail_of(flag) == "AllergyIntolerance/a1"
    food = al.allergy_intolerance(al.AllergyInput(substance="Peanøtter"), "p1", WHO, WHEN)
    other = ci.allergy_flag(food, "AllergyIntolerance/a2", "Peanøtter", "p1", WHO, DAY)
    assert ci.category_key(other) == "other-allergy"
    assert other["code"]["text"] == "Alvorlig reaksjon ved Peanøtter"


@pytest.mark.parametrize("how", ci.ENDINGS)
def test_ending_critical_information_records_who_when_and_why(how: str) -> None:
    body = ci.flag("implant", "Pacemaker", "p1", WHO, DAY)
    out = ci.ended(body, how, "eksplantert", WHO, WHEN)
    assert validate_resource(out) == []
    assert out["status"] == how and out["period"] == {"start": "2026-11-25", "end": WHEN}
    change = {e["url"]: e for e in out["extension"][-1]["extension"]}
    assert out["extension"][-1]["url"] == ci.STATUS_CHANGE
    assert change["reason"]["valueString"] == "eksplantert"
    assert change["author"]["valueReference"] == WHO
    assert change["time"]["valueDateTime"] == WHEN
    assert change["status"]["valueCode"] == how
    assert body["status"] == "active"
