"""The 120-patient Synthea set: import it, then check search answers against the files.

A fresh database gets all of ``synthea/blaze-synthea-120`` through ``run_import``. Every
expected number is computed here, independently of the server, by reading the bundles
with ``bz2`` + ``json`` (in a worker process while the import runs): totals per type,
token, date (with R4's prefix rules), chained and compartment searches, ``$everything``,
``_include`` and ``_revinclude``. Synthea bundles POST every entry, so the server
assigns new ids; resources are matched by their Synthea identifier (Patient,
Encounter) or by content with references reduced to their target type.
"""

from __future__ import annotations

import bz2
import fcntl
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.access.actor import Actor
from fellesjournal.app import create_app
from fellesjournal.auth.tokens import issue_system_token
from fellesjournal.service.context import RequestContext
from fellesjournal.service.importer import run_import
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.store.engine import create_engine
from fellesjournal.store.migrate import upgrade
from fellesjournal.store.sql import SqlStore
from tests.conftest import fresh_database_url, make_settings, shared_path

pytestmark = pytest.mark.slow

SYNTHEA_ID = "https://github.com/synthetichealth/synthea"
LOINC, SNOMED = "http://loinc.org", "http://snomed.info/sct"
MARGIN = timedelta(hours=14)
"""A search date without a zone may be read in any zone from -12:00 to +14:00: values
this close to a boundary are counted as 'either way' rather than guessed."""


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _before(t: datetime, year: int) -> bool | None:
    """``t`` < the start of ``year``: True/False, or None when it depends on the zone."""
    bound = datetime(year, 1, 1, tzinfo=UTC)
    if abs(t - bound) < MARGIN:
        return None
    return t < bound


def _and(*parts: bool | None) -> bool | None:
    if any(p is False for p in parts):
        return False
    return None if any(p is None for p in parts) else True


def _or(*parts: bool | None) -> bool | None:
    if any(p is True for p in parts):
        return True
    return None if any(p is None for p in parts) else False


def _not(p: bool | None) -> bool | None:
    return None if p is None else not p


def date_match(prefix: str, year: int, start: datetime, end: datetime) -> bool | None:
    """R4 search.html#prefix for a search value ``[prefix]YYYY`` and a target [start, end].

    The search value is the range [year, year + 1); the target's range ends at ``end``.
    """
    contained = _and(_not(_before(start, year)), _before(end, year + 1))
    return {
        "eq": contained,
        "ne": _not(contained),
        "gt": _not(_before(end, year + 1)),
        "lt": _before(start, year),
        "ge": _or(_not(_before(end, year + 1)), contained),
        "le": _or(_before(start, year), contained),
        "sa": _not(_before(start, year + 1)),
        "eb": _before(end, year),
    }[prefix]


DATE_CASES = [
    ("Observation", "ge2015"),
    ("Observation", "lt2010"),
    ("Observation", "eq2012"),
    ("Encounter", "ge2015"),
    ("Encounter", "lt2010"),
    ("Encounter", "eq2012"),
    ("Encounter", "gt2014"),
    ("Encounter", "le2009"),
    ("Encounter", "sa2016"),
    ("Encounter", "eb2000"),
    ("Encounter", "ne2012"),
]


