"""The portal's acting pages in a real browser: a block taking effect on a health
worker's next request (and gone when lifted), the access log showing a health worker's
read made minutes earlier, a message that becomes a work item in the unit's queue and
whose answer shows in the thread, cancelling an appointment and asking for a new time,
and Kari's referrals with the right to care and its deadline.

The health worker reads over the FHIR API with a token from ``fellesjournal token
--practitioner``; the citizen is a patient of the GP office from the demo population
(not one the workspace's tests show) or Kari of the portal demo. Every change a test
makes to shared demo data is undone before it ends.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from fellesjournal.demo.portal import KARI
from fellesjournal.demo.portal_seed import REFERRAL_RIGHT, REFERRAL_WAITING
from fellesjournal.web.demo_users import DemoUser
from tests.browser.conftest import LiveServer, browser_page
from tests.browser.demo import (
    GP,
    GP_OFFICE,
    active_medication,
    demo_user,
    fhir_search,
    fnr,
    patients_of,
    richest_patient,
    sign_in,
)
from tests.browser.portal_demo import portal_sign_in

OSLO = ZoneInfo("Europe/Oslo")
WORK_ITEM = "https://fellesjournal.no/fhir/CodeSystem/work-item"


@pytest.fixture(scope="module")
def gp() -> DemoUser:
    return demo_user(GP)


@pytest.fixture(scope="module")
def citizen(live_server: LiveServer) -> dict[str, Any]:
    """An adult patient of the GP office whom the workspace's own tests do not use."""
    taken = {
        richest_patient(live_server, GP_OFFICE)["id"],
        active_medication(live_server, GP_OFFICE)[0]["id"],
    }
    today = dt.date.today()
    for patient in sorted(patients_of(live_server, GP_OFFICE), key=lambda p: p["id"]):
        born = dt.date.fromisoformat(patient.get("birthDate", "2100-01-01")[:10])
        if patient["id"] not in taken and (today - born).days > 20 * 366:
            return patient
    raise AssertionError("no adult patient of the GP office to use")


@pytest.fixture
def clinician_page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """Another browser (own cookies): the health worker at their desk."""
    with browser_page(browser, live_server) as opened:
        yield opened


def _token(live_server: LiveServer, user: DemoUser | None = None) -> str:
    if user is None:
        return live_server.run_cli("token", "--system").strip()
    args = ("token", "--practitioner", user.hpr, "--role", user.role_id)
    return live_server.run_cli(*args).strip()


def _fhir(
    live_server: LiveServer, token: str, method: str, path: str, body: Any = None
) -> httpx.Response:
    return httpx.request(
        method,
        f"{live_server.base_url}/fhir/{path}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
        json=body,
        timeout=30,
    )


def _name(patient: dict[str, Any]) -> str:
    name = patient["name"][0]
    return f"{' '.join(name.get('given', []))} {name['family']}"


def test_the_access_log_shows_a_read_made_minutes_earlier(
    page: Page, live_server: LiveServer, citizen: dict[str, Any], gp: DemoUser
) -> None:
    read = _fhir(live_server, _token(live_server, gp), "GET", f"Patient/{citizen['id']}")
    assert read.status_code == 200
    when = dt.datetime.now(OSLO)
    portal_sign_in(page, fnr(citizen))
    page.get_by_role("navigation", name="Portalmeny").get_by_role(
        "link", name="Hvem har sett"
    ).click()
    expect(page.locator("h1")).to_have_text("Hvem har sett i journalen min")
    line = page.locator("li.access", has_text=gp.name).first
    expect(line).to_be_visible()
    expect(line).to_contain_text("lege")
    expect(line).to_contain_text(gp.unit_name)
    expect(line).to_contain_text(gp.organization_name)
    expect(line).to_contain_text("Åpnet journalen din")
    expect(line).to_contain_text("Enheten er fastlegekontoret ditt")  # the care relation
    shown = line.locator("time").get_attribute("datetime") or ""
    moment = dt.datetime.fromisoformat(shown.replace("Z", "+00:00"))
    assert abs((moment - when).total_seconds()) < 300, (shown, when)
    expect(line.locator("time")).to_contain_text(when.strftime("%d.%m.%Y"))


