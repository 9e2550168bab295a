"""Tests for fellesjournal.fhir.validation (structural R4 validation).

Positive cases are third-party data: the 707 official R4 examples and Synthea transaction
Bundles from the shared data folder (skipped when it is missing). Negative cases are small
hand-made resources, each asserting the issue code and the expression.
"""

from __future__ import annotations

import bz2
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fellesjournal.fhir.errors import FhirError, Issue
from fellesjournal.fhir.structure import DEFINITIONS, resource_nodes
from fellesjournal.fhir.validation import (
    RESOURCE_TYPES,
    validate_or_raise,
    validate_resource,
)

SHARED = Path(
    os.environ.get("FELLESJOURNAL_SHARED", Path(__file__).resolve().parents[2].parent / "shared")
)
EXAMPLES = SHARED / "data" / "fhir-r4-examples"
SYNTHEA = SHARED / "data" / "synthea" / "blaze-synthea-120"

# Official examples that really are invalid against the official R4 definitions.
INVALID_EXAMPLES = {
    "Questionnaire-qs1.json": "nested items lack Questionnaire.item.linkId (min 1)",
    "ig-r4.json": "the FHIR core package IG lacks ImplementationGuide.name and .status (min 1)",
}


def _example_params() -> list[Any]:
    if not EXAMPLES.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{EXAMPLES} missing"))]
    params = []
    for path in sorted(EXAMPLES.glob("*.json")):
        marks = []
        if path.name in INVALID_EXAMPLES:
            marks.append(pytest.mark.xfail(reason=INVALID_EXAMPLES[path.name], strict=True))
        params.append(pytest.param(path, id=path.name, marks=marks))
    return params


def _synthea_sample() -> list[Path]:
    if not SYNTHEA.is_dir():
        return []
    files = sorted(SYNTHEA.glob("*.json.bz2"))
    shared = [f for f in files if f.name.startswith("0-")]
    patients = sorted(
        (f for f in files if not f.name.startswith("0-")), key=lambda f: f.stat().st_size
    )
    return shared + patients[:3]


def _codes(issues: list[Issue]) -> list[tuple[str, str | None]]:
    return [(i.code, i.expression) for i in issues]


def _obs(**extra: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, **extra}


# --- third-party positive data ---------------------------------------------------------------


@pytest.mark.parametrize("path", _example_params())
def test_official_example_is_valid(path: Path) -> None:
    resource = json.loads(path.read_text(encoding="utf-8"))
    issues = validate_resource(resource)
    assert issues == [], [i.to_json() for i in issues[:5]]


def test_official_examples_folder_is_complete() -> None:
    if not EXAMPLES.is_dir():
        pytest.skip(f"{EXAMPLES} missing")
    assert len(list(EXAMPLES.glob("*.json"))) == 707


def _load_bundle(path: Path) -> dict[str, Any]:
    with bz2.open(path, "rt", encoding="utf-8") as fh:
        bundle: dict[str, Any] = json.load(fh)
    return bundle


def _assert_bundle_valid(path: Path) -> int:
    bundle = _load_bundle(path)
    assert bundle["type"] in ("transaction", "batch")
    issues = validate_resource(bundle)
    assert issues == [], [i.to_json() for i in issues[:5]]
    for entry in bundle["entry"]:  # each resource also on its own, as it would be stored
        assert validate_resource(entry["resource"]) == []
    return len(bundle["entry"])


def test_synthea_sample_is_valid() -> None:
    sample = _synthea_sample()
    if not sample:
        pytest.skip(f"{SYNTHEA} missing")
    assert sum(_assert_bundle_valid(p) for p in sample) > 100


@pytest.mark.slow
def test_synthea_everything_is_valid() -> None:
    files = sorted(SYNTHEA.glob("*.json.bz2")) if SYNTHEA.is_dir() else []
    if not files:
        pytest.skip(f"{SYNTHEA} missing")
    assert sum(_assert_bundle_valid(p) for p in files) == 92114  # as documented in data/README


