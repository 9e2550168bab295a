"""The patient portal in a real browser with the demo family and circle
(``fellesjournal.demo.portal``): a proxy at each fullmakt level acting for Ingrid, a
parent acting for a child under 12 and one of 14, a withheld document, a citizen who
must not see another citizen's data, and a fullmakt revoked while its holder is signed
in.

Everyone signs in on the built-in ID-porten's page by choosing themselves from its list
of demo citizens, as a person trying the demo does. The resources are pointed at by the
fixed ids of ``fellesjournal.demo.portal_records`` and ``portal_seed`` (named there for
the tests), not scraped from pages. What each level may do is the capability table of
docs/portal.md; the access layer enforces it, so the tests also open pages and send
forms that the menu does not offer.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from fellesjournal.demo.portal import EMMA, INGRID, JONAS, KARI, LARS, NINA, OLA, PER
from fellesjournal.demo.portal_records import MOHOLT_GP
from tests.browser.conftest import LiveServer, browser_page
from tests.browser.portal_demo import sign_in_as

# -- the demo's resources (demo/portal_records.py and demo/portal_seed.py) ---------------
INGRID_SENSITIVE = "portal-ingrid-sensitive"
INGRID_SENSITIVE_TEXT = "Alderspsykiatrisk vurdering"
INGRID_APPOINTMENT = "portal-ingrid-appointment-heart"
EMMA_FROM_PARENTS = "portal-emma-withheld-from-parents"
EMMA_FROM_PARENTS_TEXT = "Samtale med helsesykepleier"
KARI_FFL = "portal-kari-withheld-ffl"
KARI_FFL_TEXT = "Samtale med pårørende"
KARI_EPO = "portal-kari-withheld-epo"
KARI_EPO_TEXT = "gynekologisk poliklinikk"
KARI_DOCUMENT = "portal-kari-discharge"
KARI_RESULT = "portal-kari-result-automatic"
KARI_MESSAGE = "portal-kari-message"
KARI_APPOINTMENT = "portal-kari-appointment-gp"

# -- the portal's menu and headings in bokmål --------------------------------------------
MENU = "Portalmeny"
RECORD, DOCUMENTS, RESULTS = "Min journal", "Dokumenter", "Prøvesvar"
APPOINTMENTS, REFERRALS, MESSAGES = "Timeavtaler", "Henvisninger", "Meldinger"
ACCESS_LOG, BLOCKS, PROXIES, DOWNLOAD = "Hvem har sett", "Sperringer", "Fullmakt", "Last ned"
EVERY_ITEM = (
    "Start",
    RECORD,
    DOCUMENTS,
    RESULTS,
    APPOINTMENTS,
    REFERRALS,
    MESSAGES,
    ACCESS_LOG,
    BLOCKS,
    PROXIES,
    DOWNLOAD,
)
NOT_ALLOWED = "Ikke tillatt"
NOT_FOUND = "Ikke funnet"


@pytest.fixture
def second_page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """Another browser (own cookies): a second person at another computer."""
    with browser_page(browser, live_server) as opened:
        yield opened


def menu_items(page: Page) -> list[str]:
    """The names of the portal menu's links, in order."""
    links = page.get_by_role("navigation", name=MENU).get_by_role("link")
    return [text.strip() for text in links.all_inner_texts()]


def status_of(page: Page, path: str) -> int:
    response = page.goto(path)
    assert response is not None, path
    return response.status


def assert_refused(page: Page, path: str) -> None:
    """``path`` answers the 403 page (the representation does not cover it)."""
    assert status_of(page, path) == 403, path
    expect(page.locator("h1")).to_have_text(NOT_ALLOWED)


def assert_not_found(page: Page, path: str) -> None:
    """``path`` answers the 404 page: as if nothing were there."""
    assert status_of(page, path) == 404, path
    expect(page.locator("h1")).to_have_text(NOT_FOUND)


def csrf_of(page: Page) -> str:
    """The session's CSRF token, as every portal page carries it in its forms."""
    token = page.locator("form.language input[name=csrf]").get_attribute("value")
    assert token
    return token


