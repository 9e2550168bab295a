"""Two real FHIR client libraries against the real server (a subprocess).

``fhirclient`` (SMART on FHIR, strict R4 models: it refuses JSON its models do not
allow) and ``fhirpy`` (Beda Software) create, read, update, search and delete Patients
and Observations, over a socket, with a token from ``fellesjournal token --system``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhirclient import client as smart_client
from fhirclient.models.capabilitystatement import CapabilityStatement
from fhirclient.models.codeableconcept import CodeableConcept
from fhirclient.models.coding import Coding
from fhirclient.models.fhirreference import FHIRReference
from fhirclient.models.humanname import HumanName
from fhirclient.models.identifier import Identifier
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient
from fhirclient.models.quantity import Quantity
from fhirclient.server import FHIRNotFoundException
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ResourceNotFound
from requests import HTTPError

from tests.test_durability import Server

pytestmark = pytest.mark.slow

LOINC = "http://loinc.org"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp: Path = tmp_path_factory.mktemp("clients")
    s = Server(tmp, "clients").start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture()
def smart(server: Server) -> Any:
    fc = smart_client.FHIRClient(
        settings={"app_id": "fellesjournal-tests", "api_base": server.base + "/"}
    )
    fc.server.session.headers["Authorization"] = f"Bearer {server.token}"
    return fc


@pytest.fixture()
def fhirpy(server: Server) -> SyncFHIRClient:
    return SyncFHIRClient(server.base, authorization=f"Bearer {server.token}")


def _tag() -> str:
    return uuid.uuid4().hex[:12]


# -- fhirclient (SMART on FHIR) ------------------------------------------------------------


def test_fhirclient_reads_the_capability_statement(smart: Any) -> None:
    statement = CapabilityStatement.read_from("metadata", smart.server)
    assert statement.fhirVersion.startswith("4.0")
    assert "json" in " ".join(statement.format)
    types = {r.type for r in statement.rest[0].resource}
    assert {"Patient", "Observation"} <= types


def test_fhirclient_patient_crud_and_search(smart: Any) -> None:
    tag = _tag()
    srv = smart.server
    p = Patient()
    p.name = [HumanName({"family": f"Smart{tag}", "given": ["Kari"]})]
    p.gender = "female"
    p.identifier = [Identifier({"system": "urn:test:smart", "value": tag})]
    created = p.create(srv)
    assert created["resourceType"] == "Patient" and created["meta"]["versionId"] == "1"
    pid = created["id"]

    got = Patient.read(pid, srv)  # parsed by the strict R4 models
    assert got.id == pid and got.name[0].family == f"Smart{tag}"
    assert got.meta.versionId == "1"

    got.gender = "other"
    got.name[0].given = ["Kari", "Anne"]
    updated = got.update()
    assert updated["meta"]["versionId"] == "2"
    again = Patient.read(pid, srv)
    assert again.gender == "other" and again.name[0].given == ["Kari", "Anne"]

    bundle = Patient.where(struct={"identifier": f"urn:test:smart|{tag}"}).perform(srv)
    assert bundle.total == 1 and bundle.entry[0].resource.id == pid
    found = Patient.where(struct={"family": f"Smart{tag}", "gender": "other"}).perform_resources(
        srv
    )
    assert [r.id for r in found] == [pid]
    assert Patient.where(struct={"family": f"Smart{tag}", "gender": "male"}).perform(srv).total == 0

    again.delete()
    with pytest.raises((FHIRNotFoundException, HTTPError)) as exc:
        Patient.read(pid, srv)
    assert exc.value.response.status_code == 410
    assert Patient.where(struct={"identifier": f"urn:test:smart|{tag}"}).perform(srv).total == 0


def test_fhirclient_observation_crud_and_search(smart: Any) -> None:
    srv = smart.server
    tag = _tag()
    pat = Patient({"name": [{"family": f"Obs{tag}"}], "gender": "male"})
    pid = pat.create(srv)["id"]
    obs = Observation()
    obs.status = "final"
    obs.code = CodeableConcept({"coding": [{"system": LOINC, "code": "8302-2"}]})
    obs.subject = FHIRReference({"reference": f"Patient/{pid}"})
    obs.valueQuantity = Quantity(
        {"value": 182.5, "unit": "cm", "system": "http://unitsofmeasure.org", "code": "cm"}
    )
    obs.identifier = [Identifier({"system": "urn:test:obs", "value": tag})]
    oid = obs.create(srv)["id"]

    got = Observation.read(oid, srv)
    assert got.valueQuantity.value == 182.5
    assert got.subject.reference == f"Patient/{pid}"
    got.status = "amended"
    got.code.coding.append(Coding({"system": LOINC, "code": "8306-3"}))
    assert got.update()["meta"]["versionId"] == "2"

    search = Observation.where(struct={"subject": f"Patient/{pid}", "code": f"{LOINC}|8306-3"})
    assert [o.id for o in search.perform_resources(srv)] == [oid]
    with_patient = (
        Observation.where(struct={"identifier": f"urn:test:obs|{tag}"})
        .include("subject")
        .perform(srv)
    )
    kinds = sorted((e.resource.resource_type, e.search.mode) for e in with_patient.entry)
    assert kinds == [("Observation", "match"), ("Patient", "include")]
    assert (
        Observation.where(
            struct={
                "value-quantity": "gt180|http://unitsofmeasure.org|cm",
                "identifier": f"urn:test:obs|{tag}",
            }
        )
        .perform(srv)
        .total
        == 1
    )
    Observation.read(oid, srv).delete()
    with pytest.raises((FHIRNotFoundException, HTTPError)):
        Observation.read(oid, srv)


# -- fhirpy --------------------------------------------------------------------------------


def test_fhirpy_patient_crud_and_search(fhirpy: SyncFHIRClient) -> None:
    tag = _tag()
    patient = fhirpy.resource(
        "Patient",
        name=[{"family": f"Py{tag}", "given": ["Ola"]}],
        gender="male",
        birthDate="1971-02-03",
        identifier=[{"system": "urn:test:fhirpy", "value": tag}],
    )
    patient.save()
    pid = patient.id
    assert pid and patient["meta"]["versionId"] == "1"

    got = fhirpy.reference("Patient", pid).to_resource()
    assert got["name"][0]["family"] == f"Py{tag}" and got["birthDate"] == "1971-02-03"

    got["gender"] = "female"
    got.save()
    assert got["meta"]["versionId"] == "2"
    assert fhirpy.resources("Patient").search(_id=pid).first()["gender"] == "female"

    search = fhirpy.resources("Patient").search(identifier=f"urn:test:fhirpy|{tag}")
    assert [r.id for r in search.fetch()] == [pid]
    assert search.count() == 1
    assert (
        fhirpy.resources("Patient").search(family=f"Py{tag}", birthdate__lt="1971-02-03").count()
        == 0
    )
    assert (
        fhirpy.resources("Patient").search(family=f"Py{tag}", birthdate__ge="1971-02-03").count()
        == 1
    )

    got.delete()
    with pytest.raises(ResourceNotFound):
        fhirpy.reference("Patient", pid).to_resource()
    assert search.count() == 0


def test_fhirpy_observation_crud_and_search(fhirpy: SyncFHIRClient) -> None:
    tag = _tag()
    patient = fhirpy.resource("Patient", name=[{"family": f"PyObs{tag}"}])
    patient.save()
    ids = []
    for n, (code, value) in enumerate([("8302-2", 170.0), ("29463-7", 70.5), ("8302-2", 171.0)]):
        obs = fhirpy.resource(
            "Observation",
            status="final",
            code={"coding": [{"system": LOINC, "code": code}]},
            subject=patient.to_reference(),
            effectiveDateTime=f"2020-01-0{n + 1}T10:00:00+01:00",
            valueQuantity={"value": value, "unit": "kg" if code == "29463-7" else "cm"},
        )
        obs.save()
        ids.append(obs.id)

    heights = (
        fhirpy.resources("Observation")
        .search(subject=f"Patient/{patient.id}", code=f"{LOINC}|8302-2")
        .sort("date")
    )
    assert [o.id for o in heights.fetch_all()] == [ids[0], ids[2]]
    assert fhirpy.resources("Observation").search(patient=patient.id).count() == 3
    assert (
        fhirpy.resources("Observation").search(patient=patient.id, date__ge="2020-01-02").count()
        == 2
    )
    latest = fhirpy.resources("Observation").search(patient=patient.id).sort("-date").first()
    assert latest.id == ids[2]

    obs = fhirpy.reference("Observation", ids[1]).to_resource()
    obs["status"] = "amended"
    obs.save()
    assert fhirpy.reference("Observation", ids[1]).to_resource()["status"] == "amended"

    included = (
        fhirpy.resources("Observation")
        .search(_id=ids[0])
        .include("Observation", "subject")
        .fetch_raw()
    )
    assert sorted(e["resource"]["resourceType"] for e in included["entry"]) == [
        "Observation",
        "Patient",
    ]

    for oid in ids:
        fhirpy.reference("Observation", oid).delete()
    assert fhirpy.resources("Observation").search(patient=patient.id).count() == 0
