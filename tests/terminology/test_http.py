"""The terminology operations over HTTP: $lookup, $expand, $validate-code."""

from __future__ import annotations

from typing import Any

from fellesjournal.terminology import ICD10_NO, ICPC2

ICD_VS = ICD10_NO + "?fhir_vs"
ICPC_VS = ICPC2 + "?fhir_vs"


def _params(body: dict[str, Any]) -> dict[str, Any]:
    """Parameters as {name: value or [parts...]} (first occurrence)."""
    assert body["resourceType"] == "Parameters"
    out: dict[str, Any] = {}
    for p in body["parameter"]:
        value = p.get("part") or next(v for k, v in p.items() if k.startswith("value"))
        out.setdefault(p["name"], value)
    return out


def _issue(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code
    return body["issue"][0]  # type: ignore[no-any-return]


# --- $lookup ---------------------------------------------------------------------------


def test_lookup_get(client) -> None:
    r = client.get("/fhir/CodeSystem/$lookup", params={"system": ICD10_NO, "code": "A00.0"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/fhir+json")
    out = _params(r.json())
    assert out["display"] == "Kolera som skyldes Vibrio cholerae 01, biovar cholerae"
    assert out["version"] == "2026"
    assert "ICD-10" in out["name"]
    assert {"name": "language", "valueCode": "nb"} in out["designation"]


def test_lookup_post_with_a_coding(client) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [{"name": "coding", "valueCoding": {"system": ICPC2, "code": "R96"}}],
    }
    r = client.post("/fhir/CodeSystem/$lookup", json=body)
    assert r.status_code == 200, r.text
    assert _params(r.json())["display"].lower().startswith("astma")


def test_lookup_errors(client) -> None:
    issue = _issue(
        client.get("/fhir/CodeSystem/$lookup", params={"system": ICD10_NO, "code": "A00"}),
        404,
        "not-found",
    )
    assert "A00" in issue["diagnostics"]
    _issue(
        client.get("/fhir/CodeSystem/$lookup", params={"system": "http://x.org", "code": "A"}),
        404,
        "not-found",
    )
    _issue(
        client.get(
            "/fhir/CodeSystem/$lookup",
            params={"system": ICD10_NO, "code": "A000", "version": "2019"},
        ),
        404,
        "not-found",
    )
    _issue(client.get("/fhir/CodeSystem/$lookup", params={"code": "A000"}), 400, "invalid")
    _issue(client.get("/fhir/CodeSystem/$lookup", params={"system": ICD10_NO}), 400, "invalid")
    _issue(
        client.post("/fhir/CodeSystem/$lookup", json={"resourceType": "Patient"}), 400, "invalid"
    )


# --- $expand ---------------------------------------------------------------------------


def test_expand_with_filter(client) -> None:
    r = client.get(
        "/fhir/ValueSet/$expand", params={"url": ICPC_VS, "filter": "smerte bryst", "count": "5"}
    )
    assert r.status_code == 200, r.text
    vs = r.json()
    assert vs["resourceType"] == "ValueSet" and vs["url"] == ICPC_VS and vs["status"] == "active"
    exp = vs["expansion"]
    assert exp["total"] >= 1 and exp["offset"] == 0 and exp["timestamp"]
    assert {"system": ICPC2, "version": "2026", "code": "X18", "display": "Smerte bryst (K)"} in (
        exp["contains"]
    )
    assert {"name": "filter", "valueString": "smerte bryst"} in exp["parameter"]


def test_expand_paging_and_defaults(client) -> None:
    first = client.get("/fhir/ValueSet/$expand", params={"url": ICD10_NO, "filter": "hjerte"})
    assert first.status_code == 200, first.text
    exp = first.json()["expansion"]
    assert len(exp["contains"]) == 20  # default count
    total = exp["total"]
    assert total > 100
    second = client.get(
        "/fhir/ValueSet/$expand",
        params={"url": ICD_VS, "filter": "hjerte", "count": "20", "offset": "20"},
    ).json()["expansion"]
    assert second["offset"] == 20 and second["total"] == total
    codes = [c["code"] for c in exp["contains"] + second["contains"]]
    assert len(set(codes)) == 40 and codes == sorted(codes)
    past = client.get(
        "/fhir/ValueSet/$expand", params={"url": ICD_VS, "filter": "hjerte", "offset": "99999"}
    ).json()["expansion"]
    assert past["total"] == total and "contains" not in past
    big = client.get("/fhir/ValueSet/$expand", params={"url": ICD_VS, "count": "5000"}).json()
    assert len(big["expansion"]["contains"]) == 1000  # capped
    assert big["expansion"]["total"] == 19_634


def test_expand_post_and_norwegian_letters(client) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "url", "valueUri": ICPC_VS},
            {"name": "filter", "valueString": "aa"},
            {"name": "count", "valueInteger": 50},
        ],
    }
    r = client.post("/fhir/ValueSet/$expand", json=body)
    assert r.status_code == 200, r.text
    displays = [c["display"] for c in r.json()["expansion"]["contains"]]
    assert "Åreknuter underekstremitet" in displays