# --- the definitions ---------------------------------------------------------------------------


def test_resource_types() -> None:
    assert len(RESOURCE_TYPES) == 146
    assert {"Patient", "Observation", "Bundle", "Parameters", "MedicinalProduct"} <= RESOURCE_TYPES
    assert not {"Resource", "DomainResource", "HumanName", "Extension"} & RESOURCE_TYPES
    assert isinstance(RESOURCE_TYPES, frozenset)
    assert set(resource_nodes()) == RESOURCE_TYPES


def test_definitions_are_packaged() -> None:
    import fellesjournal.fhir.structure as structure

    data = Path(structure.__file__).parent / "definitions" / DEFINITIONS
    assert data.is_file()
    assert data.stat().st_size < 200_000
    assert (data.parent / "README.md").is_file()


# --- negative cases ----------------------------------------------------------------------------

NEGATIVE: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown element", {"resourceType": "Patient", "foo": 1}, "structure", "Patient.foo"),
    (
        "unknown nested element",
        {"resourceType": "Patient", "contact": [{"name": {"family": "x", "nick": "y"}}]},
        "structure",
        "Patient.contact[0].name.nick",
    ),
    (
        "unknown element in a datatype",
        _obs(valueQuantity={"value": 1, "unitt": "mg"}),
        "structure",
        "Observation.valueQuantity.unitt",
    ),
    (
        "wrong JSON type",
        {"resourceType": "Patient", "birthDate": 19800101},
        "structure",
        "Patient.birthDate",
    ),
    (
        "string for decimal",
        _obs(valueQuantity={"value": "1.5"}),
        "structure",
        "Observation.valueQuantity.value",
    ),
    ("number for boolean", {"resourceType": "Patient", "active": 1}, "structure", "Patient.active"),
    ("bool for integer", _obs(valueInteger=True), "structure", "Observation.valueInteger"),
    ("float for integer", _obs(valueInteger=1.5), "structure", "Observation.valueInteger"),
    ("integer out of range", _obs(valueInteger=2**31), "value", "Observation.valueInteger"),
    (
        "negative unsignedInt",
        {"resourceType": "Patient", "photo": [{"size": -1}]},
        "value",
        "Patient.photo[0].size",
    ),
    (
        "positiveInt zero",
        {"resourceType": "Patient", "extension": [{"url": "http://x", "valuePositiveInt": 0}]},
        "value",
        "Patient.extension[0].valuePositiveInt",
    ),
    (
        "bad date",
        {"resourceType": "Patient", "birthDate": "2020-02-30"},
        "value",
        "Patient.birthDate",
    ),
    (
        "bad leap day",
        {"resourceType": "Patient", "birthDate": "2019-02-29"},
        "value",
        "Patient.birthDate",
    ),
    (
        "bad date format",
        {"resourceType": "Patient", "birthDate": "01.02.2020"},
        "value",
        "Patient.birthDate",
    ),
    (
        "dateTime without zone",
        _obs(effectiveDateTime="2020-01-01T10:00:00"),
        "value",
        "Observation.effectiveDateTime",
    ),
    ("instant without seconds", _obs(issued="2020-01-01T10:00Z"), "value", "Observation.issued"),
    ("bad time", _obs(valueTime="24:00:00"), "value", "Observation.valueTime"),
    (
        "bad uri",
        {"resourceType": "Patient", "implicitRules": "a b"},
        "value",
        "Patient.implicitRules",
    ),
    (
        "bad oid",
        {"resourceType": "Patient", "extension": [{"url": "http://x", "valueOid": "urn:oid:1.02"}]},
        "value",
        "Patient.extension[0].valueOid",
    ),
    (
        "bad uuid",
        {"resourceType": "Patient", "extension": [{"url": "http://x", "valueUuid": "urn:uuid:X"}]},
        "value",
        "Patient.extension[0].valueUuid",
    ),
    (
        "bad base64",
        {"resourceType": "Patient", "photo": [{"contentType": "image/png", "data": "abc"}]},
        "value",
        "Patient.photo[0].data",
    ),
    ("bad code lexical", {"resourceType": "Patient", "gender": " male"}, "value", "Patient.gender"),
    (
        "array for single",
        {"resourceType": "Patient", "gender": ["male"]},
        "structure",
        "Patient.gender",
    ),
    (
        "array for single complex",
        {"resourceType": "Patient", "maritalStatus": [{"text": "x"}]},
        "structure",
        "Patient.maritalStatus",
    ),
    (
        "single for array",
        {"resourceType": "Patient", "name": {"family": "x"}},
        "structure",
        "Patient.name",
    ),
    (
        "single primitive for array",
        {"resourceType": "Patient", "name": [{"given": "Kari"}]},
        "structure",
        "Patient.name[0].given",
    ),
    (
        "missing required element",
        {"resourceType": "Observation", "code": {"text": "x"}},
        "required",
        "Observation.status",
    ),
    (
        "missing required complex",
        {"resourceType": "Observation", "status": "final"},
        "required",
        "Observation.code",
    ),
    (
        "missing required choice",
        {
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/1"},
        },
        "required",
        "MedicationRequest.medication[x]",
    ),
    (
        "missing required in backbone",
        {"resourceType": "Patient", "link": [{"type": "seealso"}]},
        "required",
        "Patient.link[0].other",
    ),
    (
        "bad code for required binding",
        {"resourceType": "Patient", "gender": "mann"},
        "code-invalid",
        "Patient.gender",
    ),
    (
        "bad code in datatype",
        {"resourceType": "Patient", "name": [{"use": "nick"}]},
        "code-invalid",
        "Patient.name[0].use",
    ),
    (
        "bad code in array",
        {"resourceType": "Patient", "telecom": [{"system": "fax"}, {"system": "telex"}]},
        "code-invalid",
        "Patient.telecom[1].system",
    ),
    ("bad value[x] suffix", _obs(valueFoo=1), "structure", "Observation.valueFoo"),
    (
        "value[x] type not allowed",
        _obs(valueMoney={"value": 1}),
        "structure",
        "Observation.valueMoney",
    ),
    (
        "two value[x]",
        _obs(valueString="a", valueBoolean=True),
        "structure",
        "Observation.valueBoolean",
    ),
    (
        "empty string",
        {"resourceType": "Patient", "name": [{"family": ""}]},
        "value",
        "Patient.name[0].family",
    ),
    (
        "empty uri",
        {"resourceType": "Patient", "implicitRules": ""},
        "value",
        "Patient.implicitRules",
    ),
    ("empty object", {"resourceType": "Patient", "name": [{}]}, "structure", "Patient.name[0]"),
    (
        "empty single object",
        {"resourceType": "Patient", "maritalStatus": {}},
        "structure",
        "Patient.maritalStatus",
    ),
    ("empty array", {"resourceType": "Patient", "name": []}, "structure", "Patient.name"),
    (
        "null value",
        {"resourceType": "Patient", "birthDate": None},
        "structure",
        "Patient.birthDate",
    ),
    (
        "null in array without extension",
        {"resourceType": "Patient", "name": [{"given": ["a", None]}]},
        "structure",
        "Patient.name[0].given[1]",
    ),
    ("bad id", {"resourceType": "Patient", "id": "a_b"}, "value", "Patient.id"),
    ("too long id", {"resourceType": "Patient", "id": "a" * 65}, "value", "Patient.id"),
    (
        "extension without url",
        {"resourceType": "Patient", "extension": [{"valueString": "x"}]},
        "required",
        "Patient.extension[0].url",
    ),
    (
        "extension without value",
        {"resourceType": "Patient", "extension": [{"url": "http://x"}]},
        "invalid",
        "Patient.extension[0]",
    ),
    (
        "extension with value and extensions",
        {
            "resourceType": "Patient",
            "extension": [
                {
                    "url": "http://x",
                    "valueString": "a",
                    "extension": [{"url": "b", "valueString": "c"}],
                }
            ],
        },
        "invalid",
        "Patient.extension[0]",
    ),
    (
        "bad value in extension",
        {"resourceType": "Patient", "extension": [{"url": "http://x", "valueDate": "2020-1-1"}]},
        "value",
        "Patient.extension[0].valueDate",
    ),
    (
        "bad modifierExtension",
        {
            "resourceType": "Patient",
            "modifierExtension": [{"url": "http://x", "valueString": "a", "valueFoo": 1}],
        },
        "structure",
        "Patient.modifierExtension[0].valueFoo",
    ),
    (
        "nested error inside a Bundle entry",
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": {"resourceType": "Patient", "name": [{"given": "Ola"}]}}],
        },
        "structure",
        "Bundle.entry[0].resource.name[0].given",
    ),
    (
        "unknown resourceType inside a Bundle",
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": {"resourceType": "Pasient"}}],
        },
        "invalid",
        "Bundle.entry[0].resource.resourceType",
    ),
    (
        "missing resourceType inside a Bundle",
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"id": "1"}}]},
        "required",
        "Bundle.entry[0].resource.resourceType",
    ),
    (
        "bad Bundle.type",
        {"resourceType": "Bundle", "type": "transaktion"},
        "code-invalid",
        "Bundle.type",
    ),
    (
        "error in a contained resource",
        {"resourceType": "Patient", "contained": [{"resourceType": "Organization", "name": 1}]},
        "structure",
        "Patient.contained[0].name",
    ),
    (
        "error in Parameters.parameter.resource",
        {
            "resourceType": "Parameters",
            "parameter": [{"name": "p", "resource": {"resourceType": "Patient", "gender": "x"}}],
        },
        "code-invalid",
        "Parameters.parameter[0].resource.gender",
    ),
    (
        "error in a contentReference element",
        {
            "resourceType": "Questionnaire",
            "status": "draft",
            "item": [
                {"linkId": "1", "type": "group", "item": [{"linkId": "1.1", "type": "strng"}]}
            ],
        },
        "code-invalid",
        "Questionnaire.item[0].item[0].type",
    ),
    (
        "error in _element",
        {"resourceType": "Patient", "_birthDate": {"extension": [{"url": "http://x"}]}},
        "invalid",
        "Patient._birthDate.extension[0]",
    ),
    (
        "unknown key in _element",
        {"resourceType": "Patient", "_birthDate": {"value": "x"}},
        "structure",
        "Patient._birthDate.value",
    ),
    (
        "_element for a complex element",
        {"resourceType": "Patient", "_name": {"id": "x"}},
        "structure",
        "Patient._name",
    ),
    (
        "_element arrays of different length",
        {"resourceType": "Patient", "name": [{"given": ["a", "b"], "_given": [{"id": "x"}]}]},
        "structure",
        "Patient.name[0]._given",
    ),
    (
        "resourceType inside a datatype",
        {"resourceType": "Patient", "name": [{"resourceType": "HumanName"}]},
        "structure",
        "Patient.name[0].resourceType",
    ),
    (
        "bad narrative",
        {"resourceType": "Patient", "text": {"status": "generated", "div": "x"}},
        "value",
        "Patient.text.div",
    ),
]


