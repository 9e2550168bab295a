"""Tests for the search registry, the FHIRPath subset compiler and index extraction.

Reads the official R4 examples and Synthea bundles from the shared data directory
(``FELLESJOURNAL_SHARED``, default ``<repo>/../shared``); those tests skip when it is missing.
"""

from __future__ import annotations

import bz2
import json
import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fellesjournal.search.extract import IndexRows, extract
from fellesjournal.search.fhirpath import FhirPathError, compile_expression
from fellesjournal.search.normalize import DATE_MAX, DATE_MIN, date_range
from fellesjournal.search.registry import Registry, SearchParam, load_registry

SHARED = Path(
    os.environ.get("FELLESJOURNAL_SHARED", Path(__file__).resolve().parents[3] / "shared")
)
EXAMPLES = SHARED / "data" / "fhir-r4-examples"
FHIRPATH_TESTS = SHARED / "data" / "fhirpath-tests" / "r4"
SYNTHEA = SHARED / "data" / "synthea" / "blaze-synthea-120"

needs_examples = pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"{EXAMPLES} missing")
needs_synthea = pytest.mark.skipif(not SYNTHEA.is_dir(), reason=f"{SYNTHEA} missing")


@pytest.fixture(scope="module")
def reg() -> Registry:
    return load_registry()


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text("utf-8"))


def of(rows: list[tuple], param: str) -> list[tuple]:
    """Rows of ``param`` without the param column."""
    return [r[1:] for r in rows if r[0] == param]


def strings(rows: IndexRows, param: str) -> list[tuple[str]]:
    """Normalised string values of ``param`` (without the as-written column)."""
    return [(r[1],) for r in rows.string if r[0] == param]


# ----------------------------------------------------------------------------- registry
def test_registry_compiles_every_expression(reg: Registry) -> None:
    # R4 core, no-basis middlename, Task due/assignee, DocumentReference doc-status/signed
    assert len(reg.params) == 1375 + 1 + 2 + 2
    assert reg.expression_count == 1377  # _text, _content, _query have none
    assert reg.compiled_count == 1377
    assert reg.unsupported == ()


def test_params_for_patient(reg: Registry) -> None:
    params = reg.params_for("Patient")
    for code in (
        "_id",
        "_lastUpdated",
        "_tag",
        "_profile",
        "_security",
        "_source",
        "_text",
        "name",
        "family",
        "given",
        "birthdate",
        "gender",
        "identifier",
        "telecom",
        "phone",
        "email",
        "deceased",
        "general-practitioner",
        "link",
    ):
        assert code in params, code
    assert params["birthdate"].type == "date"
    assert set(params["general-practitioner"].targets) == {
        "Organization",
        "Practitioner",
        "PractitionerRole",
    }
    assert reg.get("Patient", "gender") == params["gender"]
    assert reg.get("Patient", "nope") is None
    params["gender"] = params["name"]  # a copy: the registry is not affected
    assert reg.get("Patient", "gender") != reg.get("Patient", "name")


def test_params_for_special_cases(reg: Registry) -> None:
    assert "_text" not in reg.params_for("Bundle")  # Bundle is not a DomainResource
    assert "_lastUpdated" in reg.params_for("Bundle")
    assert reg.params_for("NotAType") == {}
    comp = reg.get("Observation", "code-value-quantity")
    assert isinstance(comp, SearchParam)
    assert comp.type == "composite"
    assert comp.components == (("code", "code"), ("value-quantity", "value.as(Quantity)"))
    assert comp.multiple_or is False


def test_patient_compartment(reg: Registry) -> None:
    assert reg.patient_compartment("Patient") == ("{def}", "link")
    assert reg.patient_compartment("Observation") == ("subject", "performer")
    assert reg.patient_compartment("Encounter") == ("patient",)
    assert reg.patient_compartment("Organization") == ()


