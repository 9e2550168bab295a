"""The patient portal in a real browser: sign-in through the built-in ID-porten, my
record, documents, results, fullmakt given, used and revoked, the age limit, another
citizen's document, nynorsk and a phone's screen."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from fellesjournal.demo.portal import DEMO_CITIZENS, JONAS
from tests.browser.conftest import LiveServer, browser_page
from tests.browser.portal_demo import Citizen, citizens, portal_sign_in


@pytest.fixture(scope="module")
def pair(live_server: LiveServer) -> tuple[Citizen, Citizen]:
    return citizens(live_server)


@pytest.fixture
def second_page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """Another browser (own cookies): a second person at another computer."""
    with browser_page(browser, live_server) as opened:
        yield opened


def test_the_demo_sign_in_lists_the_demo_citizens(page: Page) -> None:
    page.goto("/portal/signin")
    expect(page.locator("h1")).to_have_text("Logg inn")
    for citizen in DEMO_CITIZENS:
        expect(page.get_by_role("button", name=re.compile(re.escape(citizen.name)))).to_be_visible()


def test_under_16_cannot_sign_in(page: Page) -> None:
    page.goto("/portal/signin")
    page.get_by_role("button", name=re.compile(re.escape(JONAS.name))).click()
    expect(page.locator("h1")).to_have_text("Du kan ikke logge inn ennå")
    page.goto("/portal/record")
    expect(page.locator("#fnr")).to_be_visible()  # back at sign-in


def test_sign_in_and_read_the_record(page: Page, pair: tuple[Citizen, Citizen]) -> None:
    rich, _other = pair
    portal_sign_in(page, rich.fnr)
    expect(page.locator(".portal-who")).to_contain_text(rich.name)
    nav = page.get_by_role("navigation", name="Portalmeny")
    nav.get_by_role("link", name="Min journal").click()
    expect(page.locator("h1")).to_have_text("Min journal")
    expect(page.locator("#h-contacts")).to_be_visible()
    expect(page.locator("table.contacts tbody tr").first).to_be_visible()


def test_documents_and_results(page: Page, pair: tuple[Citizen, Citizen]) -> None:
    rich, _other = pair
    portal_sign_in(page, rich.fnr)
    nav = page.get_by_role("navigation", name="Portalmeny")
    nav.get_by_role("link", name="Dokumenter").click()
    page.locator(f"a[href='/portal/documents/{rich.document_id}']").click()
    expect(page.locator(".document-text")).not_to_be_empty()
    nav.get_by_role("link", name="Prøvesvar").click()
    page.locator(f"a[href='/portal/results/{rich.report_id}']").click()
    expect(page.locator("table.values tbody tr").first).to_be_visible()
    expect(page.locator("table.values")).to_contain_text("Normalområde")


def test_another_citizens_document_is_not_found(page: Page, pair: tuple[Citizen, Citizen]) -> None:
    rich, other = pair
    portal_sign_in(page, other.fnr)
    response = page.goto(f"/portal/documents/{rich.document_id}")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Ikke funnet")
    response = page.goto(f"/portal/results/{rich.report_id}")
    assert response is not None and response.status == 404


def test_fullmakt_given_used_and_revoked(
    page: Page, second_page: Page, pair: tuple[Citizen, Citizen]
) -> None:
    rich, other = pair
    portal_sign_in(page, rich.fnr)
    page.get_by_role("navigation", name="Portalmeny").get_by_role("link", name="Fullmakt").click()
    page.get_by_role("link", name="Gi fullmakt").click()
    page.locator("#proxy-fnr").fill(other.fnr)
    page.locator("#proxy-name").fill(other.name)
    page.locator("input[name=level][value=read-only]").check()
    page.locator("#give-proxy").click()
    expect(page.locator("table.given")).to_contain_text(other.name)

    # The proxy signs in, chooses the record and reads it; changes are not offered.
    portal_sign_in(second_page, other.fnr)
    expect(second_page.locator("h1")).to_have_text("Hvem sin journal?")
    second_page.get_by_role("button", name=re.compile(re.escape(rich.name))).click()
    expect(second_page.locator(".portal-who .acting")).to_contain_text(rich.name)
    nav = second_page.get_by_role("navigation", name="Portalmeny")
    expect(nav.get_by_role("link", name="Meldinger")).to_have_count(0)
    nav.get_by_role("link", name="Min journal").click()
    expect(second_page.locator("h1")).to_have_text("Min journal")

    # Revoked after confirming: the proxy's next click ends their session.
    page.get_by_role("link", name=f"Trekk tilbake for {other.name}").click()
    page.locator("#confirm-revoke").click()
    expect(page.locator("[role=status]")).to_contain_text("trukket tilbake")
    nav.get_by_role("link", name="Dokumenter").click()
    expect(second_page.locator("#fnr")).to_be_visible()  # asked to sign in again


def test_nynorsk(page: Page, pair: tuple[Citizen, Citizen]) -> None:
    portal_sign_in(page, pair[0].fnr)
    page.get_by_role("button", name="Nynorsk").click()
    expect(page.locator("html")).to_have_attribute("lang", "nn")
    expect(page.get_by_role("navigation", name="Portalmeny")).to_contain_text("Tilvisingar")


def test_fits_a_phone(page: Page, pair: tuple[Citizen, Citizen]) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    portal_sign_in(page, pair[0].fnr)
    for path in ("/portal", "/portal/record", "/portal/results", "/portal/documents"):
        page.goto(path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} is {overflow}px wider than the phone"