@pytest.mark.parametrize(
    ("resource", "code", "expression"),
    [pytest.param(r, c, e, id=name) for name, r, c, e in NEGATIVE],
)
def test_negative(resource: dict[str, Any], code: str, expression: str) -> None:
    issues = validate_resource(resource)
    assert (code, expression) in _codes(issues), [i.to_json() for i in issues]
    assert all(i.severity == "error" for i in issues)
    assert len(issues) == 1, [i.to_json() for i in issues]


@pytest.mark.parametrize(
    ("resource", "code", "expression"),
    [
        ({"resourceType": "Pasient"}, "invalid", "resourceType"),
        ({"id": "1"}, "required", None),
        ([{"resourceType": "Patient"}], "structure", None),
        ("Patient", "structure", None),
        ({"resourceType": "Patient", 1: "x"}, "structure", "Patient"),
    ],
)
def test_bad_top_level(resource: Any, code: str, expression: str | None) -> None:
    assert _codes(validate_resource(resource)) == [(code, expression)]


def test_all_errors_are_reported() -> None:
    issues = validate_resource(
        {"resourceType": "Observation", "foo": 1, "status": "done", "valueString": ""}
    )
    assert sorted(_codes(issues)) == [
        ("code-invalid", "Observation.status"),
        ("required", "Observation.code"),
        ("structure", "Observation.foo"),
        ("value", "Observation.valueString"),
    ]