def decoded_attachments(value: object) -> Iterator[str]:
    """The text of every base64 ``data`` (an Attachment's) anywhere in a FHIR JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "data" and isinstance(item, str):
                yield base64.b64decode(item).decode("utf-8", errors="replace")
            else:
                yield from decoded_attachments(item)
    elif isinstance(value, list):
        for item in value:
            yield from decoded_attachments(item)


# -- a proxy at each level, acting for Ingrid -----------------------------------------


def test_full_fullmakt_sees_and_does_what_ingrid_does(page: Page) -> None:
    sign_in_as(page, KARI, acting_for=INGRID)
    assert menu_items(page) == [item for item in EVERY_ITEM if item != PROXIES]

    page.get_by_role("navigation", name=MENU).get_by_role("link", name=RECORD).click()
    expect(page.locator("h1")).to_have_text(RECORD)
    expect(page.locator("main")).to_contain_text("Furosemid")

    page.goto("/portal/documents")
    page.locator(f"a[href='/portal/documents/{INGRID_SENSITIVE}']").click()
    expect(page.locator(".document-text")).to_contain_text(INGRID_SENSITIVE_TEXT)

    page.goto("/portal/results")
    expect(page.locator("main")).to_contain_text("Langtidsblodsukker")

    for path, heading in (("/portal/access-log", ACCESS_LOG), ("/portal/blocks", BLOCKS)):
        assert status_of(page, path) == 200, path
        expect(page.locator("h1")).to_contain_text(heading)
    # Granting fullmakt is Ingrid's own: not even a full fullmakt passes it on.
    assert_refused(page, "/portal/proxies")


def test_standard_fullmakt_reads_without_the_sensitive_and_writes_a_message(page: Page) -> None:
    sign_in_as(page, PER, acting_for=INGRID)
    items = menu_items(page)
    assert RECORD in items and MESSAGES in items and APPOINTMENTS in items
    assert ACCESS_LOG not in items and BLOCKS not in items and PROXIES not in items

    page.goto("/portal/record")
    expect(page.locator("h1")).to_have_text(RECORD)
    page.goto("/portal/documents")
    expect(page.locator("table.documents tbody tr").first).to_be_visible()
    expect(page.locator(f"a[href='/portal/documents/{INGRID_SENSITIVE}']")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text(INGRID_SENSITIVE_TEXT)
    assert_not_found(page, f"/portal/documents/{INGRID_SENSITIVE}")
    assert_refused(page, "/portal/access-log")
    assert_refused(page, "/portal/blocks")
    assert_refused(page, "/portal/blocks/new")

    page.goto("/portal/messages")
    page.get_by_role("link", name="Skriv en ny melding").click()
    # To her fastlege's office: a unit whose queue no other browser test looks at.
    page.locator(f"input[name=unit][value='Organization/{MOHOLT_GP}']").check()
    text = "Mor lurer på om kontrollen kan flyttes til en formiddag."
    page.locator("#text").fill(text)
    page.locator("#send-message").click()
    expect(page.locator("p.done[role=status]")).to_contain_text("Meldingen din er sendt")
    sent = page.locator("article.message.from-patient").last
    expect(sent).to_contain_text(text)
    expect(sent.locator(".message-head")).to_contain_text(f"{PER.name}, på vegne av {INGRID.name}")


def test_read_only_fullmakt_reads_and_changes_nothing(page: Page) -> None:
    # Ola has no record of his own and one representation: chosen for him at sign-in.
    sign_in_as(page, OLA, acting_for=INGRID)
    items = menu_items(page)
    assert RECORD in items and APPOINTMENTS in items
    assert MESSAGES not in items and ACCESS_LOG not in items and BLOCKS not in items

    page.goto("/portal/record")
    expect(page.locator("h1")).to_have_text(RECORD)
    page.goto("/portal/documents")
    expect(page.locator("table.documents tbody tr").first).to_be_visible()
    expect(page.locator("main")).not_to_contain_text(INGRID_SENSITIVE_TEXT)
    assert_not_found(page, f"/portal/documents/{INGRID_SENSITIVE}")

    page.goto("/portal/appointments")
    expect(page.locator("li.appointment").first).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Avbestill timen"))).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("Be om ny time"))).to_have_count(0)
    assert_refused(page, "/portal/messages")
    assert_refused(page, "/portal/messages/new")
    assert_refused(page, f"/portal/appointments/{INGRID_APPOINTMENT}/cancel")

    # Forms sent anyway, with the session's own CSRF token, are refused.
    token = csrf_of(page)
    for path, form in (
        (f"/portal/appointments/{INGRID_APPOINTMENT}/cancel", {"version": "1"}),
        (f"/portal/appointments/{INGRID_APPOINTMENT}/new-time", {"text": "Ny time, takk."}),
        ("/portal/messages/new", {"unit": "Organization/x", "text": "Hei"}),
        ("/portal/blocks/new", {"kind": "unit"}),
    ):
        answer = page.request.post(path, form={"csrf": token, **form}, max_redirects=0)
        assert answer.status == 403, (path, answer.status)
    page.goto("/portal/appointments")
    upcoming = page.locator("section[aria-labelledby=upcoming-heading] li.appointment")
    expect(upcoming.filter(has_text="Hjertepoliklinikk")).to_have_count(1)
    expect(page.locator("li.appointment.cancelled")).to_have_count(0)


def test_communicate_fullmakt_has_appointments_and_messages_only(page: Page) -> None:
    sign_in_as(page, NINA, acting_for=INGRID)
    assert menu_items(page) == ["Start", APPOINTMENTS, MESSAGES]
    expect(page.locator("#h-new")).to_have_count(0)  # nothing of the record on the start page
    for path in (
        "/portal/record",
        "/portal/documents",
        f"/portal/documents/{INGRID_SENSITIVE}",
        "/portal/results",
        "/portal/referrals",
        "/portal/access-log",
        "/portal/download",
        "/portal/download/summary.json",
    ):
        assert_refused(page, path)
    assert status_of(page, "/portal/appointments") == 200
    expect(page.locator("li.appointment").first).to_be_visible()
    assert status_of(page, "/portal/messages") == 200


# -- a parent -------------------------------------------------------------------------


def test_parent_of_a_child_under_12_reads_all_but_what_is_withheld_from_parents(
    page: Page,
) -> None:
    sign_in_as(page, KARI, acting_for=EMMA)
    page.goto("/portal/record")
    expect(page.locator("h1")).to_have_text(RECORD)
    expect(page.locator("main")).to_contain_text("Hydrokortison")
    page.goto("/portal/documents")
    expect(page.locator("table.documents tbody tr").first).to_be_visible()
    expect(page.locator(f"a[href='/portal/documents/{EMMA_FROM_PARENTS}']")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text(EMMA_FROM_PARENTS_TEXT)
    assert_not_found(page, f"/portal/documents/{EMMA_FROM_PARENTS}")
    page.goto("/portal")
    expect(page.locator("main")).not_to_contain_text(EMMA_FROM_PARENTS_TEXT)


def test_parent_of_a_child_of_14_sees_appointments_and_messages_only(page: Page) -> None:
    sign_in_as(page, KARI, acting_for=JONAS)
    assert menu_items(page) == ["Start", APPOINTMENTS, MESSAGES]
    assert_refused(page, "/portal/record")
    assert_refused(page, "/portal/documents")
    page.goto("/portal/appointments")
    expect(page.locator("main")).to_contain_text("Ortopedisk poliklinikk")


def test_the_child_of_14_cannot_sign_in_himself(page: Page) -> None:
    page.goto("/portal/signin")
    with page.expect_response(re.compile(r"/portal/signin/callback")) as callback:
        page.get_by_role("button", name=re.compile(re.escape(JONAS.name))).click()
    assert callback.value.status == 403
    expect(page.locator("h1")).to_have_text("Du kan ikke logge inn ennå")
    page.goto("/portal/appointments")
    expect(page.locator("#fnr")).to_be_visible()  # no session: back at sign-in


# -- a withheld document ----------------------------------------------------------------


def test_withheld_documents_are_not_shown_and_one_is_told_of(page: Page) -> None:
    sign_in_as(page, KARI)
    page.goto("/portal/documents")
    notices = page.locator("section.held-back li")
    expect(notices).to_have_count(1)  # the NORN_EPO one; NORN_FFL's existence is not told
    expect(notices).to_contain_text("Holdt tilbake etter ditt eget ønske.")
    expect(notices).to_contain_text("Poliklinisk notat")
    main = page.locator("main")
    for hidden in (KARI_FFL_TEXT, KARI_EPO_TEXT):
        expect(main).not_to_contain_text(hidden)
    for doc_id in (KARI_FFL, KARI_EPO):
        expect(page.locator(f"a[href*='{doc_id}']")).to_have_count(0)

    page.goto("/portal")
    for hidden in (KARI_FFL_TEXT, KARI_EPO_TEXT):
        expect(main).not_to_contain_text(hidden)
    expect(page.locator(f"a[href*='{KARI_FFL}'], a[href*='{KARI_EPO}']")).to_have_count(0)

    answer = page.request.get("/portal/download/summary.json")
    assert answer.status == 200
    data = answer.text()
    attachments = "\n".join(decoded_attachments(json.loads(data)))
    for hidden in (KARI_FFL, KARI_EPO, KARI_FFL_TEXT, KARI_EPO_TEXT, "NORN_FFL", "NORN_EPO"):
        assert hidden not in data, hidden
    for hidden in (KARI_FFL_TEXT, KARI_EPO_TEXT):
        assert hidden not in attachments, hidden

    assert_not_found(page, f"/portal/documents/{KARI_FFL}")
    expect(main).not_to_contain_text(KARI_FFL_TEXT)
    assert_not_found(page, f"/portal/documents/{KARI_EPO}")


# -- another citizen's data -----------------------------------------------------------


def test_a_citizen_never_sees_another_citizens_data(page: Page) -> None:
    sign_in_as(page, LARS)
    for path in (
        f"/portal/documents/{KARI_DOCUMENT}",
        f"/portal/documents/{KARI_FFL}",
        f"/portal/results/{KARI_RESULT}",
        f"/portal/messages/{KARI_MESSAGE}",
        f"/portal/appointments/{KARI_APPOINTMENT}/cancel",
        f"/portal/appointments/{KARI_APPOINTMENT}/new-time",
    ):
        assert_not_found(page, path)
        expect(page.locator("main")).not_to_contain_text("Kari")

    # Writing into Kari's record by her ids is refused the same way.
    token = csrf_of(page)
    for path, form in (
        (f"/portal/messages/{KARI_MESSAGE}", {"text": "Hei"}),
        (f"/portal/appointments/{KARI_APPOINTMENT}/cancel", {"version": "1"}),
    ):
        answer = page.request.post(path, form={"csrf": token, **form}, max_redirects=0)
        assert answer.status == 404, (path, answer.status)
        assert "Kari" not in answer.text()

    # Choosing Kari's record in the form is refused: Lars does not represent her.
    answer = page.request.post(
        "/portal/acting-for", form={"csrf": token, "patient_id": str(KARI.patient)}
    )
    assert answer.status == 403

    for path in (
        "/portal",
        "/portal/record",
        "/portal/documents",
        "/portal/results",
        "/portal/appointments",
        "/portal/referrals",
        "/portal/messages",
        "/portal/access-log",
        "/portal/blocks",
        "/portal/proxies",
    ):
        assert status_of(page, path) == 200, path
        expect(page.locator("body")).not_to_contain_text(KARI.name)
    answer = page.request.get("/portal/download/summary.json")
    assert answer.status == 200
    bundle = answer.text()
    for hidden in (KARI.name, KARI.fnr, str(KARI.patient)):
        assert hidden not in bundle, hidden


# -- revoked while in use -------------------------------------------------------------


def test_a_fullmakt_revoked_while_its_holder_is_signed_in(page: Page, second_page: Page) -> None:
    """Ingrid revokes the neighbour's read-only fullmakt while he is reading her record:
    his next page is the sign-in, and signing in again finds no record to act in. At the
    end she gives it to him again (the other tests of this server use it)."""
    sign_in_as(second_page, OLA, acting_for=INGRID)
    second_page.goto("/portal/record")
    expect(second_page.locator("h1")).to_have_text(RECORD)

    sign_in_as(page, INGRID)
    page.get_by_role("navigation", name=MENU).get_by_role("link", name=PROXIES).click()
    given = page.locator("table.given")
    expect(given).to_contain_text(OLA.name)
    page.get_by_role("link", name=f"Trekk tilbake for {OLA.name}").click()
    page.locator("#confirm-revoke").click()
    expect(page.locator("[role=status]")).to_contain_text("trukket tilbake")
    expect(page.get_by_role("link", name=f"Trekk tilbake for {OLA.name}")).to_have_count(0)
    # The others' fullmakter stand.
    for holder in (KARI, PER, NINA):
        expect(page.get_by_role("link", name=f"Trekk tilbake for {holder.name}")).to_have_count(1)

    # Ola's next page load, the same page as before: back at sign-in.
    second_page.reload()
    expect(second_page.locator("#fnr")).to_be_visible()
    expect(second_page.locator(".portal-who")).to_have_count(0)  # signed out
    # Signing in again: no record of his own and nobody he acts for.
    second_page.get_by_role("button", name=re.compile(re.escape(OLA.name))).click()
    expect(second_page.locator("h1")).to_have_text("Fant ingen helsejournal")
    expect(second_page.locator("main")).not_to_contain_text(INGRID.name)

    # Given again, as before this test.
    page.get_by_role("link", name="Gi fullmakt").click()
    page.locator("#proxy-fnr").fill(OLA.fnr)
    page.locator("#proxy-name").fill(OLA.name)
    page.locator("input[name=level][value=read-only]").check()
    page.locator("#give-proxy").click()
    expect(page.get_by_role("link", name=f"Trekk tilbake for {OLA.name}")).to_have_count(1)
