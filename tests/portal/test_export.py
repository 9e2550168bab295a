"""Download my record: the IPS-style summary Bundle and the PDF made from it.

Run on both databases (FELLESJOURNAL_TEST_BACKEND=postgresql for the second). The
contract is docs/portal.md: the download holds exactly what the actor may see through
the guarded repository; a citizen sees nothing of another patient and nothing withheld.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fellesjournal.access.actor import Actor
from fellesjournal.access.context import CitizenContext
from fellesjournal.audit.log import events_for_patient
from fellesjournal.fhir.errors import FhirError
from fellesjournal.fhir.validation import validate_resource
from fellesjournal.portal.export import SECTIONS, ips_bundle
from fellesjournal.portal.pdf import latin1, render_pdf, summary_pdf
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from tests.mpi.people import fresh_fnr

Resource = dict[str, Any]
LOINC = "http://loinc.org"
WITHHOLD = "urn:oid:2.16.578.1.12.4.1.1.9603"
RELEASE = "https://fellesjournal.no/fhir/CodeSystem/result-release"


def _ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")


def _ref(res_type: str, res_id: str, display: str | None = None) -> Resource:
    out: Resource = {"reference": f"{res_type}/{res_id}"}
    if display:
        out["display"] = display
    return out


def _concept(text: str, system: str | None = None, code: str | None = None) -> Resource:
    out: Resource = {"text": text}
    if system and code:
        out["coding"] = [{"system": system, "code": code}]
    return out


@dataclass
class Record:
    patient_id: str
    fnr: str
    name: str
    ids: dict[str, str]


def _make(repo: GuardedRepository, body: Resource) -> str:
    return repo.create(body["resourceType"], body).stored.res_id


def _record(repo: GuardedRepository, given: str, family: str) -> Record:
    """A patient with something in every section, a withheld document and a result
    from another patient's record listed in one of theirs."""
    hist = repo.historical()
    fnr = fresh_fnr()
    pid = _make(
        hist,
        {
            "resourceType": "Patient",
            "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": fnr}],
            "name": [{"use": "official", "family": family, "given": [given]}],
            "gender": "female",
            "birthDate": "1970-05-17",
        },
    )
    subject = _ref("Patient", pid)
    ids: dict[str, str] = {}
    ids["org"] = _make(hist, {"resourceType": "Organization", "name": f"Legekontoret {family}"})
    ids["flag"] = _make(
        hist,
        {
            "resourceType": "Flag",
            "status": "active",
            "code": {"text": "Malign hypertermi: unngå suksametonium"},
            "subject": subject,
            "period": {"start": "2022-12-13"},
        },
    )
    ids["allergy"] = _make(
        hist,
        {
            "resourceType": "AllergyIntolerance",
            "code": {"text": "Penicillin"},
            "patient": subject,
            "recordedDate": "2020-10-27",
            "reaction": [{"manifestation": [{"text": "Elveblest"}]}],
        },
    )
    ids["problem"] = _make(
        hist,
        {
            "resourceType": "Condition",
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                    }
                ]
            },
            "code": _concept(
                "Høyt blodtrykk ≥ 140 – “essensiell”", "http://hl7.org/fhir/sid/icpc-2", "K86"
            ),
            "subject": subject,
            "onsetDateTime": "2014-11-13",
        },
    )
    ids["past"] = _make(
        hist,
        {
            "resourceType": "Condition",
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "resolved",
                    }
                ]
            },
            "code": {"text": "Akutt bronkitt"},
            "subject": subject,
            "onsetDateTime": "2026-01-18",
        },
    )
    ids["medication"] = _make(
        hist,
        {
            "resourceType": "MedicationStatement",
            "status": "active",
            "medicationCodeableConcept": {"text": "Ramipril 5 mg tablett"},
            "subject": subject,
            "effectivePeriod": {"start": "2014-11-13"},
            "dosage": [{"text": "1 tablett daglig"}],
        },
    )
    ids["stopped"] = _make(
        hist,
        {
            "resourceType": "MedicationStatement",
            "status": "stopped",
            "medicationCodeableConcept": {"text": "Stoppet legemiddel"},
            "subject": subject,
        },
    )
    ids["vaccine"] = _make(
        hist,
        {
            "resourceType": "Immunization",
            "status": "completed",
            "vaccineCode": {"text": "Influensavaksine"},
            "patient": subject,
            "occurrenceDateTime": "2025-10-15",
        },
    )
    ids["obs"] = _make(
        hist,
        {
            "resourceType": "Observation",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "laboratory",
                        }
                    ]
                }
            ],
            "code": {"text": "Hemoglobin"},
            "subject": subject,
            "effectiveDateTime": _ago(20),
            "valueQuantity": {"value": 13.5, "unit": "g/dL"},
            "referenceRange": [{"low": {"value": 11.7}, "high": {"value": 15.3}}],
        },
    )
    ids["procedure"] = _make(
        hist,
        {
            "resourceType": "Procedure",
            "status": "completed",
            "code": {"text": "Fjerning av føflekk"},
            "subject": subject,
            "performedDateTime": "2024-06-01",
        },
    )
    ids["encounter"] = _make(
        hist,
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "AMB",
            },
            "type": [{"text": "Konsultasjon hos fastlege"}],
            "subject": subject,
            "period": {"start": _ago(30), "end": _ago(30)},
            "serviceProvider": _ref("Organization", ids["org"]),
        },
    )
    ids["epikrise"] = _make(
        hist,
        {
            "resourceType": "DocumentReference",
            "status": "current",
            "docStatus": "final",
            "type": {"coding": [{"system": LOINC, "code": "18842-5"}], "text": "Epikrise"},
            "subject": subject,
            "date": _ago(3),
            "content": [{"attachment": {"contentType": "text/plain", "title": "Epikrise"}}],
        },
    )
    ids["withheld"] = _make(
        hist,
        {
            "resourceType": "DocumentReference",
            "meta": {"security": [{"system": WITHHOLD, "code": "NORN_FFL"}]},
            "status": "current",
            "docStatus": "final",
            "type": {"coding": [{"system": LOINC, "code": "18842-5"}], "text": "Tilbakeholdt"},
            "subject": subject,
            "date": _ago(3),
            "content": [{"attachment": {"contentType": "text/plain", "title": "Holdt tilbake"}}],
        },
    )
    return Record(pid, fnr, f"{given} {family}", ids)