# ----------------------------------------------------------------------------- fhirpath
OBS: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "o1",
    "contained": [{"resourceType": "Patient", "id": "p1"}],
    "extension": [
        {"url": "http://x/ext", "valueString": "hello"},
        {"url": "http://x/other", "valueCode": "c"},
    ],
    "code": {
        "coding": [
            {"system": "http://loinc.org", "code": "1-1"},
            {"system": "http://loinc.org", "code": "2-2"},
        ]
    },
    "valueQuantity": {"value": 5.5, "unit": "mg"},
    "subject": {"reference": "Patient/123"},
    "performer": [
        {"reference": "#p1"},
        {"reference": "Practitioner/9"},
        {"reference": "urn:uuid:abc", "type": "Organization"},
    ],
    "component": [
        {"code": {"text": "a"}, "valueString": "x"},
        {"code": {"text": "b"}, "valueCodeableConcept": {"text": "y"}},
    ],
}


def ev(reg: Registry, expr: str, resource: dict[str, Any] = OBS) -> list[Any]:
    return [v for v, _t in compile_expression(expr, reg.types).evaluate(resource)]


def evt(reg: Registry, expr: str, resource: dict[str, Any] = OBS) -> list[Any]:
    return [t for _v, t in compile_expression(expr, reg.types).evaluate(resource)]


def test_fhirpath_paths_and_types(reg: Registry) -> None:
    assert ev(reg, "Observation.code.coding.code") == ["1-1", "2-2"]
    assert ev(reg, "Patient.name") == []  # type filter
    assert ev(reg, "Resource.id") == ["o1"]
    assert evt(reg, "Observation.value") == ["Quantity"]
    assert evt(reg, "Observation.component.value") == ["string", "CodeableConcept"]
    assert ev(reg, "Observation.value as Quantity") == [OBS["valueQuantity"]]
    assert ev(reg, "(Observation.value as CodeableConcept).text") == []
    assert ev(reg, "Observation.value.as(Quantity).unit") == ["mg"]
    assert ev(reg, "Observation.component.value.ofType(CodeableConcept).text") == ["y"]
    assert ev(reg, "Observation.component.value as string") == ["x"]
    assert ev(reg, "Observation.component.value.as(String)") == ["x"]  # R4 capitalisation
    assert ev(reg, "Observation.code.coding[1].code") == ["2-2"]
    assert ev(reg, "Observation.code.coding.first().code") == ["1-1"]
    assert ev(reg, "Observation.code.coding.last().code") == ["2-2"]
    assert ev(reg, "Observation.code.coding.count()") == [2]


def test_fhirpath_union_where_and_logic(reg: Registry) -> None:
    assert ev(reg, "Observation.id | Observation.id | Observation.status") == ["o1"]
    assert ev(reg, "Observation.component.where(code.text = 'b').value.text") == ["y"]
    assert ev(reg, "Observation.component.where(code.text != 'b').value") == ["x"]
    assert ev(reg, "Observation.value.exists() and Observation.status.empty()") == [True]
    assert ev(reg, "Observation.status.exists() or false") == [False]
    assert ev(reg, "Observation.status = 'final'") == []  # empty operand → empty
    assert ev(reg, "Observation.code.coding.select(code)") == ["1-1", "2-2"]
    assert ev(reg, "Observation.value.unit = 'mg'") == [True]
    assert ev(reg, "Observation.id.exists().not()") == [False]


def test_fhirpath_extensions(reg: Registry) -> None:
    assert ev(reg, "Observation.extension('http://x/ext').value") == ["hello"]
    assert evt(reg, "Observation.extension('http://x/ext').value") == ["string"]
    assert ev(reg, "Observation.extension.where(url = 'http://x/other').value") == ["c"]
    assert evt(reg, "Observation.extension.where(url = 'http://x/other').value") == ["code"]
    assert ev(reg, "extension('http://x/none')") == []


def test_fhirpath_resolve(reg: Registry) -> None:
    assert ev(reg, "Observation.subject.where(resolve() is Patient).reference") == ["Patient/123"]
    assert ev(reg, "Observation.subject.where(resolve() is Group)") == []
    perf = "Observation.performer.where(resolve() is {}).reference"
    assert ev(reg, perf.format("Patient")) == ["#p1"]  # contained
    assert ev(reg, perf.format("Practitioner")) == ["Practitioner/9"]
    assert ev(reg, perf.format("Organization")) == ["urn:uuid:abc"]  # Reference.type
    assert evt(reg, "Observation.performer.resolve()") == [
        "Patient",
        "Practitioner",
        "Organization",
    ]
    assert ev(reg, "Observation.performer.resolve().id") == ["p1"]  # contained resource


