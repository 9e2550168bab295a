"""The clinician workspace's pages on the demo population (``python -m bench.population``).

Issue 5's budgets: server time p95 ≤ 100 ms for the patient overview of the largest
Synthea-size patient and ≤ 200 ms for every other page, on the demo database with
100,000 patients. The demo population's records are small (a few dozen resources), so
the largest Synthea patient of the bench dataset is imported into the cached database
once (:func:`ensure_synthea_patient`); the demo emergency doctor breaks the glass for it.

Each page is requested by the demo user whose work it is (``web/demo_users.py``), one
request after another, the patient taken from that user's start page. Times are
measured at the client on loopback (server time plus one local round trip); a redirect
is timed as its own response (the search by fødselsnummer answers with one).
"""

from __future__ import annotations

import bz2
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from bench.pages import WebSession, break_glass, sign_in, time_page
from bench.scenarios import Latencies

DATASET = Path("/work/shared/data/synthea/blaze-synthea-120")
SYNTHEA_ID = "https://github.com/synthetichealth/synthea"
OVERVIEW_BUDGET_MS = 100.0
PAGE_BUDGET_MS = 200.0

#: The demo users (``web/demo_users.py``) by the work the pages are timed for.
WARD_DOCTOR = "stolav-lunge-sengepost", "doctor"
GP = "kommune-5059-fastlegekontor", "doctor"
HOME_NURSE = "kommune-5001-hjemmetjeneste-2", "nurse"
SECRETARY = "stolav-medisin-poliklinikk", "secretary"
PRIVACY_OFFICER = "stolav-personvern", "privacy-officer"
EMERGENCY_DOCTOR = "stolav-akuttmottak", "doctor"

_PATIENT_LINK = re.compile(r'<a href="/patients/([A-Za-z0-9.\-]+)">([^<]+)</a>')
_NATIONAL_ID = re.compile(r"\b(\d{11})\b")
_NOTE_LINK = re.compile(r"/patients/[A-Za-z0-9.\-]+/notes/(?!new\b)[A-Za-z0-9.\-]+")
_STOP_LINK = re.compile(r"/patients/[A-Za-z0-9.\-]+/medications/[A-Za-z0-9.\-]+/stop")


@dataclass
class PageTime:
    page: str
    user: str
    latencies: Latencies
    budget_ms: float

    @property
    def met(self) -> bool:
        return self.latencies.p95 <= self.budget_ms


def largest_bundle(dataset: Path = DATASET) -> Path:
    """The dataset's largest patient bundle (by compressed size: by far the most entries)."""
    bundles = [p for p in dataset.glob("*.json.bz2") if not p.name.startswith("0-")]
    return max(bundles, key=lambda p: p.stat().st_size)


def synthea_key(bundle: Path) -> str:
    """The ``system|value`` of the bundle's Patient's Synthea identifier."""
    with bz2.open(bundle) as f:
        body = json.load(f)
    for entry in body.get("entry") or ():
        res = entry.get("resource") or {}
        if res.get("resourceType") == "Patient":
            for ident in res.get("identifier") or ():
                if ident.get("system") == SYNTHEA_ID:
                    return f"{SYNTHEA_ID}|{ident['value']}"
    raise SystemExit(f"{bundle}: no Patient with a Synthea identifier")


def ensure_synthea_patient(
    client: httpx.Client, import_files: Callable[[list[Path]], None], dataset: Path = DATASET
) -> tuple[str, int]:
    """The id of the largest Synthea patient in the database (imported the first time,
    with the dataset's organisations and practitioners) and its record's size."""
    bundle = largest_bundle(dataset)
    key = synthea_key(bundle)

    def find() -> str | None:
        body = client.get("/fhir/Patient", params={"identifier": key, "_elements": "id"}).json()
        entries = body.get("entry") or []
        return str(entries[0]["resource"]["id"]) if entries else None

    patient_id = find()
    if patient_id is None:
        import_files([*sorted(dataset.glob("0-*.json.bz2")), bundle])
        patient_id = find()
        if patient_id is None:
            raise SystemExit(f"{bundle.name} was imported but its Patient is not found")
    size = client.get(f"/fhir/Patient/{patient_id}/$everything", params={"_count": "1"}).json()
    return patient_id, int(size.get("total") or 0)


def _hpr(unit: str, role: str) -> str:
    from fellesjournal.web.demo_users import demo_users

    return next(u.hpr for u in demo_users() if u.unit_id == unit and u.role == role)


def _first_patient(web: WebSession) -> tuple[str, str]:
    """(id, name) of the first patient on the signed-in user's start page."""
    found = _PATIENT_LINK.search(web.request("GET", "/").text)
    if found is None:
        raise SystemExit("the start page lists no patient")
    return found.group(1), found.group(2)


