"""Citizens of the served demo as the portal's browser tests meet them.

Citizens are picked from the demo population through the FHIR API with a system token
(``tests/browser/demo.py``), never from the database, by what a test needs: an adult
whose record has released documents and results, and a second adult. They sign in on the
built-in ID-porten's page with their fødselsnummer (:func:`portal_sign_in`), the way a
demo citizen of ``fellesjournal.demo.portal.DEMO_CITIZENS`` does.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Page, expect

from fellesjournal.demo.portal import DemoCitizen
from tests.browser.conftest import LiveServer
from tests.browser.demo import fhir_search, fnr

LOINC = "http://loinc.org"
#: Document types the citizen sees 24 hours after signing (docs/portal.md).
SHOWN_TYPES = ("18842-5", "11506-3")


@dataclass(frozen=True)
class Citizen:
    patient_id: str
    fnr: str
    name: str
    document_id: str = ""
    report_id: str = ""


def _name(patient: dict[str, Any]) -> str:
    name = patient["name"][0]
    return f"{' '.join(name.get('given', []))} {name['family']}"


def _adult(patient: dict[str, Any], today: datetime.date) -> bool:
    born = datetime.date.fromisoformat(patient.get("birthDate", "2100-01-01")[:10])
    return (today - born).days > 18 * 366 and not patient.get("link")


def citizens(live_server: LiveServer) -> tuple[Citizen, Citizen]:
    """(an adult with released documents and results, another adult)."""
    now = datetime.datetime.now(datetime.UTC)
    signed_before = (now - datetime.timedelta(days=2)).isoformat(timespec="seconds")
    issued_before = (now - datetime.timedelta(days=15)).isoformat(timespec="seconds")
    docs = fhir_search(
        live_server,
        "DocumentReference",
        {"type": ",".join(f"{LOINC}|{c}" for c in SHOWN_TYPES), "date": f"lt{signed_before}"},
    )
    reports = fhir_search(live_server, "DiagnosticReport", {"issued": f"lt{issued_before}"})
    doc_of = {d["subject"]["reference"].split("/")[1]: d["id"] for d in docs}
    report_of = {r["subject"]["reference"].split("/")[1]: r["id"] for r in reports}
    counts = Counter(d["subject"]["reference"].split("/")[1] for d in docs)
    today = now.date()
    with_both = [pid for pid, _n in counts.most_common() if pid in report_of]
    rich: Citizen | None = None
    other: Citizen | None = None
    for patient in fhir_search(live_server, "Patient", {"_count": "200"}):
        if not _adult(patient, today):
            continue
        pid = patient["id"]
        if rich is None and pid in with_both[:10]:
            rich = Citizen(pid, fnr(patient), _name(patient), doc_of[pid], report_of[pid])
        elif other is None:
            other = Citizen(pid, fnr(patient), _name(patient))
    assert rich is not None and other is not None, "the demo has no adult with results"
    return rich, other


def portal_sign_in(page: Page, number: str) -> None:
    """Sign in to the portal on the built-in ID-porten's page with ``number``."""
    page.goto("/portal")
    page.locator("#fnr").fill(number)
    page.locator("form.fnr button[type=submit]").click()
    expect(page.locator("header.portal-top")).to_be_visible()


def sign_in_as(page: Page, who: DemoCitizen, acting_for: DemoCitizen | None = None) -> None:
    """Sign in as the demo citizen ``who`` by choosing them on the built-in ID-porten's
    page, then choose ``acting_for``'s record (default: their own) when the portal asks
    whose record; ends on the start page."""
    page.goto("/portal/signin")
    page.get_by_role("button", name=re.compile(re.escape(who.name))).click()
    expect(page.locator(".portal-who")).to_contain_text(who.name)
    target = acting_for or who
    if re.search(r"/portal/acting-for$", page.url):
        expect(page.locator("h1")).to_have_text("Hvem sin journal?")
        page.get_by_role("button", name=re.compile(re.escape(target.name))).click()
    expect(page).to_have_url(re.compile(r"/portal$"))
    if target is who:
        expect(page.locator(".portal-who .acting")).to_have_count(0)
    else:
        expect(page.locator(".portal-who .acting")).to_contain_text(target.name)