def test_fhirpath_relative_and_variables(reg: Registry) -> None:
    comp = compile_expression("code.text | %resource.id", reg.types)
    nodes = comp.evaluate_nodes([(c, "ObservationComponent") for c in OBS["component"]], OBS)
    assert [v for v, _ in nodes] == ["a", "b", "o1"]


@pytest.mark.parametrize(
    "expr",
    [
        "Observation.code.substring(1)",
        "today()",
        "1 + 1",
        "Observation.value > 5",
        "Observation.foo",
        "Observation.code.coding[",
        "Observation..code",
        "@2020",
    ],
)
def test_fhirpath_outside_subset_raises_at_compile_time(reg: Registry, expr: str) -> None:
    with pytest.raises(FhirPathError):
        compile_expression(expr, reg.types)


def test_branch_keys_and_roots(reg: Registry) -> None:
    comp = compile_expression("Patient.name | Practitioner.address | Observation.value", reg.types)
    assert [b.root for b in comp.branches] == ["Patient", "Practitioner", "Observation"]
    assert comp.branches[0].keys == {"name"}
    assert "valueQuantity" in (comp.branches[2].keys or ())
    narrowed = compile_expression("(Observation.value as Quantity)", reg.types)
    assert narrowed.branches[0].keys == {"valueQuantity"}


def _suite_input(name: str) -> dict[str, Any] | None:
    path = FHIRPATH_TESTS / "input" / name
    if name.endswith(".xml"):  # JSON twins exist for 4 of the XML inputs
        path = FHIRPATH_TESTS / "input-json" / (name[:-4] + ".json")
    return json.loads(path.read_text("utf-8")) if name and path.is_file() else None


def _fmt(v: Any) -> str:
    if type(v) is bool:
        return "true" if v else "false"
    return str(int(v)) if type(v) is float and v.is_integer() else str(v)


@pytest.mark.skipif(not FHIRPATH_TESTS.is_dir(), reason=f"{FHIRPATH_TESTS} missing")
def test_official_fhirpath_suite_on_the_subset(reg: Registry) -> None:
    """HL7 FHIRPath R4 suite: run the tests whose expression compiles in the subset.
    Measured: 171 of the 840 tests with a JSON input compile, 152 of those pass. The rest are
    deliberate leniencies (no static check of relative paths, ``string`` standing for code/id,
    System types folded into FHIR primitives, no ``_primitive`` extensions) or JSON twins that
    differ from the XML inputs."""
    compiled = passed = 0
    for test in ET.parse(FHIRPATH_TESTS / "tests-fhir-r4.xml").iter("test"):
        expr = test.find("expression")
        resource = _suite_input(test.get("inputfile", ""))
        if expr is None or resource is None:
            continue
        try:
            comp = compile_expression(expr.text or "", reg.types)
        except FhirPathError:
            continue  # outside the subset (or a syntax error the suite expects)
        compiled += 1
        if expr.get("invalid"):
            continue
        values = [v for v, _t in comp.evaluate(resource)]  # must never raise
        if test.get("predicate") == "true":
            values = [bool(values)]
        expected = [(o.text or "").lstrip("@") for o in test.findall("output")]
        passed += [_fmt(v) for v in values] == expected
    assert compiled >= 150
    assert passed >= 140, (passed, compiled)


# ----------------------------------------------------------------------------- extraction
@needs_examples
def test_all_examples_extract(reg: Registry) -> None:
    files = sorted(EXAMPLES.glob("*.json"))
    assert len(files) == 707
    empty = []
    for path in files:
        rows = extract(json.loads(path.read_text("utf-8")), reg)
        assert isinstance(rows, IndexRows)
        total = sum(len(getattr(rows, f)) for f in IndexRows.__slots__)
        if total == 0:
            empty.append(path.name)
        for kind in IndexRows.__slots__:
            lst = getattr(rows, kind)
            assert len(lst) == len(set(lst)), (path.name, kind)  # deduplicated
        for _p, low, high in rows.date:
            assert DATE_MIN <= low < high <= DATE_MAX
        for r in rows.string:
            assert len(r[1]) <= 512
    # 22 examples have nothing indexable: OperationOutcome/Binary/... have no params of their
    # own, others carry only elements no R4 search parameter covers
    assert len(empty) <= 25, empty
    assert "Patient-example.json" not in empty