def time_pages(
    base_url: str, synthea_patient: str, requests: int, warmup: int, say: Callable[[str], None]
) -> list[PageTime]:
    """Every page of the workspace, as the user whose work it is."""
    out: list[PageTime] = []

    def timed(web: WebSession, user: str, page: str, path: str, budget: float) -> None:
        lat = time_page(web, path, requests, warmup, follow=False)
        say(f"{page}: {lat.summary()}")
        out.append(PageTime(page, user, lat, budget))

    web = sign_in(base_url, _hpr(*WARD_DOCTOR))
    pid, name = _first_patient(web)
    overview = web.request("GET", f"/patients/{pid}").text
    fnr = _NATIONAL_ID.search(overview)
    who = "ward doctor"
    timed(web, who, "Start page (ward)", "/", PAGE_BUDGET_MS)
    timed(web, who, "Patient overview (ward patient)", f"/patients/{pid}", PAGE_BUDGET_MS)
    timed(web, who, "Why can I see this?", f"/patients/{pid}/access", PAGE_BUDGET_MS)
    timed(web, who, "Vital signs form", f"/patients/{pid}/vitals", PAGE_BUDGET_MS)
    timed(
        web,
        who,
        "Diagnosis search (ICD-10)",
        f"/patients/{pid}/diagnoses?q=pneumoni",
        PAGE_BUDGET_MS,
    )
    timed(web, who, "Find a patient by name", f"/patients?q={quote(name)}", PAGE_BUDGET_MS)
    suggest = f"/patients/suggest?q={quote(name[:3])}"
    timed(web, who, "Type-ahead (3 letters)", suggest, PAGE_BUDGET_MS)
    if fnr is not None:
        timed(
            web,
            who,
            "Find a patient by fødselsnummer (redirect)",
            f"/patients?q={fnr.group(1)}",
            PAGE_BUDGET_MS,
        )
    timed(web, who, "Work context", "/context", PAGE_BUDGET_MS)
    timed(
        web,
        who,
        "New note (daily note)",
        f"/patients/{pid}/notes/new?template=progress",
        PAGE_BUDGET_MS,
    )
    note = _NOTE_LINK.search(overview)
    if note is not None:
        timed(web, who, "A note", note.group(0), PAGE_BUDGET_MS)
    timed(web, who, "Allergy form", f"/patients/{pid}/allergies", PAGE_BUDGET_MS)
    timed(web, who, "Start a medication", f"/patients/{pid}/medications/new", PAGE_BUDGET_MS)
    statement = _STOP_LINK.search(overview)
    if statement is not None:
        dose = statement.group(0).removesuffix("/stop") + "/dose"
        timed(web, who, "Change a dose", dose, PAGE_BUDGET_MS)

    web = sign_in(base_url, _hpr(*GP))
    gp_pid, _name = _first_patient(web)
    timed(web, "fastlege", "Start page (GP list)", "/", PAGE_BUDGET_MS)
    timed(web, "fastlege", "Patient overview (listed patient)", f"/patients/{gp_pid}", 200.0)
    timed(
        web,
        "fastlege",
        "Diagnosis search (ICPC-2)",
        f"/patients/{gp_pid}/diagnoses?q=hoste",
        PAGE_BUDGET_MS,
    )
    timed(sign_in(base_url, _hpr(*HOME_NURSE)), "home nurse", "Start page (home care)", "/", 200)
    timed(sign_in(base_url, _hpr(*SECRETARY)), "secretary", "Start page (outpatient)", "/", 200)
    timed(
        sign_in(base_url, _hpr(*PRIVACY_OFFICER)), "privacy officer", "Review queue", "/review", 200
    )

    web = sign_in(base_url, _hpr(*EMERGENCY_DOCTOR))
    break_glass(web, synthea_patient)
    timed(
        web,
        "emergency doctor (break-the-glass)",
        "Patient overview (largest Synthea patient)",
        f"/patients/{synthea_patient}",
        OVERVIEW_BUDGET_MS,
    )
    return out


def render(times: list[PageTime], synthea_size: int) -> str:
    lines = [
        "Workspace pages, each requested one after another by the demo user whose work it "
        f"is; the largest Synthea patient has {synthea_size:,} resources in its record. "
        "Client time on loopback (server time plus one local round trip).",
        "",
        *table(times, "User"),
    ]
    return "\n".join(lines) + "\n"


def table(times: list[PageTime], who: str) -> list[str]:
    """The Markdown table of ``times``, the user column headed ``who``."""
    lines = [
        f"| Page | {who} | p50 | p95 | max | Budget (p95) | |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in times:
        lat = t.latencies
        lines.append(
            f"| {t.page} | {t.user} | {lat.p50:.1f} ms | {lat.p95:.1f} ms | {lat.max:.1f} ms "
            f"| ≤ {t.budget_ms:.0f} ms | {'met' if t.met else '**not met**'} |"
        )
    return lines