# --- valid corner cases ------------------------------------------------------------------------

VALID: list[tuple[str, dict[str, Any]]] = [
    ("minimal patient", {"resourceType": "Patient"}),
    (
        "primitive extension only",
        {
            "resourceType": "Patient",
            "_birthDate": {
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                        "valueCode": "unknown",
                    }
                ]
            },
        },
    ),
    (
        "required element given only by its extension",
        {
            "resourceType": "Observation",
            "code": {"text": "x"},
            "_status": {"extension": [{"url": "http://x", "valueCode": "unknown"}]},
        },
    ),
    (
        "aligned primitive array with nulls",
        {
            "resourceType": "Patient",
            "name": [
                {
                    "given": ["a", None, "c"],
                    "_given": [
                        None,
                        {"extension": [{"url": "http://x", "valueString": "b"}]},
                        None,
                    ],
                }
            ],
        },
    ),
    ("value and its _twin", _obs(valueString="a", _valueString={"id": "v"})),
    ("leap day", {"resourceType": "Patient", "birthDate": "2020-02-29"}),
    (
        "partial dates",
        {"resourceType": "Patient", "birthDate": "2020-02", "deceasedDateTime": "2021"},
    ),
    (
        "decimal as float and int",
        _obs(
            valueQuantity={"value": 1.5, "comparator": "<"}, referenceRange=[{"low": {"value": 0}}]
        ),
    ),
    (
        "nested extensions",
        {
            "resourceType": "Patient",
            "extension": [{"url": "http://x", "extension": [{"url": "a", "valueInteger": -3}]}],
        },
    ),
    (
        "non-ASCII and non-breaking space",
        {"resourceType": "Patient", "name": [{"family": "Ødegård\u00a0Ås"}]},
    ),
    (
        "multiline markdown",
        {
            "resourceType": "Basic",
            "code": {"text": "x"},
            "extension": [{"url": "http://x", "valueMarkdown": "a\n\n* b"}],
        },
    ),
    (
        "base64 with line breaks",
        {"resourceType": "Binary", "contentType": "text/plain", "data": "QUJD\nREVG\r\nR0hJ"},
    ),
    (
        "units-of-time code",
        {
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/1"},
            "medicationCodeableConcept": {"text": "x"},
            "dosageInstruction": [
                {"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}}
            ],
        },
    ),
]


