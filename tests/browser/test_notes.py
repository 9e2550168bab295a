"""Clinical notes in Chromium: write and sign a daily note from the overview within a
click budget, and two people on one draft in two browsers: a true conflict shows both
texts and keeps what was typed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveServer, browser_page
from tests.browser.demo import GP_OFFICE, patients_of, sign_in
from tests.browser.steps import Steps

COLLEAGUE_HPR = "990001484"  # Turid Sivertsen, doctor at the same GP office
COLLEAGUE_NAME = "Turid Sivertsen"


@pytest.fixture
def second(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A second browser (own cookies) for a second person in the same chart."""
    with browser_page(browser, live_server) as opened:
        yield opened


def _sign_in_by_hpr(page: Page, hpr: str, name: str) -> None:
    page.goto("/")
    page.locator("#hpr").fill(hpr)
    page.locator("form.hpr button[type=submit]").click()
    expect(page.locator(".who .user")).to_have_text(name)


def test_write_and_sign_a_daily_note_from_the_overview_in_two_steps(
    page: Page, steps: Steps, live_server: LiveServer
) -> None:
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    patient = patients_of(live_server, GP_OFFICE)[1]
    sign_in(page)
    page.goto(f"/patients/{patient['id']}")
    expect(page.locator("#note-template")).to_have_value("progress")  # a doctor's default
    steps.click("#new-note")
    expect(page.locator("h1")).to_have_text("Daglig notat")
    steps.fill("#s-current", "Hoste i to uker, ingen feber.")
    steps.fill("#s-assessment", "Trolig postinfeksiøs hoste.")
    steps.fill("#s-plan", "Ny vurdering om tre uker ved vedvarende hoste.")
    steps.click("#sign-note")
    expect(page.locator(".banner")).to_be_visible()  # back on the overview
    row = page.locator("table.timeline tr.note", has_text="Daglig notat").first
    expect(row).to_contain_text("Marit Myklebust")
    assert steps.count <= 2, steps.log
    assert violations == []


def test_a_conflict_in_two_browsers_shows_both_texts(
    page: Page, second: Page, live_server: LiveServer
) -> None:
    patient = patients_of(live_server, GP_OFFICE)[2]
    sign_in(page)
    page.goto(f"/patients/{patient['id']}/notes/new?template=progress")
    page.locator("#s-current").fill("Feber.")
    page.locator("#save-draft").click()
    expect(page).to_have_url(re.compile(r"/notes/[^/]+$"))
    note_url = page.url

    _sign_in_by_hpr(second, COLLEAGUE_HPR, COLLEAGUE_NAME)
    second.goto(note_url)
    expect(second.locator("#s-current")).to_have_value("Feber.")
    expect(second.locator("#sign-note")).to_have_count(0)  # not her draft to sign
    page.goto(note_url)  # both have version 1 open

    second.locator("#s-current").fill("Feber 39,2.")
    second.locator("#s-plan").fill("CRP i morgen.")
    second.locator("#save-draft").click()
    expect(second.locator("#s-current")).to_have_value("Feber 39,2.")

    page.locator("#s-current").fill("Feber og frostanfall.")
    page.locator("#s-findings").fill("Knatrelyder basalt høyre.")
    page.locator("#save-draft").click()
    conflict = page.locator("fieldset.conflict")
    expect(conflict).to_have_count(1)
    expect(conflict.locator(".theirs")).to_have_text("Feber 39,2.")  # theirs, as saved
    expect(conflict.locator("#s-current")).to_have_value("Feber og frostanfall.")  # mine
    expect(page.locator("#s-findings")).to_have_value("Knatrelyder basalt høyre.")
    expect(page.locator("#s-plan")).to_have_value("CRP i morgen.")  # theirs, merged in
    expect(page.locator("[role=alert]")).to_contain_text("begge")

    conflict.locator("#s-current").fill("Feber 39,2 og frostanfall.")
    page.locator("#save-draft").click()
    expect(page.locator("fieldset.conflict")).to_have_count(0)
    expect(page.locator("#s-current")).to_have_value("Feber 39,2 og frostanfall.")
    expect(page.locator("#s-plan")).to_have_value("CRP i morgen.")
    expect(page.locator("#s-findings")).to_have_value("Knatrelyder basalt høyre.")
