"""The clinician's workspace in Chromium: sign in, find a patient by fødselsnummer and
open the overview within the click budget, type-ahead, break-the-glass, the language,
and no Content-Security-Policy violation on the way."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.demo import (
    GP_OFFICE,
    OTHER_OFFICE,
    active_medication,
    fnr,
    patients_of,
    sign_in,
)
from tests.browser.steps import Steps


def test_find_by_fodselsnummer_and_open_the_overview_in_two_steps(
    page: Page, steps: Steps, live_server: LiveServer, csp_violations: list[str]
) -> None:
    patient = patients_of(live_server, GP_OFFICE)[0]
    sign_in(page)
    steps.fill("#q", fnr(patient), enter=True)
    expect(page.locator(".banner .fnr")).to_have_text(fnr(patient))
    assert steps.count <= 2, steps.log
    expect(page.locator(".banner h1")).to_contain_text(patient["name"][0]["family"])
    assert csp_violations == []


def test_type_ahead_offers_the_patient(page: Page, live_server: LiveServer) -> None:
    patient = patients_of(live_server, GP_OFFICE)[0]
    sign_in(page)
    family = patient["name"][0]["family"]
    page.locator("#q").press_sequentially(family[:4], delay=30)
    suggestion = page.locator("#suggestions a", has_text=family).first
    expect(suggestion).to_be_visible()
    suggestion.click()
    expect(page.locator(".banner .fnr")).to_have_text(fnr(patient))


def test_no_care_relation_then_break_the_glass(page: Page, live_server: LiveServer) -> None:
    stranger = patients_of(live_server, OTHER_OFFICE)[0]
    sign_in(page)
    page.locator("#q").fill(fnr(stranger))
    page.locator("#q").press("Enter")
    expect(page.locator(".break-glass")).to_be_visible()
    assert stranger["name"][0]["family"] not in page.content()
    page.locator("#bg-text").fill("Akutt innlagt, trenger legemiddelliste")
    page.locator(".break-glass button[type=submit]").click()
    expect(page.locator(".banner .fnr")).to_have_text(fnr(stranger))
    queue = live_server.run_cli("audit", "review", "--all")
    assert f"Patient/{stranger['id']}" in queue  # in the privacy officer's review queue


def test_the_user_chooses_nynorsk(page: Page) -> None:
    sign_in(page)
    assert page.locator("html").get_attribute("lang") == "nb"
    page.get_by_role("button", name="Nynorsk").click()
    expect(page.locator("html")).to_have_attribute("lang", "nn")


def test_record_a_set_of_vital_signs_in_four_steps_or_fewer(
    page: Page, steps: Steps, live_server: LiveServer, csp_violations: list[str]
) -> None:
    patient = patients_of(live_server, GP_OFFICE)[0]
    sign_in(page)
    page.goto(f"/patients/{patient['id']}")
    steps.click(page.get_by_role("link", name="Registrer vitale parametere"))
    for field, value in {
        "#v-systolic": "132",
        "#v-diastolic": "84",
        "#v-pulse": "76",
        "#v-respiration": "16",
        "#v-spo2": "97",
        "#v-temperature": "37,1",
    }.items():
        steps.fill(field, value)
    steps.click("#save-vitals")
    vitals = page.locator("#vitals")
    expect(vitals).to_contain_text("NEWS2")
    expect(vitals.locator(".news2.low")).to_be_visible()  # all seven measured: score 0
    assert steps.count <= 4, steps.log
    assert csp_violations == []


def test_add_a_diagnosis_in_four_steps_or_fewer(
    page: Page, steps: Steps, live_server: LiveServer, csp_violations: list[str]
) -> None:
    patient = patients_of(live_server, GP_OFFICE)[0]
    sign_in(page)
    page.goto(f"/patients/{patient['id']}")
    steps.click(page.get_by_role("link", name="Legg til diagnose"))
    page.locator("#dq").press_sequentially("astma", delay=30)  # typing: no step
    match = page.locator("#diagnosis-matches button.match", has_text="R96")
    expect(match).to_be_visible()
    steps.click(match)
    expect(page.locator(".banner")).to_be_visible()
    expect(page.get_by_text("R96", exact=True)).to_be_visible()
    assert steps.count <= 4, steps.log
    assert csp_violations == []


def test_stop_a_medication_with_a_reason_in_three_steps_or_fewer(
    page: Page, steps: Steps, live_server: LiveServer
) -> None:
    patient, statement = active_medication(live_server, GP_OFFICE)
    name = statement["medicationCodeableConcept"]["text"]
    sign_in(page)
    page.goto(f"/patients/{patient['id']}")
    steps.click(page.get_by_role("link", name=f"Seponer: {name}"))
    steps.fill("#reason", "Blodtrykket er normalisert")
    steps.click("#confirm-stop")
    expect(page.locator(".banner")).to_be_visible()
    expect(page.get_by_role("link", name=f"Seponer: {name}")).to_have_count(0)
    assert steps.count <= 3, steps.log