@needs_examples
def test_patient_example(reg: Registry) -> None:
    rows = extract(example("Patient-example.json"), reg)
    assert set(of(rows.string, "family")) == {("chalmers", "Chalmers"), ("windsor", "Windsor")}
    assert ("peter",) in strings(rows, "given") and ("jim",) in strings(rows, "given")
    assert ("chalmers",) in strings(rows, "name")
    assert of(rows.token, "gender") == [(None, "male", None)]
    assert of(rows.date, "birthdate") == [date_range("1974-12-25")]
    assert of(rows.token, "identifier") == [("urn:oid:1.2.36.146.595.217.0.1", "12345", None)]
    assert of(rows.token, "identifier:of-type") == [
        ("http://terminology.hl7.org/CodeSystem/v2-0203", "MR|12345", None)
    ]
    # ContactPoint: the token is the value, system None
    assert (None, "(03) 5555 6473", None) in of(rows.token, "phone")
    assert (None, "(03) 5555 6473", None) in of(rows.token, "telecom")
    assert of(rows.token, "active") == [(None, "true", None)]
    assert of(rows.token, "deceased") == [(None, "false", None)]
    assert of(rows.reference, "organization") == [("Organization", "1", None)]
    assert ("pleasantville",) in strings(rows, "address-city")
    assert not any(r[0] == "_id" for r in rows.token)


@needs_examples
def test_observation_example(reg: Registry) -> None:
    rows = extract(example("Observation-example.json"), reg)
    assert ("http://loinc.org", "29463-7", "body weight") in of(rows.token, "code")
    assert of(rows.quantity, "value-quantity") == [
        (185.0, 184.5, 185.5, "http://unitsofmeasure.org", "[lb_av]", "lbs")
    ]
    assert of(rows.date, "date") == [date_range("2016-03-28")]
    assert of(rows.reference, "subject") == [("Patient", "example", None)]
    assert of(rows.reference, "patient") == [("Patient", "example", None)]
    assert (
        "http://loinc.org",
        "29463-7",
        "http://unitsofmeasure.org",
        "[lb_av]",
        185.0,
        None,
        None,
    ) in of(rows.composite, "code-value-quantity")
    assert len(of(rows.composite, "code-value-quantity")) == 4  # one per coding


@needs_examples
def test_observation_components_and_reference_identifier(reg: Registry) -> None:
    rows = extract(example("Observation-blood-pressure.json"), reg)
    assert (
        "http://loinc.org",
        "8480-6",
        "http://unitsofmeasure.org",
        "mm[Hg]",
        107.0,
        None,
        None,
    ) in of(rows.composite, "component-code-value-quantity")
    assert (
        "http://loinc.org",
        "8462-4",
        "http://unitsofmeasure.org",
        "mm[Hg]",
        60.0,
        None,
        None,
    ) in of(rows.composite, "combo-code-value-quantity")
    assert len(of(rows.quantity, "component-value-quantity")) == 2
    assert of(rows.token, "based-on:identifier") == [("https://acme.org/identifiers", "1234", None)]
    assert ("http://hl7.org/fhir/StructureDefinition/vitalsigns",) in of(rows.uri, "_profile")


@needs_examples
def test_observation_concept_value(reg: Registry) -> None:
    rows = extract(example("Observation-bloodgroup.json"), reg)
    assert ("http://snomed.info/sct", "112144000", "blood group a (finding)") in of(
        rows.token, "value-concept"
    )
    assert of(rows.composite, "code-value-concept") == [
        ("http://loinc.org", "883-9", "http://snomed.info/sct", "112144000", None, None, None)
    ]


@needs_examples
def test_encounter_period(reg: Registry) -> None:
    enc = example("Encounter-f203.json")
    rows = extract(enc, reg)
    start, end = enc["period"]["start"], enc["period"]["end"]
    assert of(rows.date, "date") == [(date_range(start)[0], date_range(end)[1])]
    assert of(rows.reference, "subject") == [("Patient", "f201", None)]


