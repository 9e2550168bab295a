"""The main flows of the workspace with the keyboard alone: Tab, Shift+Tab, Enter, Space
and typing (``page.keyboard``), never a mouse click or ``element.click()``. Every stop of
the focus on the way must show where it is (a ``:focus-visible`` outline), and every page
starts with a link past the header to the main content. The click budgets of issue 5
hold for keyboard users too (``Steps`` counts Enter and Space as steps)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.demo import (
    GP,
    GP_OFFICE,
    active_medication,
    demo_user,
    fnr,
    patients_of,
)
from tests.browser.steps import Steps

MAX_TABS = 80
# The GP-office patient the flows that write use: not the first, which the mouse flows of
# test_workspace.py use and check strictly (tests share the served database).
KEYBOARD_PATIENT = 1
# Where the focus is, and whether it shows: the element matches :focus-visible and has
# an outline at least 2 px wide that is not transparent.
FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {what: "nothing", shown: false};
  const style = getComputedStyle(el);
  const what = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
             + " " + (el.innerText || el.value || "").trim().slice(0, 40);
  const shown = el.matches(":focus-visible") && style.outlineStyle !== "none"
              && parseFloat(style.outlineWidth) >= 2 && style.outlineColor !== "rgba(0, 0, 0, 0)";
  return {what, shown};
}"""


def focused(target: Locator) -> bool:
    return bool(target.evaluate("el => el === document.activeElement"))


def tab_to(page: Page, target: Locator, *, backwards: bool = False) -> None:
    """Press Tab (Shift+Tab) until ``target`` has the focus, checking at every stop that
    the focus is visible."""
    expect(target).to_be_visible()
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        focus = page.evaluate(FOCUS)
        assert focus["shown"], f"the focus on {focus['what']!r} is not visible ({page.url})"
        if focused(target):
            return
    pytest.fail(f"{target} not reached in {MAX_TABS} presses of Tab on {page.url}")


def keyboard_sign_in(page: Page) -> None:
    """Sign in as the demo GP on the issuer's page, by keyboard."""
    user = demo_user(GP)
    page.goto("/")
    tab_to(page, page.locator("button.user-choice", has_text=user.name))
    page.keyboard.press("Enter")
    expect(page.locator(".who .user")).to_have_text(user.name)


def test_skip_link_leads_past_the_header(page: Page, live_server: LiveServer) -> None:
    patient = patients_of(live_server, GP_OFFICE)[0]
    keyboard_sign_in(page)
    page.goto(f"/patients/{patient['id']}")
    page.keyboard.press("Tab")  # the first stop on every page
    skip = page.locator("a.skip")
    assert focused(skip)
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0 and box["width"] > 0, "skip link not shown"
    assert page.evaluate(FOCUS)["shown"]
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    inside = page.evaluate("() => document.activeElement.closest('main') !== null")
    assert inside, f"Tab after the skip link went to {page.evaluate(FOCUS)['what']}"


def test_find_by_fodselsnummer_and_open_the_overview(
    page: Page, steps: Steps, live_server: LiveServer
) -> None:
    patient = patients_of(live_server, GP_OFFICE)[0]
    keyboard_sign_in(page)
    search = page.locator("#q")
    if not focused(search):  # the start page puts the focus in the search field
        tab_to(page, search)
    page.keyboard.type(fnr(patient))
    steps.press("Enter")
    expect(page.locator(".banner .fnr")).to_have_text(fnr(patient))
    assert steps.count <= 2, steps.log


def test_record_vital_signs(page: Page, steps: Steps, live_server: LiveServer) -> None:
    patient = patients_of(live_server, GP_OFFICE)[KEYBOARD_PATIENT]
    keyboard_sign_in(page)
    steps.goto(f"/patients/{patient['id']}")
    tab_to(page, page.get_by_role("link", name="Registrer vitale parametere"))
    steps.press("Enter")
    tab_to(page, page.locator("#v-systolic"))
    for value in ("132", "84", "76", "16", "97", "39,9", "81", "178"):
        page.keyboard.type(value)  # systolic ... height, in the form's order
        page.keyboard.press("Tab")
    # A slip in the temperature: back to it (its value is selected) and type it again.
    tab_to(page, page.locator("#v-temperature"), backwards=True)
    page.keyboard.type("37,1")
    tab_to(page, page.locator("#save-vitals"))
    steps.press("Enter")
    vitals = page.locator("#vitals")
    expect(vitals).to_contain_text("NEWS2")
    expect(vitals).to_contain_text(re.compile(r"37[,.]1 °C"))  # the corrected value
    expect(vitals.locator(".news2.low")).to_be_visible()  # all seven measured: score 0
    assert steps.count <= 4, steps.log


def test_add_a_diagnosis(page: Page, steps: Steps, live_server: LiveServer) -> None:
    patient = patients_of(live_server, GP_OFFICE)[KEYBOARD_PATIENT]
    keyboard_sign_in(page)
    steps.goto(f"/patients/{patient['id']}")
    r96 = page.get_by_text("R96", exact=True)
    before = r96.count()
    tab_to(page, page.get_by_role("link", name="Legg til diagnose"))
    steps.press("Enter")
    expect(page.locator("#dq")).to_be_focused()
    page.keyboard.type("astma", delay=30)  # the matches follow the typing
    match = page.locator("#diagnosis-matches button.match", has_text="R96")
    tab_to(page, match)
    steps.press("Enter")
    expect(page.locator(".banner")).to_be_visible()
    expect(r96).to_have_count(before + 1)
    assert steps.count <= 4, steps.log


def test_stop_a_medication_with_a_reason(page: Page, steps: Steps, live_server: LiveServer) -> None:
    patient, statement = active_medication(live_server, GP_OFFICE)
    name = statement["medicationCodeableConcept"]["text"]
    keyboard_sign_in(page)
    steps.goto(f"/patients/{patient['id']}")
    tab_to(page, page.get_by_role("link", name=f"Seponer: {name}"))
    steps.press("Enter")
    expect(page.locator("#reason")).to_be_focused()
    page.keyboard.type("Blodtrykket er normalisert")
    tab_to(page, page.locator("#confirm-stop"))
    steps.press("Space")
    expect(page.locator(".banner")).to_be_visible()
    expect(page.get_by_role("link", name=f"Seponer: {name}")).to_have_count(0)
    assert steps.count <= 3, steps.log
