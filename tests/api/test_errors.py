"""Bad input never hurts: every failure is an OperationOutcome with the right status."""

from __future__ import annotations

import pytest


def _outcome(r, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"]
    return body


def test_requires_bearer_token(anon_client) -> None:
    r = anon_client.get("/fhir/Patient")
    _outcome(r, 401)
    assert "Bearer" in r.headers["WWW-Authenticate"]
    _outcome(anon_client.get("/fhir/Patient", headers={"Authorization": "Bearer nope"}), 401)


def test_metadata_is_public(anon_client) -> None:
    r = anon_client.get("/fhir/metadata")
    assert r.status_code == 200
    cs = r.json()
    assert cs["resourceType"] == "CapabilityStatement"
    assert cs["fhirVersion"] == "4.0.1"
    patient = next(x for x in cs["rest"][0]["resource"] if x["type"] == "Patient")
    assert {
        "name": "everything",
        "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
    } in patient["operation"]
    assert any(p["name"] == "birthdate" for p in patient["searchParam"])


def test_malformed_json(client) -> None:
    _outcome(
        client.post(
            "/fhir/Patient", content=b"{not json", headers={"Content-Type": "application/fhir+json"}
        ),
        400,
    )


def test_wrong_resource_type(client) -> None:
    _outcome(client.post("/fhir/Patient", json={"resourceType": "Observation"}), 400)


def test_id_mismatch(client) -> None:
    _outcome(client.put("/fhir/Patient/a1", json={"resourceType": "Patient", "id": "b2"}), 400)


def test_unknown_type(client) -> None:
    _outcome(client.get("/fhir/Pasient/1"), 404)
    _outcome(client.get("/fhir/Pasient"), 404)


def test_not_found(client) -> None:
    _outcome(client.get("/fhir/Patient/does-not-exist"), 404)


def test_invalid_content(client) -> None:
    body = _outcome(
        client.post("/fhir/Patient", json={"resourceType": "Patient", "gender": "mann"}), 422
    )
    assert body["issue"][0]["expression"] == ["Patient.gender"]
    _outcome(
        client.post("/fhir/Patient", json={"resourceType": "Patient", "birthDate": "1999-02-30"}),
        422,
    )
    _outcome(client.post("/fhir/Patient", json={"resourceType": "Patient", "unknownThing": 1}), 422)


def test_bad_norwegian_identifier(client) -> None:
    body = _outcome(
        client.post(
            "/fhir/Patient",
            json={
                "resourceType": "Patient",
                "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "12345678901"}],
            },
        ),
        422,
    )
    assert body["issue"][0]["expression"] == ["Patient.identifier[0].value"]
    _outcome(
        client.post(
            "/fhir/Organization",
            json={
                "resourceType": "Organization",
                "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": "123456789"}],
            },
        ),
        422,
    )
    body = _outcome(
        client.post(
            "/fhir/Practitioner",
            json={
                "resourceType": "Practitioner",
                "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": "91x4889"}],
            },
        ),
        422,
    )
    assert body["issue"][0]["expression"] == ["Practitioner.identifier[0].value"]
    assert "0-9" in body["issue"][0]["diagnostics"]
    # a fastlege named by HER-id in Patient.generalPractitioner is checked too
    body = _outcome(
        client.post(
            "/fhir/Patient",
            json={
                "resourceType": "Patient",
                "generalPractitioner": [
                    {"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.2", "value": "HER-1"}}
                ],
            },
        ),
        422,
    )
    assert body["issue"][0]["expression"] == ["Patient.generalPractitioner[0].identifier.value"]


def test_body_too_large(app, system_token, settings) -> None:
    from starlette.testclient import TestClient

    from fellesjournal.app import create_app

    small = settings.model_copy(update={"max_body_bytes": 1000})
    small_app = create_app(small, store=app.state.store)
    with TestClient(small_app) as c:
        r = c.post(
            "/fhir/Patient",
            content=b"{" + b" " * 2000 + b"}",
            headers={
                "Authorization": f"Bearer {system_token}",
                "Content-Type": "application/fhir+json",
            },
        )
    _outcome(r, 413)


def test_method_not_allowed(client) -> None:
    r = client.post("/fhir/Patient/123/_history")
    _outcome(r, 405)
    assert "GET" in r.headers["Allow"]


def test_version_conflict_on_bad_if_match(client) -> None:
    pid = client.post("/fhir/Basic", json={"resourceType": "Basic", "code": {"text": "x"}}).json()[
        "id"
    ]
    body = client.get(f"/fhir/Basic/{pid}").json()
    _outcome(client.put(f"/fhir/Basic/{pid}", json=body, headers={"If-Match": "garbage"}), 400)
    _outcome(client.put(f"/fhir/Basic/{pid}", json=body, headers={"If-Match": 'W/"9"'}), 412)


def test_unsupported_format(client) -> None:
    _outcome(client.get("/fhir/Patient?_format=xml"), 406)


def test_unknown_search_parameter_lenient_and_strict(client) -> None:
    r = client.get("/fhir/Patient?foo=bar")
    assert r.status_code == 200
    outcomes = [e for e in r.json()["entry"] if e["search"]["mode"] == "outcome"]
    assert outcomes and "foo" in outcomes[0]["resource"]["issue"][0]["diagnostics"]
    _outcome(client.get("/fhir/Patient?foo=bar", headers={"Prefer": "handling=strict"}), 400)


@pytest.mark.parametrize(
    "query",
    [
        "birthdate=notadate",
        "_count=-1",
        "_count=abc",
        "gender:bogus=x",
        "_sort=nosuch",
        "general-practitioner.nosuch=1",
        "_include=Patient:nosuch",
        "_summary=maybe",
        "name:missing=perhaps",
        "_has:Observation:nosuch:code=1",
    ],
)
def test_bad_search_values_are_400(client, query: str) -> None:
    _outcome(client.get(f"/fhir/Patient?{query}"), 400)


def test_security_headers(client) -> None:
    r = client.get("/fhir/metadata")
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Frame-Options"] == "DENY"


def test_smart_configuration_and_jwks(anon_client) -> None:
    conf = anon_client.get("/.well-known/smart-configuration")
    assert conf.status_code == 200
    body = conf.json()
    assert body["jwks_uri"].endswith("/auth/jwks")
    keys = anon_client.get("/auth/jwks").json()["keys"]
    assert keys and keys[0]["kty"] == "RSA" and "d" not in keys[0]
