"""Allergies, critical information, starting a medication and changing a dose in
Chromium, with steps counted (``tests/browser/steps.py``) and, for the paracetamol that
took Helseplattformen's users 36 keystrokes, the keystrokes too."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.demo import GP_OFFICE, fhir_search, sign_in
from tests.browser.steps import Steps

#: Helseplattformen: 36 keystrokes to record one paracetamol (domain.md §2).
HELSEPLATTFORMEN_KEYSTROKES = 36


def _patients(live_server: LiveServer) -> list[dict[str, Any]]:
    """The GP office's patients in id order."""
    params = {"general-practitioner": GP_OFFICE, "_count": "50", "_sort": "_id"}
    patients = fhir_search(live_server, "Patient", params)
    assert patients, "the demo population has no patient at the GP office"
    return patients


def _without_active(live_server: LiveServer, text: str) -> dict[str, Any]:
    """A patient of the GP office with no active medication named ``text``."""
    for patient in reversed(_patients(live_server)):
        params = {"subject": f"Patient/{patient['id']}", "status": "active"}
        names = [
            s["medicationCodeableConcept"].get("text", "")
            for s in fhir_search(live_server, "MedicationStatement", params)
        ]
        if text not in names:
            return patient
    raise AssertionError(f"every patient at the office uses {text}")


class Keystrokes:
    """Typing key by key (``press_sequentially``), counting the keys."""

    def __init__(self) -> None:
        self.count = 0

    def type(self, target: Locator, text: str) -> None:
        target.press_sequentially(text, delay=20)
        self.count += len(text)


def test_add_a_critical_allergy_and_see_it_in_the_banner(
    page: Page, steps: Steps, live_server: LiveServer, csp_violations: list[str]
) -> None:
    patient = _patients(live_server)[-1]
    sign_in(page)
    page.goto(f"/patients/{patient['id']}")
    steps.click(page.get_by_role("link", name="Legg til allergi"))
    steps.fill("#substance", "Peanøtter")
    steps.click(page.get_by_label("Høy (livstruende)"))
    steps.fill("#manifestation", "Anafylaksi")
    steps.click("#critical")
    steps.click("#save-allergy")
    banner = page.locator(".banner")
    expect(banner).to_contain_text("Allergi: Peanøtter (høy risiko)")
    expect(banner).to_contain_text("Kritisk informasjon: Anafylaksi ved Peanøtter")
    assert steps.count <= 4, steps.log
    assert csp_violations == []


def test_add_critical_information(
    page: Page, steps: Steps, live_server: LiveServer, csp_violations: list[str]
) -> None:
    patient = _patients(live_server)[-1]
    sign_in(page)
    page.goto(f"/patients/{patient['id']}")
    steps.click(page.get_by_role("link", name="Legg til kritisk informasjon"))
    steps.click(page.get_by_role("radio", name=re.compile("Komplikasjoner ved anestesi")))
    steps.fill("#ci-text", "Vanskelig intubasjon (Cormack-Lehane grad 4)")
    steps.click("#save-critical")
    expect(page.locator(".banner")).to_contain_text(
        "Kritisk informasjon: Vanskelig intubasjon (Cormack-Lehane grad 4)"
    )
    assert steps.count <= 3, steps.log
    assert csp_violations == []


def test_start_paracetamol_in_few_steps_and_keystrokes_then_change_the_dose(
    page: Page, steps: Steps, live_server: LiveServer, csp_violations: list[str]
) -> None:
    patient = _without_active(live_server, "Paracetamol 500 mg tablett")
    sign_in(page)
    page.goto(f"/patients/{patient['id']}")
    keys = Keystrokes()
    steps.click(page.get_by_role("link", name="Start legemiddel"))
    keys.type(page.locator("#medication"), "para")  # the list follows the typing
    pick = page.locator("#medication-picks a", has_text="Paracetamol 500 mg tablett")
    expect(pick).to_be_visible()
    expect(page.locator("#medication-picks a", has_text="Metformin")).to_be_hidden()
    steps.click(pick)  # fills the medication and its usual dosage
    expect(page.locator("#dose")).to_have_value("2")
    expect(page.locator("#per_day")).to_have_value("4")
    expect(page.locator("#reason")).to_be_focused()
    keys.type(page.locator("#reason"), "Smerter")
    steps.click("#save-medication")
    item = page.locator("li", has_text="Paracetamol 500 mg tablett")
    expect(item).to_contain_text("2 tabletter 4 ganger daglig")
    assert steps.count <= 4, steps.log
    assert keys.count <= 12 < HELSEPLATTFORMEN_KEYSTROKES, keys.count
    assert csp_violations == []

    change = Steps(page)
    change.click(page.get_by_role("link", name="Endre dose: Paracetamol 500 mg tablett"))
    expect(page.locator("#current-dosage")).to_have_text("2 tabletter 4 ganger daglig")
    change.fill("#dose", "1")
    change.fill("#reason", "Lav vekt, 50 kg")
    change.click("#save-dose")
    expect(page.locator("li", has_text="Paracetamol 500 mg tablett")).to_contain_text(
        "1 tablett 4 ganger daglig"
    )
    assert change.count <= 3, change.log
    assert csp_violations == []


def test_pick_a_medication_with_the_keyboard(page: Page, live_server: LiveServer) -> None:
    patient = _patients(live_server)[-2]
    sign_in(page)
    page.goto(f"/patients/{patient['id']}/medications/new")
    field = page.locator("#medication")
    expect(field).to_be_focused()
    field.press_sequentially("metf", delay=20)
    field.press("ArrowDown")
    expect(page.locator("#medication-picks a", has_text="Metformin 500 mg tablett")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#medication")).to_have_value("Metformin 500 mg tablett")
    expect(page.locator("#dose")).to_have_value("1")