def test_expand_errors(client) -> None:
    _issue(
        client.get("/fhir/ValueSet/$expand", params={"url": "http://x.org/vs"}), 404, "not-found"
    )
    _issue(client.get("/fhir/ValueSet/$expand", params={"filter": "x"}), 400, "invalid")
    _issue(
        client.get("/fhir/ValueSet/$expand", params={"url": ICD_VS, "count": "-1"}), 400, "invalid"
    )
    _issue(
        client.get("/fhir/ValueSet/$expand", params={"url": ICD_VS, "offset": "x"}), 400, "invalid"
    )
    inline = {
        "resourceType": "Parameters",
        "parameter": [{"name": "valueSet", "resource": {"resourceType": "ValueSet"}}],
    }
    _issue(client.post("/fhir/ValueSet/$expand", json=inline), 400, "not-supported")


# --- $validate-code --------------------------------------------------------------------


def test_codesystem_validate_code(client) -> None:
    ok = client.get("/fhir/CodeSystem/$validate-code", params={"url": ICD10_NO, "code": "J45.0"})
    assert ok.status_code == 200, ok.text
    out = _params(ok.json())
    assert out["result"] is True and out["display"] == "Hovedsakelig allergisk astma"
    bad = _params(
        client.get(
            "/fhir/CodeSystem/$validate-code", params={"url": ICD10_NO, "code": "J45.7"}
        ).json()
    )
    assert bad["result"] is False and "J45.7" in bad["message"]
    wrong_display = _params(
        client.get(
            "/fhir/CodeSystem/$validate-code",
            params={"url": ICPC2, "code": "R96", "display": "Hoste"},
        ).json()
    )
    assert wrong_display["result"] is False and wrong_display["display"].lower().startswith("astma")
    _issue(
        client.get("/fhir/CodeSystem/$validate-code", params={"url": "http://x", "code": "1"}),
        404,
        "not-found",
    )
    _issue(client.get("/fhir/CodeSystem/$validate-code", params={"url": ICPC2}), 400, "invalid")


def test_valueset_validate_code(client) -> None:
    r = client.get(
        "/fhir/ValueSet/$validate-code",
        params={"url": ICPC_VS, "system": ICPC2, "code": "K86"},
    )
    assert r.status_code == 200, r.text
    assert _params(r.json())["result"] is True
    other_system = _params(
        client.get(
            "/fhir/ValueSet/$validate-code",
            params={"url": ICPC_VS, "system": ICD10_NO, "code": "A000"},
        ).json()
    )
    assert other_system["result"] is False and ICD10_NO in other_system["message"]
    concept = {
        "coding": [
            {"system": "http://snomed.info/sct", "code": "195967001"},
            {"system": ICD10_NO, "code": "J45.0", "display": "hovedsakelig allergisk ASTMA"},
        ]
    }
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "url", "valueUri": ICD_VS},
            {"name": "codeableConcept", "valueCodeableConcept": concept},
        ],
    }
    r = client.post("/fhir/ValueSet/$validate-code", json=body)
    assert r.status_code == 200, r.text
    assert _params(r.json())["result"] is True
    _issue(
        client.get("/fhir/ValueSet/$validate-code", params={"url": "http://x", "code": "1"}),
        404,
        "not-found",
    )


def test_operations_are_in_the_capability_statement(client) -> None:
    statement = client.get("/fhir/metadata").json()
    ops = {
        r["type"]: {o["name"]: o["definition"] for o in r.get("operation", [])}
        for r in statement["rest"][0]["resource"]
    }
    base = "http://hl7.org/fhir/OperationDefinition/"
    assert ops["CodeSystem"]["lookup"] == base + "CodeSystem-lookup"
    assert ops["CodeSystem"]["validate-code"] == base + "CodeSystem-validate-code"
    assert ops["ValueSet"]["expand"] == base + "ValueSet-expand"
    assert ops["ValueSet"]["validate-code"] == base + "ValueSet-validate-code"
    assert "lookup" not in ops["Patient"]


# --- the write check (service/writes.py content_issues) ----------------------------------


def test_condition_codes_are_checked_on_write(client) -> None:
    patient = client.post("/fhir/Patient", json={"resourceType": "Patient", "gender": "male"})
    assert patient.status_code == 201, patient.text
    condition = {
        "resourceType": "Condition",
        "subject": {"reference": f"Patient/{patient.json()['id']}"},
        "code": {
            "coding": [
                {"system": ICPC2, "code": "R96"},
                {"system": ICD10_NO, "code": "J45.7", "display": "astma"},
            ]
        },
    }
    bad = client.post("/fhir/Condition", json=condition)
    issue = _issue(bad, 422, "code-invalid")
    assert issue["expression"] == ["Condition.code.coding[1].code"]
    assert "J45.7" in issue["diagnostics"]
    condition["code"]["coding"][1]["code"] = "J45.0"  # type: ignore[index]
    good = client.post("/fhir/Condition", json=condition)
    assert good.status_code == 201, good.text
