"""Dosage from a form, as Norwegian text and as FHIR, and back; the medicines list."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fellesjournal.clinical import dosage as ds
from fellesjournal.clinical import formulary
from fellesjournal.fhir.validation import validate_resource


def _text(**form: str) -> str:
    dosage, errors = ds.parse(form)
    assert dosage is not None, errors
    return ds.text(dosage)


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"dose": "1", "unit": "tablett", "per_day": "4"}, "1 tablett 4 ganger daglig"),
        ({"dose": "2", "unit": "tablett", "per_day": "1"}, "2 tabletter daglig"),
        ({"dose": "0,5", "unit": "tablett", "per_day": "2"}, "0,5 tablett 2 ganger daglig"),
        ({"dose": "1.50", "unit": "kapsel", "per_day": "3"}, "1,5 kapsler 3 ganger daglig"),
        (
            {"dose": "2", "unit": "tablett", "per_day": "4", "prn": "1", "max_per_day": "8"},
            "2 tabletter inntil 4 ganger daglig ved behov, maks 8 tabletter per døgn",
        ),
        (
            {"dose": "1", "unit": "tablett", "prn": "1", "max_per_day": "3"},
            "1 tablett ved behov, maks 3 tabletter per døgn",
        ),
        (
            {"dose": "1", "unit": "tablett", "per_day": "1", "prn": "on"},
            "1 tablett inntil 1 gang daglig ved behov",
        ),
        ({"dose": "1", "unit": "tablett", "times": "8, 14,20"}, "1 tablett kl. 08, 14 og 20"),
        ({"dose": "1", "unit": "tablett", "times": "22.30"}, "1 tablett kl. 22.30"),
        ({"dose": "1", "unit": "tablett", "times": "22", "prn": "1"}, "1 tablett kl. 22 ved behov"),
        (
            {"dose": "5000", "unit": "IE", "per_day": "1", "route": "subcutaneous"},
            "5000 IE subkutant daglig",
        ),
        ({"dose": "15", "unit": "ml", "per_day": "2", "route": "oral"}, "15 ml 2 ganger daglig"),
        ({"text": "Etter  INR-skjema"}, "Etter INR-skjema"),
    ],
)  # fmt: skip
def test_the_text_a_norwegian_list_writes(form: dict[str, str], expected: str) -> None:
    assert _text(**form) == expected


@pytest.mark.parametrize(
    ("form", "fields"),
    [
        ({}, ["dose"]),  # neither a dose nor words
        ({"dose": "0", "unit": "tablett", "per_day": "1"}, ["dose"]),
        ({"dose": "-1", "unit": "tablett", "per_day": "1"}, ["dose"]),
        ({"dose": "1e3", "unit": "tablett", "per_day": "1"}, ["dose"]),
        ({"dose": "1", "unit": "bøtte", "per_day": "1"}, ["unit"]),
        ({"dose": "1", "unit": "tablett"}, ["per_day"]),  # how often?
        ({"dose": "1", "unit": "tablett", "per_day": "0"}, ["per_day"]),
        ({"dose": "1", "unit": "tablett", "per_day": "x"}, ["per_day"]),
        ({"dose": "1", "unit": "tablett", "per_day": "25"}, ["per_day"]),
        ({"dose": "1", "unit": "tablett", "times": "25"}, ["times"]),
        ({"dose": "1", "unit": "tablett", "times": "8:75"}, ["times"]),
        ({"dose": "1", "unit": "tablett", "times": "morgen"}, ["times"]),
        ({"dose": "1", "unit": "tablett", "per_day": "3", "times": "8, 20"}, ["times"]),
        ({"dose": "2", "unit": "tablett", "prn": "1", "max_per_day": "1"}, ["max_per_day"]),
        ({"dose": "2", "unit": "tablett", "prn": "1", "max_per_day": "mange"}, ["max_per_day"]),
        ({"dose": "1", "unit": "tablett", "per_day": "1", "route": "nasal"}, ["route"]),
        ({"text": "x" * 201}, ["text"]),
    ],
)
def test_what_cannot_be_saved_names_its_field(form: dict[str, str], fields: list[str]) -> None:
    dosage, errors = ds.parse(form)
    assert dosage is None
    assert errors == fields


def test_the_fhir_dosage_is_structured_and_valid() -> None:
    dosage, _ = ds.parse(
        {
            "dose": "2",
            "unit": "tablett",
            "per_day": "4",
            "prn": "1",
            "max_per_day": "8",
            "route": "oral",
        }
    )
    assert dosage is not None
    fhir = ds.to_fhir(dosage)
    assert fhir["doseAndRate"] == [{"doseQuantity": {"value": 2, "unit": "tablett"}}]
    assert fhir["timing"] == {"repeat": {"frequency": 4, "period": 1, "periodUnit": "d"}}
    assert fhir["asNeededBoolean"] is True
    assert fhir["maxDosePerPeriod"]["numerator"] == {"value": 8, "unit": "tablett"}
    assert fhir["maxDosePerPeriod"]["denominator"]["code"] == "d"
    assert fhir["route"]["coding"][0]["code"] == "26643006"  # SNOMED CT: oral route
    timed, _ = ds.parse({"dose": "0,5", "unit": "tablett", "times": "20, 8"})
    assert timed is not None
    repeat = ds.to_fhir(timed)["timing"]["repeat"]
    assert repeat["timeOfDay"] == ["08:00:00", "20:00:00"] and repeat["frequency"] == 2
    assert ds.to_fhir(timed)["doseAndRate"][0]["doseQuantity"]["value"] == 0.5
    statement = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "medicationCodeableConcept": {"text": "x"},
        "subject": {"reference": "Patient/p"},
        "dosage": [fhir, ds.to_fhir(timed)],
    }
    assert validate_resource(statement) == []


@pytest.mark.parametrize(
    "form",
    [
        {"dose": "2", "unit": "tablett", "per_day": "4", "prn": "1", "max_per_day": "8"},
        {"dose": "1", "unit": "tablett", "times": "08:00, 14:00, 20:00", "route": "oral"},
        {"dose": "0,5", "unit": "mg", "per_day": "2", "route": "intravenous"},
        {"text": "Etter INR-skjema", "route": "oral"},
    ],
)
def test_a_stored_dosage_fills_the_form_again(form: dict[str, str]) -> None:
    dosage, _ = ds.parse(form)
    assert dosage is not None
    back = ds.form_values(ds.to_fhir(dosage))
    again, errors = ds.parse(back)
    assert errors == [] and again == dosage


def test_a_dosage_only_in_words_comes_back_as_words() -> None:
    assert ds.form_values({"text": "1 tablett 2 ganger daglig"}) == {
        "text": "1 tablett 2 ganger daglig"
    }
    assert ds.form_values(None) == {}


def test_numbers_use_a_decimal_comma() -> None:
    assert ds.number(Decimal("2.000")) == "2"
    assert ds.number(Decimal("0.25")) == "0,25"
    assert ds.number(Decimal("5000")) == "5000"


def test_the_medicines_list_is_coded_and_its_dosages_read_back() -> None:
    assert len({m.key for m in formulary.MEDICINES}) == len(formulary.MEDICINES)
    paracetamol = formulary.find("  paracetamol 500 MG tablett ")
    assert paracetamol is not None
    assert paracetamol.concept()["coding"][0] == {
        "system": "http://www.whocc.no/atc",
        "code": "N02BE01",
        "display": "Paracetamol",
    }
    assert ds.text(paracetamol.dosage) == "2 tabletter 4 ganger daglig"
    assert formulary.find("Paracet") is None  # free text stays free text
    assert [m.key for m in formulary.matching("para 500")] == ["paracetamol-500"]
    for medicine in formulary.MEDICINES:
        assert len(medicine.atc) == 7, medicine.key  # a substance-level ATC code
        back, errors = ds.parse(ds.form_values(ds.to_fhir(medicine.dosage)))
        assert errors == [] and back == medicine.dosage, medicine.key