@needs_examples
def test_condition_onset_choice_types(reg: Registry) -> None:
    rows = extract(example("Condition-example.json"), reg)
    assert of(rows.date, "onset-date") == [date_range("2012-05-24")]
    assert strings(rows, "onset-info") == []
    rows = extract(example("Condition-example2.json"), reg)
    assert strings(rows, "onset-info") == [("approximately november 2012",)]
    assert of(rows.date, "onset-date") == []
    rows = extract(example("Condition-f202.json"), reg)
    assert of(rows.quantity, "onset-age") == [
        (52.0, 51.5, 52.5, "http://unitsofmeasure.org", "a", "years")
    ]
    assert of(rows.token, "_security")[0][:2] == (
        "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "TBOO",
    )


@needs_examples
def test_document_reference_relationship(reg: Registry) -> None:
    rows = extract(example("DocumentReference-example.json"), reg)
    # R4 swaps the component definitions; the values decide: code token, target reference
    assert of(rows.composite, "relationship") == [
        (None, "appends", "DocumentReference", "example", None, None, None)
    ]


@needs_examples
def test_bundle_meta_last_updated(reg: Registry) -> None:
    bundle = example("Bundle-bundle-example.json")
    rows = extract(bundle, reg)
    assert of(rows.date, "_lastUpdated") == [date_range(bundle["meta"]["lastUpdated"])]
    assert of(rows.token, "type") == [(None, "searchset", None)]


def test_reference_forms(reg: Registry) -> None:
    res = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "urn:uuid:5a1f2c"},
        "encounter": {"reference": "http://example.org/fhir/Encounter/e1/_history/2"},
        "performer": [
            {"reference": "#c1"},
            {"reference": "Practitioner/p1/_history/3"},
            {"reference": "http://example.org/x/notatype/1"},
            {"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": "9144900"}},
        ],
        "hasMember": [{"reference": "Observation/o1"}, {"reference": "Observation/o1"}],
    }
    rows = extract(res, reg)
    assert of(rows.reference, "subject") == [(None, None, "urn:uuid:5a1f2c")]
    assert of(rows.reference, "encounter") == [
        ("Encounter", "e1", "http://example.org/fhir/Encounter/e1/_history/2")
    ]
    assert of(rows.reference, "performer") == [
        ("Practitioner", "p1", None),
        (None, None, "http://example.org/x/notatype/1"),
    ]
    assert of(rows.token, "performer:identifier") == [
        ("urn:oid:2.16.578.1.12.4.1.4.4", "9144900", None)
    ]
    assert of(rows.reference, "has-member") == [("Observation", "o1", None)]  # deduplicated
    assert of(rows.reference, "patient") == []  # urn:uuid has no type to test against


def test_value_kinds(reg: Registry) -> None:
    res = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "Blåbær"},
        "meta": {
            "lastUpdated": "2024-01-02T03:04:05.678+01:00",
            "tag": [{"system": "http://t", "code": "x", "display": "Ekstra Ø"}],
            "profile": ["http://p/1|2.0"],
            "source": "http://src#a",
        },
        "effectivePeriod": {"start": "2020-01-01"},
        "valueRange": {"low": {"value": 1, "unit": "mg"}, "high": {"value": 3, "unit": "mg"}},
        "identifier": [{"value": "only-value"}],
    }
    rows = extract(res, reg)
    assert of(rows.token, "code") == [(None, None, "blaabaer")]
    assert of(rows.token, "_tag") == [("http://t", "x", "ekstra o")]
    assert of(rows.date, "_lastUpdated") == [date_range("2024-01-02T03:04:05.678+01:00")]
    assert of(rows.uri, "_profile") == [("http://p/1|2.0",)]
    assert of(rows.uri, "_source") == [("http://src#a",)]
    assert of(rows.date, "date") == [(date_range("2020-01-01")[0], DATE_MAX)]
    assert of(rows.quantity, "value-quantity") == []  # Range is not in value-quantity
    assert of(rows.token, "identifier") == [(None, "only-value", None)]