@pytest.mark.parametrize("resource", [pytest.param(r, id=n) for n, r in VALID])
def test_valid(resource: dict[str, Any]) -> None:
    issues = validate_resource(resource)
    assert issues == [], [i.to_json() for i in issues]


# --- identifier_check --------------------------------------------------------------------------


def test_identifier_check() -> None:
    calls: list[tuple[str, str]] = []

    def check(system: str, value: str) -> str | None:
        calls.append((system, value))
        return "Invalid fødselsnummer" if value == "12345678901" else None

    resource = {
        "resourceType": "Patient",
        "identifier": [
            {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "13097248022"},
            {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "12345678901"},
            {"value": "no-system"},
        ],
        "generalPractitioner": [
            {"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": "9144900"}}
        ],
    }
    issues = validate_resource(resource, identifier_check=check)
    assert issues == [
        Issue("error", "value", "Invalid fødselsnummer", "Patient.identifier[1].value")
    ]
    assert ("urn:oid:2.16.578.1.12.4.1.4.4", "9144900") in calls
    assert len(calls) == 3
    assert validate_resource(resource) == []


def test_identifier_check_in_bundle_entry() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": "s", "value": "v"}],
                },
                "request": {"method": "POST", "url": "Patient"},
            }
        ],
    }
    issues = validate_resource(bundle, identifier_check=lambda s, v: f"bad {s}|{v}")
    assert _codes(issues) == [("value", "Bundle.entry[0].resource.identifier[0].value")]
    assert issues[0].diagnostics == "bad s|v"


