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
