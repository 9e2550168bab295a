"""The portal's reading pages show the signed-in citizen's own data, as released to
them, and nothing of anyone else's."""

from __future__ import annotations

import base64
import datetime
import html

import pytest
from starlette.testclient import TestClient

from tests.portal.conftest import People, Person, sign_in

LOINC = "http://loinc.org"
INTERP = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def _text(concept: dict) -> str:
    return concept.get("text") or concept["coding"][0].get("display", "")


def _released_document(people: People, person: Person) -> dict | None:
    """A final discharge summary or outpatient note signed more than a day ago."""
    cutoff = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)).isoformat()
    for doc in people.search("DocumentReference", [("patient", f"Patient/{person.patient_id}")]):
        codes = {c.get("code") for c in doc["type"].get("coding", ())}
        final = doc.get("docStatus") == "final"
        if codes & {"18842-5", "11506-3"} and final and doc["date"] < cutoff:
            return doc
    return None


def _released_report(people: People, person: Person) -> dict | None:
    """A lab report issued more than 14 days ago (the default category's safety net)."""
    cutoff = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=15)).isoformat()
    for report in people.search("DiagnosticReport", [("patient", f"Patient/{person.patient_id}")]):
        if report.get("issued", "9999") < cutoff:
            return report
    return None


@pytest.fixture(scope="module")
def owner(people: People) -> Person:
    return people.richest()


@pytest.fixture
def signed_in(visitor: TestClient, owner: Person) -> TestClient:
    assert sign_in(visitor, owner.fnr).status_code == 200
    return visitor


def test_start_page(signed_in: TestClient, owner: Person) -> None:
    start = signed_in.get("/portal")
    assert start.status_code == 200
    for path in ("/portal/record", "/portal/documents", "/portal/results", "/portal/download"):
        assert f'href="{path}"' in start.text


def test_record_shows_problems_medicines_and_contacts(
    signed_in: TestClient, people: People, owner: Person
) -> None:
    page = signed_in.get("/portal/record")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    pid = f"Patient/{owner.patient_id}"
    active = [
        c for c in people.search("Condition", [("patient", pid), ("clinical-status", "active")])
    ]
    for condition in active[:3]:
        assert _text(condition["code"]) in text
    medicines = people.search("MedicationStatement", [("patient", pid), ("status", "active")])
    for statement in medicines[:3]:
        assert _text(statement["medicationCodeableConcept"]) in text
    encounters = people.search("Encounter", [("patient", pid)])
    assert encounters, "the richest patient has contacts"
    assert any(e["serviceProvider"]["display"] in text for e in encounters)


def test_documents_list_and_text(signed_in: TestClient, people: People, owner: Person) -> None:
    doc = _released_document(people, owner)
    assert doc is not None
    listing = signed_in.get("/portal/documents")
    assert listing.status_code == 200
    assert f'href="/portal/documents/{doc["id"]}"' in listing.text
    shown = signed_in.get(f"/portal/documents/{doc['id']}")
    assert shown.status_code == 200
    body = base64.b64decode(doc["content"][0]["attachment"]["data"]).decode("utf-8")
    assert html.escape(body.splitlines()[0], quote=False) in shown.text


def test_results_list_and_values(signed_in: TestClient, people: People, owner: Person) -> None:
    report = _released_report(people, owner)
    assert report is not None
    listing = signed_in.get("/portal/results")
    assert f'href="/portal/results/{report["id"]}"' in listing.text
    shown = signed_in.get(f"/portal/results/{report['id']}")
    assert shown.status_code == 200
    first = report["result"][0]["reference"].split("/")[1]
    obs = people.search("Observation", [("_id", first)])[0]
    assert html.escape(_text(obs["code"])) in shown.text
    assert "Normalområde" in shown.text or "Normal range" in shown.text


def test_download_page(signed_in: TestClient) -> None:
    page = signed_in.get("/portal/download")
    assert page.status_code == 200
    assert 'href="/portal/download/summary.pdf"' in page.text


