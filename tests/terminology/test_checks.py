"""The write check on Condition.code: unknown ICD-10-NO / ICPC-2 codes are errors."""

from __future__ import annotations

from typing import Any

from fellesjournal.terminology import ICD10_NO, ICPC2, coding_issues


def _condition(*codings: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/x"},
        "code": {"coding": list(codings), "text": "fritekst"},
    }


def test_known_codes_pass() -> None:
    body = _condition(
        {"system": ICD10_NO, "code": "J450", "display": "egen tekst er lov"},
        {"system": ICD10_NO, "code": "J45.0"},
        {"system": ICPC2, "code": "R96"},
        {"system": "urn:oid:2.16.578.1.12.4.1.1.7110", "code": "I210a"},
    )
    assert coding_issues(body) == []


def test_unknown_codes_are_errors_with_their_path() -> None:
    body = _condition(
        {"system": ICD10_NO, "code": "J450"},
        {"system": ICD10_NO, "code": "J457"},
        {"system": "http://snomed.info/sct", "code": "195967001"},
        {"system": "urn:oid:2.16.840.1.113883.6.139", "code": "R960"},
    )
    issues = coding_issues(body)
    assert [(i.severity, i.code, i.expression) for i in issues] == [
        ("error", "code-invalid", "Condition.code.coding[1].code"),
        ("error", "code-invalid", "Condition.code.coding[3].code"),
    ]
    assert "J457" in issues[0].diagnostics and ICD10_NO in issues[0].diagnostics
    assert "R960" in issues[1].diagnostics and "ICPC-2" in issues[1].diagnostics


def test_only_condition_code_is_checked() -> None:
    bad = {"system": ICD10_NO, "code": "XXXX"}
    assert coding_issues({"resourceType": "Observation", "code": {"coding": [bad]}}) == []
    category_only = {
        "resourceType": "Condition",
        "category": [{"coding": [bad]}],
        "subject": {"reference": "Patient/x"},
    }
    assert coding_issues(category_only) == []
    assert len(coding_issues(_condition(bad))) == 1


def test_malformed_codings_are_left_to_structure_validation() -> None:
    weird: list[Any] = ["x", {"system": ICD10_NO}, {"system": ICD10_NO, "code": 7}, {"code": "x"}]
    assert coding_issues(_condition(*weird)) == []
    assert coding_issues({"resourceType": "Condition", "code": "J450"}) == []
    assert coding_issues({"resourceType": "Condition", "code": {"coding": "J450"}}) == []
