"""The browser chain works end to end: Chromium, driven by Playwright, talks to a served
Fellesjournal; the security headers reach it; and ``Steps`` counts as it documents."""

from __future__ import annotations

import json

from playwright.sync_api import Page

from tests.browser.conftest import LiveServer
from tests.browser.steps import Steps

FORM = """<!doctype html>
<html lang="nb"><body data-submitted="0">
<form id="vitals">
  <label>Puls <input id="pulse" name="pulse"></label>
  <label>Temperatur <input id="temperature" name="temperature"></label>
  <label>Målemetode
    <select id="method">
      <option value="oral">Oral</option><option value="rectal">Rektal</option>
    </select>
  </label>
  <button id="save">Lagre</button>
</form>
<button id="open">Vis forklaring</button>
<dialog id="why"><p>Du har en behandlingsrelasjon.</p></dialog>
<script>
  document.getElementById("vitals").addEventListener("submit", (event) => {
    event.preventDefault();
    document.body.dataset.submitted = Number(document.body.dataset.submitted) + 1;
  });
  document.getElementById("open").addEventListener("click", () => {
    document.getElementById("why").showModal();
  });
</script>
</body></html>
"""


def test_chromium_reads_the_capability_statement(page: Page, live_server: LiveServer) -> None:
    response = page.goto("/fhir/metadata")
    assert response is not None
    assert response.url == f"{live_server.base_url}/fhir/metadata"
    assert response.status == 200
    assert response.json()["resourceType"] == "CapabilityStatement"
    # What Chromium shows is the same document.
    shown = json.loads(page.locator("body").inner_text())
    assert shown["resourceType"] == "CapabilityStatement"


def test_the_root_carries_a_content_security_policy(page: Page) -> None:
    response = page.goto("/")
    assert response is not None
    assert response.ok
    policy = response.headers.get("content-security-policy", "")
    assert "default-src" in policy, response.headers


def test_steps_count_clicks_choices_and_submits_but_not_typing(steps: Steps) -> None:
    page = steps.page
    # On about:blank: a page of the server would forbid the inline script (its CSP).
    page.set_content(FORM)

    steps.fill("#pulse", "72")
    steps.fill("#temperature", "37,2")
    assert steps.count == 0
    steps.select("#method", "rectal")
    assert steps.count == 1
    steps.click("#save")
    assert steps.count == 2
    assert page.locator("body").get_attribute("data-submitted") == "1"
    assert page.input_value("#pulse") == "72"
    assert page.input_value("#method") == "rectal"

    steps.fill("#pulse", "80", enter=True)  # typed and submitted with Enter: one step
    assert steps.count == 3
    assert page.locator("body").get_attribute("data-submitted") == "2"

    steps.press("Tab")  # moving focus is not a step
    assert steps.count == 3
    steps.click(page.get_by_role("button", name="Vis forklaring"))
    assert page.locator("#why").is_visible()
    steps.press("Escape")  # dismissing the dialog is
    assert not page.locator("#why").is_visible()
    assert steps.count == 5
    assert steps.log[0] == "select 'rectal' in #method"

    steps.goto("/fhir/metadata")  # opening a URL starts a flow; it is not a step in it
    assert steps.count == 5