def test_another_citizens_resources_are_not_found(
    signed_in: TestClient, people: People, owner: Person
) -> None:
    others = [p for p in people.adults() if p.patient_id != owner.patient_id]
    doc = next(d for p in others if (d := _released_document(people, p)) is not None)
    report = next(r for p in others if (r := _released_report(people, p)) is not None)
    assert signed_in.get(f"/portal/documents/{doc['id']}").status_code == 404
    assert signed_in.get(f"/portal/results/{report['id']}").status_code == 404
    assert doc["id"] not in signed_in.get("/portal/documents").text
    assert report["id"] not in signed_in.get("/portal/results").text


WITHHOLD = "urn:oid:2.16.578.1.12.4.1.1.9603"
RELEASE = "https://fellesjournal.no/fhir/CodeSystem/result-release"
COMMENT = "https://fellesjournal.no/fhir/StructureDefinition/release-comment"


def _note(person: Person, title: str, security: str | None) -> dict:
    signed = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=3)).isoformat()
    doc: dict = {
        "resourceType": "DocumentReference",
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [{"system": LOINC, "code": "11506-3"}], "text": title},
        "subject": {"reference": f"Patient/{person.patient_id}"},
        "date": signed,
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode(f"{title}: hemmelig innhold".encode()).decode(),
                }
            }
        ],
    }
    if security:
        doc["meta"] = {"security": [{"system": WITHHOLD, "code": security}]}
    return doc


def test_withheld_documents_and_held_back_notices(
    signed_in: TestClient, people: People, owner: Person
) -> None:
    repo = people.repo.historical()
    told = repo.create("DocumentReference", _note(owner, "Notat holdt tilbake", "NORN_EPO"))
    secret = repo.create("DocumentReference", _note(owner, "Notat med fare", "NORN_FFL"))
    listing = signed_in.get("/portal/documents")
    assert "Notat holdt tilbake" in listing.text  # the notice: type and date
    assert told.stored.res_id not in listing.text  # but no link to it
    assert "Notat med fare" not in listing.text  # its existence is not revealed
    assert "hemmelig innhold" not in listing.text
    for res_id in (told.stored.res_id, secret.stored.res_id):
        assert signed_in.get(f"/portal/documents/{res_id}").status_code == 404


def test_a_released_result_shows_the_clinicians_comment(
    signed_in: TestClient, people: People, owner: Person
) -> None:
    repo = people.repo.historical()
    issued = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)).isoformat()
    obs = repo.create(
        "Observation",
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "718-7"}], "text": "Hemoglobin"},
            "subject": {"reference": f"Patient/{owner.patient_id}"},
            "effectiveDateTime": issued,
            "valueQuantity": {"value": 10.2, "unit": "g/dL"},
            "referenceRange": [{"low": {"value": 11.7, "unit": "g/dL"}}],
            "interpretation": [{"coding": [{"system": INTERP, "code": "L"}]}],
        },
    )
    report = repo.create(
        "DiagnosticReport",
        {
            "resourceType": "DiagnosticReport",
            "meta": {
                "tag": [
                    {"system": RELEASE, "code": "clinician"},
                    {"system": RELEASE, "code": "released"},
                ]
            },
            "extension": [
                {"url": COMMENT, "valueString": "Litt lav blodprosent, ta jerntilskudd."}
            ],
            "status": "final",
            "code": {"text": "Blodprøve hos fastlegen"},
            "subject": {"reference": f"Patient/{owner.patient_id}"},
            "effectiveDateTime": issued,
            "issued": issued,
            "result": [{"reference": f"Observation/{obs.stored.res_id}"}],
        },
    )
    shown = signed_in.get(f"/portal/results/{report.stored.res_id}")
    assert shown.status_code == 200, shown.text
    text = html.unescape(shown.text)
    assert "Litt lav blodprosent, ta jerntilskudd." in text
    assert "10,2" in text and "Lavere enn normalt" in text
    assert "≥ 11,7" in text
    start = signed_in.get("/portal")
    assert f"/portal/results/{report.stored.res_id}" in start.text  # new on the start page


def test_downloads(signed_in: TestClient, owner: Person) -> None:
    pdf = signed_in.get("/portal/download/summary.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["cache-control"] == "no-store"
    assert pdf.content.startswith(b"%PDF")
    bundle = signed_in.get("/portal/download/summary.json")
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("application/fhir+json")
    data = bundle.json()
    assert data["resourceType"] == "Bundle" and data["type"] == "document"
    patients = [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert [p["id"] for p in patients] == [owner.patient_id]
