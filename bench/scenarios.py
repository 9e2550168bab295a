"""The non-wrk parts of a run: the import, choosing targets, the CRUD pool, $everything."""

from __future__ import annotations

import re
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import orjson

IMPORT_LINE = re.compile(
    r"imported ([\d,]+) resources from (\d+) of (\d+) files in ([\d.]+) s "
    r"\(([\d,]+) resources/s\)"
)
PREFERRED_IDENTIFIER_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"


@dataclass
class ImportResult:
    """What ``fellesjournal import`` printed, and the wall time around it."""

    resources: int
    files_ok: int
    files: int
    seconds: float
    rate: float
    wall_seconds: float
    other_cpu: float = 0.0


def run_import(cli: Path, dataset: Path, env: dict[str, str], log: Path) -> ImportResult:
    """Import the whole dataset folder with the CLI and read the rate it prints."""
    started = time.perf_counter()
    out = subprocess.run(
        [str(cli), "import", str(dataset)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    wall = time.perf_counter() - started
    log.write_text(out.stdout + out.stderr)
    match = IMPORT_LINE.search(out.stderr)
    if match is None:
        raise RuntimeError(f"import did not report (exit {out.returncode}); see {log}")
    resources = int(match.group(1).replace(",", ""))
    return ImportResult(
        resources,
        int(match.group(2)),
        int(match.group(3)),
        float(match.group(4)),
        float(match.group(5).replace(",", "")),
        wall,
    )


@dataclass
class Targets:
    """What the scenarios ask for, chosen from the imported data."""

    patient_id: str
    compartment_size: int
    identifier: str
    family: str

    def read_path(self) -> str:
        return f"/fhir/Patient/{self.patient_id}"

    def identifier_path(self) -> str:
        return f"/fhir/Patient?identifier={quote(self.identifier, safe='')}"

    def name_path(self) -> str:
        return f"/fhir/Patient?name={quote(self.family, safe='')}"

    def everything_path(self) -> str:
        return f"/fhir/Patient/{self.patient_id}/$everything"


def pick_targets(client: httpx.Client, patient_id: str, compartment_size: int) -> Targets:
    """The patient's identifier (SSN when present) and official family name, via the API."""
    resp = client.get(f"/fhir/Patient/{patient_id}")
    resp.raise_for_status()
    patient = resp.json()
    identifiers = [i for i in patient.get("identifier", []) if i.get("system") and i.get("value")]
    if not identifiers:
        raise RuntimeError(f"Patient/{patient_id} has no identifier with system and value")
    chosen = next(
        (i for i in identifiers if i["system"] == PREFERRED_IDENTIFIER_SYSTEM), identifiers[0]
    )
    names = patient.get("name", [])
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    family = name.get("family")
    if not family:
        raise RuntimeError(f"Patient/{patient_id} has no family name")
    return Targets(patient_id, compartment_size, f"{chosen['system']}|{chosen['value']}", family)


def check_search(client: httpx.Client, path: str, expect_id: str) -> int:
    """Run a search once and make sure it finds ``expect_id``; returns the hit count."""
    resp = client.get(path)
    resp.raise_for_status()
    bundle = resp.json()
    ids = [e["resource"]["id"] for e in bundle.get("entry", [])]
    if expect_id not in ids:
        raise RuntimeError(f"{client.base_url}{path} did not find {expect_id}: {ids[:5]}")
    return len(ids)


def make_pool(client: httpx.Client, prefix: str, size: int) -> None:
    """PUT ``size`` Patients ``{prefix}-{i}``, the read/update pool of the CRUD mix."""
    for i in range(size):
        res_id = f"{prefix}-{i}"
        body = {
            "resourceType": "Patient",
            "id": res_id,
            "active": True,
            "name": [{"use": "official", "family": "Crudpool", "given": [f"P{i}"]}],
            "gender": "male",
            "birthDate": "1960-02-29",
        }
        resp = client.put(
            f"/fhir/Patient/{res_id}",
            content=orjson.dumps(body),
            headers={"Content-Type": "application/fhir+json"},
        )
        resp.raise_for_status()


@dataclass
class Latencies:
    """Sequential request timings (milliseconds) of one URL."""

    samples: list[float]
    entries: int
    bytes: int

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return _percentile(self.samples, 95)

    @property
    def max(self) -> float:
        return max(self.samples)

    def summary(self) -> str:
        return (
            f"p50 {self.p50:.0f} ms, p95 {self.p95:.0f} ms, max {self.max:.0f} ms "
            f"({len(self.samples)} requests, {self.entries} entries, "
            f"{self.bytes / 1e6:.1f} MB)"
        )


def _percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile (the value below which ``pct`` % of samples fall)."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def time_sequential(client: httpx.Client, path: str, requests: int, warmup: int) -> Latencies:
    """``warmup`` untimed requests, then ``requests`` timed ones, one after the other."""
    for _ in range(warmup):
        client.get(path).raise_for_status()
    samples: list[float] = []
    size = 0
    for _ in range(requests):
        started = time.perf_counter()
        resp = client.get(path)
        body = resp.content
        samples.append((time.perf_counter() - started) * 1000)
        resp.raise_for_status()
        size = len(body)
    entries = len(orjson.loads(body).get("entry", []))
    return Latencies(samples, entries, size)