class Tally:
    """Counts of True and of undecided (None) outcomes per question."""

    def __init__(self) -> None:
        self.sure: Counter[str] = Counter()
        self.maybe: Counter[str] = Counter()

    def add(self, key: str, outcome: bool | None) -> None:
        if outcome is None:
            self.maybe[key] += 1
        elif outcome:
            self.sure[key] += 1


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "reference" and isinstance(v, str):
                yield v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def _shape(node: Any, types: dict[str, str]) -> Any:
    """The resource with id and server meta gone and every reference reduced to its type."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "reference" and isinstance(v, str):
                out[k] = (types.get(v) or v.split("?")[0].split("/")[0]) if v[:1] != "#" else v
            elif k == "meta":
                meta = {mk: mv for mk, mv in v.items() if mk not in ("versionId", "lastUpdated")}
                if meta:
                    out[k] = meta
            elif k != "id":
                out[k] = _shape(v, types)
        return out
    if isinstance(node, list):
        return [_shape(v, types) for v in node]
    return node


def _fingerprint(resource: dict[str, Any], types: dict[str, str]) -> str:
    return json.dumps(_shape(resource, types), sort_keys=True)


def expected_facts(folder: str, compartment_types: list[str]) -> dict[str, Any]:
    """Everything the tests compare with, computed from the bundle files alone."""
    files = sorted(Path(folder).glob("*.json.bz2"))
    per_type: Counter[str] = Counter()
    gender: Counter[str] = Counter()
    loinc: Counter[str] = Counter()
    snomed: Counter[str] = Counter()
    tally = Tally()
    born_before_1950 = 0
    female_obs = 0
    patients: list[dict[str, Any]] = []
    for path in files:
        with bz2.open(path, "rt") as fh:
            bundle = json.load(fh)
        resources = [e["resource"] for e in bundle["entry"]]
        types = {f"urn:uuid:{r['id']}": r["resourceType"] for r in resources}
        pats = [r for r in resources if r["resourceType"] == "Patient"]
        female = bool(pats) and pats[0].get("gender") == "female"
        for r in resources:
            rt = r["resourceType"]
            per_type[rt] += 1
            if rt == "Patient":
                gender[r.get("gender", "none")] += 1
                born_before_1950 += r["birthDate"] < "1950"
            elif rt == "Observation":
                female_obs += female
                loinc.update(
                    {c["code"] for c in r["code"].get("coding", []) if c.get("system") == LOINC}
                )
                t = _instant(r["effectiveDateTime"])
                for case_type, value in DATE_CASES:
                    if case_type == rt:
                        tally.add(f"{rt} {value}", date_match(value[:2], int(value[2:]), t, t))
            elif rt == "Condition":
                snomed.update(
                    {c["code"] for c in r["code"].get("coding", []) if c.get("system") == SNOMED}
                )
            elif rt == "Encounter":
                start, end = _instant(r["period"]["start"]), _instant(r["period"]["end"])
                for case_type, value in DATE_CASES:
                    if case_type == rt:
                        tally.add(
                            f"{rt} {value}", date_match(value[:2], int(value[2:]), start, end)
                        )
        if not pats:
            continue
        in_comp = [r for r in resources if r["resourceType"] in compartment_types]
        comp_keys = {f"urn:uuid:{r['id']}" for r in in_comp}
        outside = {
            ref for r in in_comp for ref in _refs(r) if ref[:1] != "#" and ref not in comp_keys
        }
        patients.append(
            {
                "file": path.name,
                "size": len(resources),
                "synthea_id": next(
                    i["value"] for i in pats[0]["identifier"] if i.get("system") == SYNTHEA_ID
                ),
                "compartment": Counter(r["resourceType"] for r in in_comp),
                "per_type": Counter(r["resourceType"] for r in resources),
                "referenced": sorted(outside),
                "referenced_types": Counter(types.get(ref) or ref.split("?")[0] for ref in outside),
                "encounters": sorted(
                    r["id"] for r in resources if r["resourceType"] == "Encounter"
                ),
                "encounter_refs": sorted(
                    {
                        ref
                        for r in resources
                        if r["resourceType"] == "Encounter"
                        for p in r.get("participant", [])
                        for ref in _refs(p.get("individual"))
                    }
                ),
                "medications": len(
                    {
                        r["medicationReference"]["reference"]
                        for r in resources
                        if r["resourceType"] == "MedicationRequest" and "medicationReference" in r
                    }
                ),
                "fingerprints": [_fingerprint(r, types) for r in in_comp],
            }
        )
    # keep the content of a few patients only: a small one, a middling one, one with
    # medications (chosen by size, deterministically)
    by_size = sorted(patients, key=lambda p: (p["size"], p["file"]))
    with_meds = [p for p in by_size if p["medications"]]
    sample = {
        by_size[0]["file"],
        by_size[len(by_size) // 2]["file"],
        with_meds[len(with_meds) // 3]["file"],
    }
    for p in patients:
        if p["file"] not in sample:
            p.pop("fingerprints")
    return {
        "files": len(files),
        "total": sum(per_type.values()),
        "per_type": per_type,
        "gender": gender,
        "loinc": loinc,
        "snomed": snomed,
        "sure": tally.sure,
        "maybe": tally.maybe,
        "born_before_1950": born_before_1950,
        "female_obs": female_obs,
        "patients": patients,
    }


# -- the loaded server --------------------------------------------------------------------------


class Loaded:
    """The imported database (shared by the xdist workers) and an in-process client."""

    def __init__(self, client: TestClient, record: dict[str, Any]) -> None:
        self.client = client
        self.files: list[tuple[str, str | None]] = [tuple(f) for f in record["files"]]
        self.resources: int = record["resources"]
        self.seconds: float = record["seconds"]
        facts = record["facts"]
        for key in ("per_type", "gender", "loinc", "snomed", "sure", "maybe"):
            facts[key] = Counter(facts[key])
        for p in facts["patients"]:
            for key in ("compartment", "per_type", "referenced_types"):
                p[key] = Counter(p[key])
        self.facts = facts

    def get(self, path: str, **params: str) -> dict[str, Any]:
        r = self.client.get(f"/fhir/{path}", params=params)
        assert r.status_code == 200, f"{path} {params}: {r.text[:500]}"
        return r.json()  # type: ignore[no-any-return]

    def total(self, res_type: str, **params: str) -> int:
        body = self.get(res_type, _summary="count", **params)
        assert not body.get("entry")
        return int(body["total"])

    def patient_id(self, synthea_id: str) -> str:
        body = self.get("Patient", identifier=f"{SYNTHEA_ID}|{synthea_id}")
        assert body["total"] == 1
        return str(body["entry"][0]["resource"]["id"])


def _compartment_types() -> list[str]:
    path = shared_path("data", "fhir-r4-core", "compartments", "CompartmentDefinition-patient.json")
    definition = json.loads(path.read_text())
    return sorted(r["code"] for r in definition["resource"] if r.get("param"))


def _import(tmp: Path, folder: Path) -> dict[str, Any]:
    """Import into a fresh database; answer what the tests need (JSON-serialisable)."""
    url = fresh_database_url(tmp, "synthea")
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = make_settings(url, tmp)
    store = SqlStore.from_settings(settings)
    repo = GuardedRepository(
        store, settings, RequestContext(actor=Actor("system", "test", scopes=("system/*.*",)))
    )
    started = time.perf_counter()
    try:
        with ProcessPoolExecutor(max_workers=1) as pool:
            facts_job = pool.submit(expected_facts, str(folder), _compartment_types())
            summary = run_import(repo, [folder])
            facts = facts_job.result()
    finally:
        store.dispose()
    return {
        "url": url,
        "files": [(f.path.name, f.error) for f in summary.files],
        "resources": summary.resources,
        "seconds": time.perf_counter() - started,
        "facts": facts,
    }


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """Import once per test session: xdist may spread this module over several workers,
    so the first one imports (under a file lock) and the others use its database."""
    folder = shared_path("data", "synthea", "blaze-synthea-120")
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    record_path = root / "synthea-import.json"
    with open(root / "synthea-import.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if record_path.exists():
            record = json.loads(record_path.read_text())
        else:
            record = _import(tmp_path_factory.mktemp("synthea"), folder)
            record_path.write_text(json.dumps(record))
        fcntl.flock(lock, fcntl.LOCK_UN)
    settings = make_settings(record["url"], tmp_path_factory.mktemp("synthea-keys"))
    store = SqlStore.from_settings(settings)
    app = create_app(settings, store=store)
    try:
        with TestClient(app, base_url="http://testserver") as client:
            client.headers.update(
                {
                    "Authorization": f"Bearer {issue_system_token(settings, ttl=3600)}",
                    "Accept": "application/fhir+json",
                }
            )
            yield Loaded(client, record)
    finally:
        store.dispose()


# -- the tests ------------------------------------------------------------------------------


def test_import_loads_every_file(loaded: Loaded) -> None:
    facts = loaded.facts
    assert facts["files"] == 122 and facts["total"] == 92_114  # the published numbers
    assert [(name, error) for name, error in loaded.files if error] == []
    assert len(loaded.files) == facts["files"]
    assert loaded.resources == facts["total"]
    assert loaded.files[0][0].startswith("0-") and loaded.files[1][0].startswith("0-")


def test_count_per_type(loaded: Loaded) -> None:
    got = {t: loaded.total(t) for t in loaded.facts["per_type"]}
    assert got == dict(loaded.facts["per_type"])
    assert loaded.total("Basic") == 0


def test_patient_gender(loaded: Loaded) -> None:
    for gender, n in loaded.facts["gender"].items():
        assert loaded.total("Patient", gender=gender) == n, gender
    assert loaded.total("Patient", gender="other") == loaded.facts["gender"].get("other", 0)


def test_observation_by_loinc(loaded: Loaded) -> None:
    loinc: Counter[str] = loaded.facts["loinc"]
    codes = ["8302-2"] + [c for c, _n in loinc.most_common(3) if c != "8302-2"]
    for code in codes:
        assert loaded.total("Observation", code=f"{LOINC}|{code}") == loinc[code], code
    assert loaded.total("Observation", code=f"{SNOMED}|8302-2") == 0
    assert (
        loaded.total("Observation", code=f"{LOINC}|{codes[0]},{LOINC}|{codes[1]}")
        == loinc[codes[0]] + loinc[codes[1]]
    )


def test_condition_by_snomed(loaded: Loaded) -> None:
    snomed: Counter[str] = loaded.facts["snomed"]
    for code, n in snomed.most_common(3):
        assert loaded.total("Condition", code=f"{SNOMED}|{code}") == n, code
        assert loaded.total("Condition", code=code) == n, code


@pytest.mark.parametrize(("res_type", "value"), DATE_CASES)
def test_date_prefixes(loaded: Loaded, res_type: str, value: str) -> None:
    key = f"{res_type} {value}"
    sure, maybe = loaded.facts["sure"][key], loaded.facts["maybe"][key]
    assert sure > 50 and maybe <= sure // 20  # the case is (nearly) unambiguous
    assert sure <= loaded.total(res_type, date=value) <= sure + maybe


def test_chained_patient_gender(loaded: Loaded) -> None:
    facts = loaded.facts
    assert loaded.total("Observation", **{"patient.gender": "female"}) == facts["female_obs"]
    assert (
        loaded.total("Observation", **{"patient.gender": "male"})
        == facts["per_type"]["Observation"] - facts["female_obs"]
    )


def test_birthdate_before_1950(loaded: Loaded) -> None:
    n = loaded.facts["born_before_1950"]
    assert n > 0
    assert loaded.total("Patient", birthdate="lt1950") == n
    assert loaded.total("Patient", birthdate="ge1950") == loaded.facts["per_type"]["Patient"] - n


def _sample(loaded: Loaded) -> list[dict[str, Any]]:
    return [p for p in loaded.facts["patients"] if "fingerprints" in p]


def test_summary_count_has_no_empty_entry_array(loaded: Loaded) -> None:
    """FHIR JSON never has an empty array: a count-only Bundle leaves ``entry`` out."""
    body = loaded.get("Observation", _summary="count")
    assert body["total"] == loaded.facts["per_type"]["Observation"]
    assert "entry" not in body


def test_searches_by_patient(loaded: Loaded) -> None:
    for p in _sample(loaded):
        pid = loaded.patient_id(p["synthea_id"])
        got = {
            t: loaded.total(t, patient=pid)
            for t in p["per_type"]
            if t not in ("Patient", "Medication")
        }
        assert got == {t: n for t, n in p["per_type"].items() if t not in ("Patient", "Medication")}
        assert loaded.total("Patient", _id=pid) == 1


def test_everything(loaded: Loaded) -> None:
    facts = loaded.facts
    compartment = set(_compartment_types())
    for p in _sample(loaded):
        pid = loaded.patient_id(p["synthea_id"])
        body = loaded.get(f"Patient/{pid}/$everything")
        assert "next" not in {link["relation"] for link in body.get("link", [])}
        resources = [e["resource"] for e in body["entry"]]
        assert body["total"] == len(resources)
        keys = [f"{r['resourceType']}/{r['id']}" for r in resources]
        assert len(set(keys)) == len(keys), "an entry twice"
        # the compartment: exactly the patient's bundle (minus what is not compartment)
        mine = [
            r
            for r in resources
            if r["resourceType"] in compartment
            and (r["resourceType"] != "Patient" or r["id"] == pid)
        ]
        assert Counter(r["resourceType"] for r in mine) == p["compartment"]
        prints = Counter(_fingerprint(r, {}) for r in mine)
        assert prints == Counter(p["fingerprints"]), "compartment content differs"
        encounters = sorted(
            i["value"]
            for r in mine
            if r["resourceType"] == "Encounter"
            for i in r["identifier"]
            if i.get("system") == SYNTHEA_ID
        )
        assert encounters == p["encounters"]
        # and every resource they reference, once
        mine_keys = {(r["resourceType"], r["id"]) for r in mine}
        others = Counter(
            r["resourceType"] for r in resources if (r["resourceType"], r["id"]) not in mine_keys
        )
        assert others == p["referenced_types"]
        idents = {
            f"{r['resourceType']}?identifier={i['system']}|{i['value']}"
            for r in resources
            for i in r.get("identifier", [])
        }
        assert {ref for ref in p["referenced"] if "?" in ref} <= idents
    assert facts["per_type"]["Patient"] == len(facts["patients"])


def test_include_and_revinclude(loaded: Loaded) -> None:
    for p in _sample(loaded):
        pid = loaded.patient_id(p["synthea_id"])
        body = loaded.get("Patient", _id=pid, _revinclude="Encounter:patient")
        modes = Counter(
            (e["resource"]["resourceType"], e["search"]["mode"]) for e in body.get("entry", [])
        )
        assert modes == {("Patient", "match"): 1, ("Encounter", "include"): len(p["encounters"])}
        assert body["total"] == 1
        body = loaded.get("Encounter", patient=pid, _include="Encounter:participant", _count="1000")
        assert body["total"] == len(p["encounters"])
        included = {
            f"Practitioner?identifier={i['system']}|{i['value']}"
            for e in body.get("entry", [])
            if e["search"]["mode"] == "include"
            for i in e["resource"].get("identifier", [])
        }
        assert sum(e["search"]["mode"] == "include" for e in body.get("entry", [])) == len(
            p["encounter_refs"]
        )
        assert set(p["encounter_refs"]) <= included
        body = loaded.get(
            "MedicationRequest", patient=pid, _include="MedicationRequest:medication", _count="1000"
        )
        meds = [e for e in body.get("entry", []) if e["search"]["mode"] == "include"]
        assert len(meds) == p["medications"]
        assert {e["resource"]["resourceType"] for e in meds} <= {"Medication"}
        body = loaded.get(
            "Observation",
            patient=pid,
            code=f"{LOINC}|8302-2",
            _include="Observation:patient",
            _count="1000",
        )
        inc = [
            e["resource"]["id"] for e in body.get("entry", []) if e["search"]["mode"] == "include"
        ]
        assert inc == ([pid] if body["total"] else [])