def _add_report(repo: GuardedRepository, rec: Record, results: list[str]) -> str:
    return _make(
        repo.historical(),
        {
            "resourceType": "DiagnosticReport",
            "meta": {"tag": [{"system": RELEASE, "code": "automatic"}]},
            "status": "final",
            "code": {"text": "Blodprøver"},
            "subject": _ref("Patient", rec.patient_id),
            "effectiveDateTime": _ago(20),
            "issued": _ago(20),
            "result": [_ref("Observation", r) for r in results],
        },
    )


@pytest.fixture(scope="module")
def world(store: SqlStore, settings: Settings) -> tuple[Record, Record]:
    system = GuardedRepository(
        store, settings, RequestContext(actor=Actor("system", "test", scopes=("system/*.*",)))
    )
    mine = _record(system, "Åse", "Ødegård")
    other = _record(system, "Bjørn", "Annensen")
    # A report of mine that (wrongly) lists another patient's result: that result is
    # not mine to see, and must not come along.
    mine.ids["report"] = _add_report(system, mine, [mine.ids["obs"], other.ids["obs"]])
    return mine, other


def _citizen(store: SqlStore, settings: Settings, rec: Record) -> GuardedRepository:
    citizen = CitizenContext(fnr=rec.fnr, patient_id=rec.patient_id)
    actor = Actor("patient", rec.fnr, scopes=("patient/*.read",), citizen=citizen)
    return GuardedRepository(store, settings, RequestContext(actor=actor))


def _system(store: SqlStore, settings: Settings) -> GuardedRepository:
    actor = Actor("system", "test", scopes=("system/*.*",))
    return GuardedRepository(store, settings, RequestContext(actor=actor))


def _keys(bundle: Resource) -> set[str]:
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle["entry"][1:]
        if e["fullUrl"].startswith("http")
    }


def _section(bundle: Resource, code: str) -> Resource | None:
    for section in bundle["entry"][0]["resource"]["section"]:
        if section["code"]["coding"][0]["code"] == code:
            return section
    return None


# -- the document ------------------------------------------------------------------------