def test_a_block_takes_effect_on_the_next_request(
    page: Page, live_server: LiveServer, citizen: dict[str, Any], gp: DemoUser
) -> None:
    gp_token = _token(live_server, gp)
    assert _fhir(live_server, gp_token, "GET", f"Patient/{citizen['id']}").status_code == 200
    portal_sign_in(page, fnr(citizen))
    block_id = ""
    try:
        page.goto("/portal/blocks")
        page.get_by_role("link", name="Lag en ny sperring").click()
        page.locator("#q").fill(gp.name.split()[-1])
        page.locator("#search-people").click()
        page.get_by_role("radio", name=re.compile(re.escape(gp.name))).check()
        page.locator("#review-block").click()
        # The consequences, before anything is made.
        expect(page.locator("h1")).to_have_text("Før du sperrer")
        expect(page.locator(".consequences")).to_contain_text("også i en nødsituasjon")
        assert _fhir(live_server, gp_token, "GET", f"Patient/{citizen['id']}").status_code == 200
        page.locator("#confirm-block").click()
        expect(page.locator("p.done")).to_contain_text("Sperringen gjelder fra nå av")
        lift = page.get_by_role("link", name=re.compile("Opphev sperringen"))
        block_id = (lift.get_attribute("href") or "").split("/")[3]
        # The health worker's next request.
        assert _fhir(live_server, gp_token, "GET", f"Patient/{citizen['id']}").status_code == 404
        lift.click()
        page.locator("#confirm-lift").click()
        expect(page.locator("p.done")).to_contain_text("Sperringen er opphevet")
        assert _fhir(live_server, gp_token, "GET", f"Patient/{citizen['id']}").status_code == 200
        block_id = ""
    finally:
        if block_id:  # the test failed half-way: lift the block for the other tests
            system = _token(live_server)
            consent = _fhir(live_server, system, "GET", f"Consent/{block_id}").json()
            consent["status"] = "inactive"
            consent.pop("meta", None)
            _fhir(live_server, system, "PUT", f"Consent/{block_id}", consent)


def test_a_message_reaches_the_queue_and_the_answer_the_thread(
    page: Page,
    clinician_page: Page,
    live_server: LiveServer,
    citizen: dict[str, Any],
) -> None:
    question = f"Kan jeg få fornyet resepten? ({dt.datetime.now(OSLO):%H%M%S})"
    portal_sign_in(page, fnr(citizen))
    page.get_by_role("navigation", name="Portalmeny").get_by_role("link", name="Meldinger").click()
    page.get_by_role("link", name="Skriv en ny melding").click()
    page.get_by_role("radio", name=re.compile("Orkland legekontor")).check()
    page.locator("#text").fill(question)
    page.locator("#send-message").click()
    expect(page.locator("p.done")).to_be_visible()
    expect(page.locator("article.message.from-patient")).to_contain_text(question)
    thread = page.url.split("?")[0]

    item = _work_item(live_server, citizen, question)  # in the GP office's queue

    sign_in(clinician_page, GP)
    clinician_page.goto("/queues?kind=message")
    expect(clinician_page.locator(f"a[href^='/queues/items/{item['id']}']")).to_be_visible()
    clinician_page.goto(f"/queues/items/{item['id']}")
    expect(clinician_page.locator("main")).to_contain_text(question)
    clinician_page.locator("#reply-text").fill("Ja, den er fornyet. Hent den på apoteket.")
    clinician_page.locator("#send-reply").click()
    expect(clinician_page.locator("p.done")).to_be_visible()

    page.goto(thread)
    answer = page.locator("article.message.from-unit")
    expect(answer).to_contain_text("Ja, den er fornyet")
    expect(answer.locator(".message-head")).to_contain_text("Orkland legekontor")
    page.locator("#text").fill("Takk!")
    page.locator("#send-reply").click()
    expect(page.locator("article.message.from-patient").last).to_contain_text("Takk!")


def _work_item(live_server: LiveServer, citizen: dict[str, Any], text: str) -> dict[str, Any]:
    """The GP office's work item for the patient's message ``text``, once the outbox has
    delivered it (a round of our own; the server's worker may have taken the row first)."""
    deadline = time.monotonic() + 30
    while True:
        live_server.run_cli("outbox", "run", "--once")
        items = fhir_search(
            live_server,
            "Task",
            {
                "owner": GP_OFFICE,
                "code": f"{WORK_ITEM}|message",
                "patient": f"Patient/{citizen['id']}",
                "status": "requested",
            },
        )
        found = [t for t in items if _focus_text(live_server, t) == text]
        if found or time.monotonic() > deadline:
            assert found, f"no work item for the message {text!r}"
            return found[0]
        time.sleep(0.5)