def test_quantity_money_timing_and_number(reg: Registry) -> None:
    claim = {
        "resourceType": "ChargeItem",
        "status": "billable",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/1"},
        "priceOverride": {"value": 10.5, "currency": "NOK"},
        "quantity": {"value": 2, "comparator": "<"},
        "occurrenceTiming": {"event": ["2021-05-01", "2021-06-01T10:00:00Z"]},
    }
    rows = extract(claim, reg)
    assert of(rows.quantity, "price-override") == [
        (10.5, 10.45, 10.55, "urn:iso:std:iso:4217", "NOK", None)
    ]
    assert of(rows.quantity, "quantity") == [(2.0, float("-inf"), 2.5, None, None, None)]
    assert of(rows.date, "occurrence") == [
        date_range("2021-05-01"),
        date_range("2021-06-01T10:00:00Z"),
    ]
    risk = {
        "resourceType": "RiskAssessment",
        "status": "final",
        "subject": {"reference": "P/1"},
        "prediction": [{"probabilityDecimal": 0.25}, {"probabilityRange": {}}],
    }
    rows = extract(risk, reg)
    assert of(rows.number, "probability") == [(0.25, 0.245, 0.255)]


def test_strings_are_truncated_and_names_split(reg: Registry) -> None:
    res = {
        "resourceType": "Patient",
        "name": [
            {"family": "Ødegård", "given": ["Kari", "Ås"], "prefix": ["Dr."], "text": "x" * 2000}
        ],
        "address": [{"line": ["Storgata 1"], "city": "Tromsø", "postalCode": "9008"}],
        "birthDate": "1980-02-30",
    }  # invalid date: skipped, not fatal
    rows = extract(res, reg)
    assert strings(rows, "family") == [("odegaard",)]
    assert strings(rows, "given") == [("kari",), ("aas",)]
    assert ("dr.",) in strings(rows, "name")
    assert ("x" * 512,) in strings(rows, "name")
    assert strings(rows, "address-city") == [("tromso",)]
    assert of(rows.date, "birthdate") == []


def test_non_resources_and_unknown_types(reg: Registry) -> None:
    for bad in ({}, {"resourceType": 5}, {"resourceType": "NoSuchType", "id": "1"}):
        rows = extract(bad, reg)
        assert rows == IndexRows([], [], [], [], [], [], [], [])


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "value",
                    "code",
                    "system",
                    "reference",
                    "start",
                    "end",
                    "coding",
                    "text",
                    "family",
                    "given",
                    "low",
                    "high",
                    "event",
                    "resourceType",
                    "identifier",
                    "type",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["Patient", "Observation", "Encounter", "Condition", "Bundle"]),
    st.dictionaries(
        st.sampled_from(
            [
                "name",
                "identifier",
                "telecom",
                "birthDate",
                "code",
                "valueQuantity",
                "subject",
                "effectivePeriod",
                "component",
                "period",
                "onsetAge",
                "meta",
                "entry",
                "address",
                "deceasedBoolean",
                "valueRange",
                "contained",
                "extension",
            ]
        ),
        _json,
        max_size=6,
    ),
)
def test_extract_is_total_on_malformed_input(reg: Registry, rtype: str, body: dict) -> None:
    rows = extract({"resourceType": rtype, **body}, reg)
    assert isinstance(rows, IndexRows)


# ----------------------------------------------------------------------------- synthea
def _synthea_resources(limit: int | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(SYNTHEA.glob("*.json.bz2"))[:limit]:
        with bz2.open(path, "rt", encoding="utf-8") as fh:
            bundle = json.load(fh)
        out.extend(e["resource"] for e in bundle["entry"])
    return out


def _rate(reg: Registry, resources: list[dict[str, Any]]) -> float:
    for r in resources[:200]:  # warm the per-type plans
        extract(r, reg)
    start = time.perf_counter()
    for r in resources:
        extract(r, reg)
    return len(resources) / (time.perf_counter() - start)


@needs_synthea
def test_synthea_sample(reg: Registry) -> None:
    resources = _synthea_resources(3)
    assert len(resources) > 1000
    _rate(reg, resources)  # every resource extracts (the speed is measured in make bench)
    obs = next(r for r in resources if r["resourceType"] == "Observation" and "valueQuantity" in r)
    rows = extract(obs, reg)
    assert of(rows.quantity, "value-quantity")
    assert of(rows.composite, "code-value-quantity")


@pytest.mark.slow
@needs_synthea
def test_synthea_throughput(reg: Registry) -> None:
    resources = _synthea_resources(None)
    assert len(resources) == 92114
    rate = _rate(reg, resources)
    # Every Synthea resource extracts; the rate is printed, not asserted (timing belongs
    # in make bench, not in a test that a busy machine would fail).
    print(f"extraction: {rate:.0f} resources/s over {len(resources)} Synthea resources")
