"""The work queues in Chromium, on the served demo (``demo seed`` makes the demo's work
items through the workflows): a ward nurse opens the queue from the header, takes a
message and closes it with a reason; the fastlege puts a result back and takes it again
with the keyboard alone; the dashboard shows the queues' counts."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.demo import WARD_NURSE, fhir_search, sign_in
from tests.browser.steps import Steps
from tests.browser.test_keyboard import keyboard_sign_in, tab_to

WARD = "Organization/stolav-lunge-sengepost"
ASSIGNEE = "https://fellesjournal.no/fhir/StructureDefinition/work-item-assignee"
OPEN = "draft,requested,received,accepted,ready,in-progress,on-hold"


def _unassigned_message(live_server: LiveServer) -> dict:
    found = fhir_search(
        live_server,
        "Task",
        {
            "owner": WARD,
            "status": OPEN,
            "code": "https://fellesjournal.no/fhir/CodeSystem/work-item|message",
        },
    )
    free = [t for t in found if not any(e["url"] == ASSIGNEE for e in t.get("extension", ()))]
    assert free, "the demo has no unassigned message at the ward"
    return sorted(free, key=lambda t: t["id"])[0]


def test_a_nurse_takes_and_closes_a_message(
    page: Page, steps: Steps, live_server: LiveServer, csp_violations: list[str]
) -> None:
    item = _unassigned_message(live_server)
    sign_in(page, WARD_NURSE)
    steps.click(page.locator(".main-nav a", has_text="Arbeidskøer"))
    row = page.locator(f"#item-{item['id']}")
    expect(row).to_be_visible()
    expect(page.locator("table.queue tr.failure")).to_contain_text("Sending feilet")

    steps.click(row.get_by_role("button", name="Ta"))
    expect(row).to_contain_text("Deg")
    expect(row.get_by_role("button", name="Legg tilbake")).to_be_visible()

    steps.click(row.get_by_role("link", name="Innkommende melding"))
    expect(page.locator("h1")).to_contain_text("Innkommende melding")
    page.locator("#close-reason").fill("Lest, tatt med i pleieplanen")
    steps.click("#close")
    expect(page).to_have_url(re.compile(r"/queues(\?|$)"))
    expect(page.locator(f"#item-{item['id']}")).to_have_count(0)
    assert steps.count <= 4, steps.log  # open the queue, take, open the item, close

    closed = fhir_search(live_server, "Task", {"_id": item["id"]})[0]
    assert closed["status"] == "completed"
    assert closed["statusReason"]["text"] == "Lest, tatt med i pleieplanen"
    page.goto("/queues?status=closed")
    expect(page.locator(f"#item-{item['id']}")).to_contain_text("Lest, tatt med i pleieplanen")
    assert csp_violations == []


def test_the_dashboard_counts_the_queues(page: Page) -> None:
    sign_in(page, WARD_NURSE)
    page.goto("/queues/dashboard")
    ward = page.locator("table.dashboard tr", has_text="Lungemedisinsk sengepost").filter(
        has_text="Sending feilet"
    )
    expect(ward).to_have_count(1)
    cells = ward.locator("td")
    expect(cells.nth(1)).to_have_text("Ja")  # watched
    assert int(cells.nth(2).inner_text()) >= 1  # open
    assert int(cells.nth(6).inner_text()) >= 1  # failed deliveries
    escalated = page.locator("table.dashboard tr", has_text="Hjemmetjenesten Østbyen")
    assert sum(int(r.locator("td").nth(5).inner_text()) for r in escalated.all()) >= 1


def test_the_queue_with_the_keyboard_alone(page: Page) -> None:
    keyboard_sign_in(page)  # the demo fastlege, whose lab results are theirs to acknowledge
    # The start page's focus is in the search field, after the header: back to the link.
    tab_to(page, page.locator(".main-nav a", has_text="Arbeidskøer"), backwards=True)
    page.keyboard.press("Enter")
    row = page.locator("table.queue tbody tr", has_text="Prøvesvar til kvittering").first
    expect(row).to_contain_text("Deg")
    item_id = row.get_attribute("id")
    tab_to(page, row.get_by_role("button", name="Legg tilbake"))
    page.keyboard.press("Enter")
    row = page.locator(f"#{item_id}")
    expect(row).to_contain_text("Ingen ennå")
    tab_to(page, row.get_by_role("button", name="Ta"))
    page.keyboard.press("Enter")
    expect(page.locator(f"#{item_id}")).to_contain_text("Deg")