def _focus_text(live_server: LiveServer, task: dict[str, Any]) -> str:
    ref = str(task.get("focus", {}).get("reference", ""))
    parts = ref.split("/")
    found = fhir_search(live_server, "Communication", {"_id": parts[1]})
    return str((found[0].get("payload") or [{}])[0].get("contentString", "")) if found else ""


def test_cancel_an_appointment_and_ask_for_a_new_time(
    page: Page, live_server: LiveServer, citizen: dict[str, Any], gp: DemoUser
) -> None:
    system = _token(live_server)
    made = []
    for days, what in ((10, "Blodtrykkskontroll"), (12, "Årlig kontroll")):
        start = dt.datetime.now(OSLO).replace(hour=10, minute=0, second=0, microsecond=0)
        start += dt.timedelta(days=days)
        body = {
            "resourceType": "Appointment",
            "status": "booked",
            "serviceType": [{"text": what}],
            "start": start.isoformat(),
            "end": (start + dt.timedelta(minutes=20)).isoformat(),
            "participant": [
                {"actor": {"reference": f"Patient/{citizen['id']}"}, "status": "accepted"},
                {"actor": {"reference": f"PractitionerRole/{gp.role_id}"}, "status": "accepted"},
            ],
        }
        created = _fhir(live_server, system, "POST", "Appointment", body)
        assert created.status_code == 201, created.text
        made.append(created.json()["id"])
    cancel_id, move_id = made
    portal_sign_in(page, fnr(citizen))
    page.get_by_role("navigation", name="Portalmeny").get_by_role(
        "link", name="Timeavtaler"
    ).click()
    page.locator(f"a[href='/portal/appointments/{cancel_id}/cancel']").click()
    expect(page.locator("h1")).to_have_text("Avbestille timen?")
    expect(page.locator("main")).to_contain_text("Blodtrykkskontroll")
    page.locator("#confirm-cancel").click()
    expect(page.locator("p.done")).to_contain_text("Timen er avbestilt")
    stored = _fhir(live_server, system, "GET", f"Appointment/{cancel_id}").json()
    assert stored["status"] == "cancelled"
    expect(page.locator(f"a[href='/portal/appointments/{cancel_id}/cancel']")).to_have_count(0)

    page.locator(f"a[href='/portal/appointments/{move_id}/new-time']").click()
    page.locator("#text").fill("Jeg er på ferie da. Passer uka etter?")
    page.locator("#send-new-time").click()
    expect(page.locator("p.done")).to_contain_text("Ønsket om ny time er sendt")
    assert _fhir(live_server, system, "GET", f"Appointment/{move_id}").json()["status"] == "booked"
    sent = fhir_search(live_server, "Communication", {"subject": f"Patient/{citizen['id']}"})
    asked = [c for c in sent if {"reference": f"Appointment/{move_id}"} in (c.get("about") or [])]
    assert len(asked) == 1 and asked[0]["sender"]["reference"] == f"Patient/{citizen['id']}"


def test_karis_referrals_with_the_right_and_its_deadline(page: Page) -> None:
    portal_sign_in(page, KARI.fnr)
    if re.search(r"/portal/acting-for$", page.url):  # she acts for others too
        page.get_by_role("button", name=re.compile(re.escape(KARI.name))).click()
    page.get_by_role("navigation", name="Portalmeny").get_by_role(
        "link", name="Henvisninger"
    ).click()
    expect(page.locator("h1")).to_have_text("Henvisninger")
    granted = page.locator(f"section[aria-labelledby='referral-{REFERRAL_RIGHT}']")
    expect(granted).to_contain_text("Du har rett til nødvendig helsehjelp")
    expect(granted).to_contain_text("Helsehjelpen skal starte senest")
    expect(granted.locator("dd strong")).to_have_text(re.compile(r"\d\d\.\d\d\.\d{4}"))
    expect(granted.locator("ul.letters")).to_contain_text("Helsehjelpen skal starte senest")
    waiting = page.locator(f"section[aria-labelledby='referral-{REFERRAL_WAITING}']")
    expect(waiting).to_contain_text("Mottatt, venter på vurdering")
    expect(waiting).to_contain_text("Skal vurderes innen")