def test_summary_is_a_valid_document(
    world: tuple[Record, Record], store: SqlStore, settings: Settings
) -> None:
    mine, _ = world
    bundle = ips_bundle(_system(store, settings), mine.patient_id, base="https://fj.test/fhir")
    assert validate_resource(bundle) == []
    assert bundle["type"] == "document"
    assert bundle["identifier"]["value"].startswith("urn:uuid:")
    assert re.match(r"\d{4}-\d\d-\d\dT", bundle["timestamp"])
    composition = bundle["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert composition["type"]["coding"][0] == {
        "system": LOINC,
        "code": "60591-5",
        "display": "Patient summary Document",
    }
    assert composition["title"] == "Pasientsammendrag"
    assert composition["date"] == bundle["timestamp"]
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(urls) == len(set(urls))
    resolvable = set(urls)
    assert composition["subject"]["reference"] == f"https://fj.test/fhir/Patient/{mine.patient_id}"
    assert composition["subject"]["reference"] in resolvable
    author = composition["author"][0]["reference"]
    assert author in resolvable
    assert (
        next(e for e in bundle["entry"] if e["fullUrl"] == author)["resource"]["resourceType"]
        == "Device"
    )
    for section in composition["section"]:
        assert section["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
        for entry in section.get("entry", ()):
            assert entry["reference"] in resolvable, entry
    # Relative references to the linked types resolve against the entry's base.
    for e in bundle["entry"][1:]:
        if e["resource"]["resourceType"] == "DiagnosticReport":
            for ref in e["resource"]["result"]:
                assert f"https://fj.test/fhir/{ref['reference']}" in resolvable


def test_sections_carry_the_ips_codes_and_the_records_resources(
    world: tuple[Record, Record], store: SqlStore, settings: Settings
) -> None:
    mine, _ = world
    bundle = ips_bundle(_system(store, settings), mine.patient_id, base="https://fj.test/fhir")

    def members(code: str) -> set[str]:
        section = _section(bundle, code)
        assert section is not None, code
        return {e["reference"].split("/fhir/")[1] for e in section.get("entry", ())}

    ids = mine.ids
    assert members("104605-1") == {f"Flag/{ids['flag']}"}
    assert members("48765-2") == {f"AllergyIntolerance/{ids['allergy']}"}
    assert members("11450-4") == {f"Condition/{ids['problem']}"}
    assert members("11348-0") == {f"Condition/{ids['past']}"}
    assert members("10160-0") == {f"MedicationStatement/{ids['medication']}"}
    assert members("11369-6") == {f"Immunization/{ids['vaccine']}"}
    # The result is listed under its report, not again on its own.
    assert members("30954-2") == {f"DiagnosticReport/{ids['report']}"}
    assert members("47519-4") == {f"Procedure/{ids['procedure']}"}
    assert members("46240-8") == {f"Encounter/{ids['encounter']}"}
    assert f"DocumentReference/{ids['epikrise']}" in members("34109-9")
    keys = _keys(bundle)
    assert f"Observation/{ids['obs']}" in keys
    assert f"Organization/{ids['org']}" in keys  # the Encounter's serviceProvider
    assert f"MedicationStatement/{ids['stopped']}" not in keys
    problems = _section(bundle, "11450-4")
    assert problems is not None
    assert "Høyt blodtrykk" in problems["text"]["div"]
    assert "ICPC-2 K86" in problems["text"]["div"]


def test_an_empty_record_has_the_required_sections_with_an_empty_reason(
    store: SqlStore, settings: Settings
) -> None:
    repo = _system(store, settings)
    pid = _make(repo, {"resourceType": "Patient", "name": [{"family": "Tom"}]})
    bundle = ips_bundle(repo, pid)
    assert validate_resource(bundle) == []
    sections = bundle["entry"][0]["resource"]["section"]
    assert [s["code"]["coding"][0]["code"] for s in sections] == [
        s.code for s in SECTIONS if s.required
    ]
    for section in sections:
        assert "entry" not in section
        assert section["emptyReason"]["coding"][0]["code"] == "unavailable"
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == [
        "Composition",
        "Device",
        "Patient",
    ]


# -- what a citizen gets -----------------------------------------------------------------


def test_a_citizens_summary_holds_nothing_of_another_patient(
    world: tuple[Record, Record], store: SqlStore, settings: Settings
) -> None:
    mine, other = world
    bundle = ips_bundle(_citizen(store, settings, mine), mine.patient_id)
    assert validate_resource(bundle) == []
    keys = _keys(bundle)
    assert f"Patient/{mine.patient_id}" in keys
    assert f"Condition/{mine.ids['problem']}" in keys
    theirs = {f"Patient/{other.patient_id}"} | {
        f"{t}/{i}"
        for t, i in (
            ("Flag", other.ids["flag"]),
            ("Condition", other.ids["problem"]),
            ("Observation", other.ids["obs"]),
            ("DocumentReference", other.ids["epikrise"]),
        )
    }
    assert not keys & theirs
    text = str(bundle)
    assert other.patient_id not in text.replace(f"Observation/{other.ids['obs']}", "")
    assert other.fnr not in text
    assert "Annensen" not in text


def test_a_citizen_may_not_download_another_patients_summary(
    world: tuple[Record, Record], store: SqlStore, settings: Settings
) -> None:
    mine, other = world
    citizen = _citizen(store, settings, mine)
    with pytest.raises(FhirError) as exc:
        ips_bundle(citizen, other.patient_id)
    assert exc.value.status == 404
    with pytest.raises(FhirError) as exc:
        summary_pdf(citizen, other.patient_id, "nb")
    assert exc.value.status == 404


def test_a_withheld_document_is_not_in_a_citizens_summary(
    world: tuple[Record, Record], store: SqlStore, settings: Settings
) -> None:
    mine, _ = world
    bundle = ips_bundle(_citizen(store, settings, mine), mine.patient_id)
    keys = _keys(bundle)
    assert f"DocumentReference/{mine.ids['epikrise']}" in keys
    assert f"DocumentReference/{mine.ids['withheld']}" not in keys
    assert "Holdt tilbake" not in str(bundle)
    pdf = render_pdf(bundle, "nb", compress=False)
    assert b"Tilbakeholdt" not in pdf


def test_the_download_is_one_audited_disclosure(
    world: tuple[Record, Record], store: SqlStore, settings: Settings
) -> None:
    mine, _ = world
    citizen = _citizen(store, settings, mine)
    with store.snapshot() as tx:
        before = len(events_for_patient(tx, mine.patient_id, count=10_000))
    bundle = ips_bundle(citizen, mine.patient_id)
    with store.snapshot() as tx:
        events = events_for_patient(tx, mine.patient_id, count=10_000)
    assert len(events) == before + 1
    event = events[0]
    assert event["agent"][0]["who"]["reference"] == f"Patient/{mine.patient_id}"
    queries = [base64.b64decode(e["query"]).decode() for e in event["entity"] if "query" in e]
    assert queries == [f"Patient/{mine.patient_id}/$summary"]
    named = {
        e["what"]["reference"].split("/_history")[0] for e in event["entity"][1:] if "what" in e
    }
    # Exactly what the Bundle holds of the record (the Organization is no patient data).
    record = {k for k in _keys(bundle) if not k.startswith("Organization/")}
    assert named == record


# -- the PDF -----------------------------------------------------------------------------


def test_the_pdf_has_the_patients_name_and_the_headings(
    world: tuple[Record, Record], store: SqlStore, settings: Settings
) -> None:
    mine, _ = world
    pdf = summary_pdf(_citizen(store, settings, mine), mine.patient_id, "nb", compress=False)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert "Åse Ødegård".encode("latin-1") in pdf
    assert f"{mine.fnr[:6]} {mine.fnr[6:]}".encode() in pdf
    for heading in ("Pasientsammendrag", "Kritisk informasjon", "Legemidler", "Prøvesvar"):
        assert heading.encode("latin-1") in pdf, heading
    assert b"Ramipril 5 mg tablett" in pdf
    assert b"Side 1 av " in pdf
    # Outside Latin-1 in the record: written with look-alikes.
    assert 'Høyt blodtrykk >= 140 - "essensiell"'.encode("latin-1") in pdf
    compressed = summary_pdf(_citizen(store, settings, mine), mine.patient_id, "nb")
    assert compressed.startswith(b"%PDF-")
    assert len(compressed) < len(pdf)


def test_the_pdf_in_nynorsk(
    world: tuple[Record, Record], store: SqlStore, settings: Settings
) -> None:
    mine, _ = world
    bundle = ips_bundle(_system(store, settings), mine.patient_id)
    pdf = render_pdf(bundle, "nn", compress=False)
    for heading in ("Pasientsamandrag", "Legemiddel", "Vaksinasjonar", "Kontaktar og opphald"):
        assert heading.encode("latin-1") in pdf, heading
    assert b"Legemidler" not in pdf


def test_latin1_replacements() -> None:
    assert latin1("Hb 10⁹/L – “ok” ≤ 5 … æøå ÆØÅ µ") == 'Hb 10^9/L - "ok" <= 5 ... æøå ÆØÅ µ'
    assert latin1("Łódź Œuvre 中") == "Lódz OEuvre ?"
    latin1("x").encode("latin-1")