def test_validate_or_raise() -> None:
    validate_or_raise({"resourceType": "Patient"})
    with pytest.raises(FhirError) as exc:
        validate_or_raise({"resourceType": "Patient", "gender": "mann"})
    assert exc.value.status == 422
    assert _codes(exc.value.issues) == [("code-invalid", "Patient.gender")]
    with pytest.raises(FhirError):
        validate_or_raise(
            {"resourceType": "Patient", "identifier": [{"system": "s", "value": "v"}]},
            identifier_check=lambda s, v: "nope",
        )


def test_no_catastrophic_backtracking() -> None:
    data = "QUJD\n" * 5000 + "!"
    start = time.perf_counter()
    issues = validate_resource(
        {"resourceType": "Binary", "contentType": "text/plain", "data": data}
    )
    assert time.perf_counter() - start < 1.0
    assert _codes(issues) == [("value", "Binary.data")]


def test_deep_nesting_does_not_raise() -> None:
    ext: dict[str, Any] = {"url": "x", "valueString": "y"}
    for _ in range(3000):
        ext = {"url": "x", "extension": [ext]}
    issues = validate_resource({"resourceType": "Patient", "extension": [ext]})
    assert _codes(issues) == [("invalid", "Patient")]


# --- properties --------------------------------------------------------------------------------

_PATIENT_KEYS = set(resource_nodes()["Patient"].elements)
_HUMANNAME_KEYS = set(resource_nodes()["Patient"].elements["name"][3].elements)


@settings(max_examples=200, deadline=None)
@given(key=st.text(min_size=1, max_size=20), value=st.none() | st.integers() | st.text())
def test_unknown_keys_are_always_reported(key: str, value: Any) -> None:
    resource: dict[str, Any] = {"resourceType": "Patient", "name": [{"family": "Nordmann"}]}
    if key not in _PATIENT_KEYS:
        resource[key] = value
    if key not in _HUMANNAME_KEYS:
        resource["name"][0][key] = value
    expected = set()
    if key not in _PATIENT_KEYS:
        expected.add(("structure", f"Patient.{key}"))
    if key not in _HUMANNAME_KEYS:
        expected.add(("structure", f"Patient.name[0].{key}"))
    assert set(_codes(validate_resource(resource))) == expected


@settings(max_examples=200, deadline=None)
@given(day=st.dates())
def test_dates_follow_the_calendar(day: Any) -> None:
    good = {
        "resourceType": "Patient",
        "birthDate": day.isoformat(),
        "deceasedDateTime": f"{day.isoformat()}T12:00:00+01:00",
    }
    assert validate_resource(good) == []
    if day.day >= 28 and day.month != 12:
        bad = f"{day.year:04d}-{day.month:02d}-32"
        assert _codes(validate_resource({"resourceType": "Patient", "birthDate": bad})) == [
            ("value", "Patient.birthDate")
        ]
