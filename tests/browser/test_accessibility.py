"""Every page of the clinician's workspace passes axe-core with no serious or critical
violation of WCAG 2.1 A and AA.

axe-core comes from npm, pinned in ``package-lock.json`` and installed into
``node_modules/`` by ``make test`` (``npm ci``). The application never serves it: the
test answers a made-up same-origin URL with the file (``page.route``) and adds it as a
script, so the page's Content-Security-Policy stays as strict as in production.

:data:`PAGES` is the list of pages checked: a name, the demo user who sees it (None: no
one is signed in) and how to get there. A new page is one more row.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from fellesjournal.access.consents import block_consent
from fellesjournal.demo.portal import INGRID, KARI, NINA, OLA, DemoCitizen
from fellesjournal.demo.portal_seed import MESSAGE as KARI_MESSAGE
from tests.browser.conftest import LiveServer
from tests.browser.demo import (
    GP,
    GP_OFFICE,
    HOME_NURSE,
    OTHER_OFFICE,
    PRIVACY_OFFICER,
    WARD_DOCTOR,
    WARD_NURSE,
    active_medication,
    demo_user,
    fhir_search,
    fnr,
    patients_of,
    richest_patient,
    sign_in,
)
from tests.browser.portal_demo import Citizen, citizens, portal_sign_in, sign_in_as

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_URL = "/__test__/axe.min.js"  # answered by the test's route, never by the server
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = ("serious", "critical")


@dataclass(frozen=True)
class Demo:
    """The demo records the pages are shown with (looked up once per session)."""

    live_server: LiveServer
    rich: dict[str, Any]  #: a GP-office patient with problems, medication, vitals, labs
    medication: tuple[dict[str, Any], dict[str, Any]]  #: (patient, active statement)
    stranger: dict[str, Any]  #: a patient the GP has no care relation with

    @property
    def overview(self) -> str:
        return f"/patients/{self.rich['id']}"

    @functools.cached_property
    def citizens(self) -> tuple[Citizen, Citizen]:
        """(a citizen with released documents and results, another) for the portal."""
        return citizens(self.live_server)

    @property
    def stop_form(self) -> str:
        patient, statement = self.medication
        return f"/patients/{patient['id']}/medications/{statement['id']}/stop"


@dataclass(frozen=True)
class Visit:
    """A page to check: its name, who is signed in (None: no one), how to get there."""

    name: str
    user: tuple[str, str] | None
    go: Callable[[Page, Demo], object]


def _open(path: Callable[[Demo], str] | str) -> Callable[[Page, Demo], object]:
    return lambda page, demo: page.goto(path if isinstance(path, str) else path(demo))


def _type_ahead(page: Page, demo: Demo) -> None:
    page.goto("/")
    page.locator("#q").press_sequentially(demo.rich["name"][0]["family"][:4], delay=30)
    expect(page.locator("#suggestions a").first).to_be_visible()


def _vitals_refused(page: Page, demo: Demo) -> None:
    page.goto(f"{demo.overview}/vitals")
    page.locator("#v-pulse").fill("many")
    page.locator("#v-temperature").fill("99")
    page.locator("#save-vitals").click()
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()


def _stop_refused(page: Page, demo: Demo) -> None:
    page.goto(demo.stop_form)
    page.locator("#reason").fill("   ")  # passes `required`; the server wants words
    page.locator("#confirm-stop").click()
    expect(page.locator(".error")).to_be_visible()


def _nynorsk_overview(page: Page, demo: Demo) -> None:
    page.goto(demo.overview)
    page.get_by_role("button", name="Nynorsk").click()
    expect(page.locator("html")).to_have_attribute("lang", "nn")


def _review_queue(page: Page, demo: Demo) -> None:
    # Something to review: the GP opens a record without a care relation (denied, logged).
    gp = demo_user(GP)
    token = demo.live_server.run_cli("token", "--practitioner", gp.hpr, "--role", gp.role_id)
    httpx.get(
        f"{demo.live_server.base_url}/fhir/Patient/{demo.stranger['id']}",
        headers={"Authorization": f"Bearer {token.strip()}"},
    )
    page.goto("/review?all=1")
    expect(page.locator("table.review")).to_be_visible()


def _note_page(page: Page, demo: Demo) -> None:
    page.goto(demo.overview)
    page.locator("table.timeline a[href*='/notes/']").first.click()
    expect(page.locator("h1")).to_be_visible()


def _allergy_refused(page: Page, demo: Demo) -> None:
    page.goto(f"{demo.overview}/allergies")
    page.locator("#substance").fill("   ")  # passes `required`; the server wants words
    page.locator("#save-allergy").click()
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()


def _dose_form(page: Page, demo: Demo) -> None:
    patient, statement = demo.medication
    page.goto(f"/patients/{patient['id']}/medications/{statement['id']}/dose")


def _failed_delivery(page: Page, demo: Demo) -> None:
    page.goto("/queues?status=open&kind=delivery-failure")
    page.locator("table.queue a.failure").first.click()
    expect(page.locator("#close-reason")).to_be_visible()


def _close_refused(page: Page, demo: Demo) -> None:
    _failed_delivery(page, demo)
    page.locator("#close-reason").fill("   ")  # passes `required`; the server wants words
    page.locator("#close").click()
    expect(page.locator("#close-error")).to_be_visible()


def _signed_out(page: Page, demo: Demo) -> None:
    page.goto("/")
    page.locator(".who button[type=submit]").click()
    expect(page.locator("h1")).to_be_visible()


def _portal(path: Callable[[Citizen], str] | str) -> Callable[[Page, Demo], object]:
    """Sign in to the portal as the citizen with documents and results, then open ``path``."""

    def go(page: Page, demo: Demo) -> object:
        citizen = demo.citizens[0]
        portal_sign_in(page, citizen.fnr)
        return page.goto(path if isinstance(path, str) else path(citizen))

    return go


def _portal_under_16(page: Page, demo: Demo) -> None:
    page.goto("/portal/signin")
    page.locator("ul.citizens button").last.click()  # Jonas (14)
    expect(page.locator("h1")).to_be_visible()


def _portal_grant_refused(page: Page, demo: Demo) -> None:
    _portal("/portal/proxies/new")(page, demo)
    page.locator("#give-proxy").click()  # nothing filled in: the server says what is missing
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()


def _portal_nynorsk(page: Page, demo: Demo) -> None:
    _portal("/portal/record")(page, demo)
    page.get_by_role("button", name=re.compile("Nynorsk")).click()
    expect(page.locator("html")).to_have_attribute("lang", "nn")


def _portal_signed_out(page: Page, demo: Demo) -> None:
    _portal("/portal")(page, demo)
    page.locator(".portal-who button[type=submit]").click()
    expect(page.locator("h1")).to_be_visible()


PORTAL_PAGES: list[Visit] = [
    Visit("portal: ID-porten sign-in page", None, _open("/portal/signin")),
    Visit("portal: under 16 refused", None, _portal_under_16),
    Visit("portal: start page", None, _portal("/portal")),
    Visit("portal: whose record", None, _portal("/portal/acting-for")),
    Visit("portal: my record", None, _portal("/portal/record")),
    Visit("portal: my record in nynorsk", None, _portal_nynorsk),
    Visit("portal: documents", None, _portal("/portal/documents")),
    Visit("portal: a document", None, _portal(lambda c: f"/portal/documents/{c.document_id}")),
    Visit("portal: results", None, _portal("/portal/results")),
    Visit("portal: a result", None, _portal(lambda c: f"/portal/results/{c.report_id}")),
    Visit("portal: power of attorney", None, _portal("/portal/proxies")),
    Visit("portal: give power of attorney", None, _portal("/portal/proxies/new")),
    Visit("portal: give power of attorney, refused", None, _portal_grant_refused),
    Visit("portal: download", None, _portal("/portal/download")),
    Visit("portal: not found", None, _portal("/portal/documents/nothing-here")),
    Visit("portal: signed out", None, _portal_signed_out),
]


PAGES: list[Visit] = [
    Visit("issuer sign-in page", None, _open("/signin")),
    Visit("sign-in failed", None, _open("/signin/callback?state=forged&code=forged")),
    Visit("work context choice", GP, _open("/context")),
    Visit("start page, GP office", GP, _open("/")),
    Visit("start page, ward (doctor)", WARD_DOCTOR, _open("/")),
    Visit("start page, ward (nurse)", WARD_NURSE, _open("/")),
    Visit("start page, home care", HOME_NURSE, _open("/")),
    Visit("start page, privacy officer", PRIVACY_OFFICER, _open("/")),
    Visit("search results", GP, _open(lambda d: f"/patients?q={d.rich['name'][0]['family']}")),
    Visit("search, type-ahead open", GP, _type_ahead),
    Visit("search by number, no match", GP, _open(lambda d: f"/patients?q={fnr(d.stranger)}")),
    Visit("overview", GP, _open(lambda d: d.overview)),
    Visit("overview in nynorsk", GP, _nynorsk_overview),
    Visit("why can I see this", GP, _open(lambda d: f"{d.overview}/access")),
    Visit("vital signs form", GP, _open(lambda d: f"{d.overview}/vitals")),
    Visit("vital signs form, values refused", GP, _vitals_refused),
    Visit("diagnosis form with matches", GP, _open(lambda d: f"{d.overview}/diagnoses?q=astma")),
    Visit("stop medication form", GP, _open(lambda d: d.stop_form)),
    Visit("stop medication, reason missing", GP, _stop_refused),
    Visit(
        "new note (daily note)", GP, _open(lambda d: f"{d.overview}/notes/new?template=progress")
    ),
    Visit(
        "new note (discharge summary)",
        GP,
        _open(lambda d: f"{d.overview}/notes/new?template=discharge"),
    ),
    Visit("a note", GP, _note_page),
    Visit("allergy form", GP, _open(lambda d: f"{d.overview}/allergies")),
    Visit("allergy form, substance missing", GP, _allergy_refused),
    Visit("critical information form", GP, _open(lambda d: f"{d.overview}/critical-information")),
    Visit("start a medication", GP, _open(lambda d: f"{d.overview}/medications/new")),
    Visit("change a dose", GP, _dose_form),
    Visit("no access: break the glass", GP, _open(lambda d: f"/patients/{d.stranger['id']}")),
    Visit("review queue", PRIVACY_OFFICER, _review_queue),
    Visit("work queue (ward)", WARD_NURSE, _open("/queues")),
    Visit("work queue, escalated (home care)", HOME_NURSE, _open("/queues?status=escalated")),
    Visit("work queue, closed recently", WARD_NURSE, _open("/queues?status=closed")),
    Visit("work item: failed delivery", WARD_NURSE, _failed_delivery),
    Visit("work item, close without a reason", WARD_NURSE, _close_refused),
    Visit("queue dashboard", WARD_NURSE, _open("/queues/dashboard")),
    Visit("signed out", GP, _signed_out),
    Visit("bad request", GP, _open("/patients?q=%00")),
    Visit("forbidden", GP, _open("/review")),
    *PORTAL_PAGES,
]


# -- the portal's acting pages: appointments, referrals, messages, who has looked, blocks --
# Kari of the portal demo (fellesjournal.demo.portal) has them all, emergency access too.


def _kari(path: str) -> Callable[[Page, Demo], object]:
    """Sign in to the portal as Kari, in her own record, then open ``path``."""

    def go(page: Page, demo: Demo) -> object:
        portal_sign_in(page, KARI.fnr)
        if page.url.endswith("/portal/acting-for"):  # she acts for others too
            page.get_by_role("button", name=re.compile(re.escape(KARI.name))).click()
        return page.goto(path)

    return go


def _kari_new_time_refused(page: Page, demo: Demo) -> None:
    _kari(f"/portal/appointments/{KARI_HEART_APPOINTMENT}/new-time")(page, demo)
    page.locator("#text").fill("   ")  # passes `required`; the server wants words
    page.locator("#send-new-time").click()
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()


def _kari_block_confirmation(page: Page, demo: Demo) -> None:
    _kari("/portal/blocks/new?kind=unit")(page, demo)
    page.locator("input[name=target]").first.check()
    page.locator("#review-block").click()
    expect(page.locator(".consequences")).to_be_visible()


def _lift_a_block(page: Page, demo: Demo) -> None:
    """A block (of a unit far from them) on the record of the citizen with documents,
    written through the API, then its lift page."""
    citizen = demo.citizens[0]
    token = demo.live_server.run_cli("token", "--system").strip()
    made = httpx.post(
        f"{demo.live_server.base_url}/fhir/Consent",
        json=block_consent(
            citizen.patient_id,
            "Organization/hmr-volda-medisin",
            performer=f"Patient/{citizen.patient_id}",
        ),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
    )
    assert made.status_code == 201, made.text
    portal_sign_in(page, citizen.fnr)
    page.goto(f"/portal/blocks/{made.json()['id']}/lift")
    expect(page.locator("#confirm-lift")).to_be_visible()


def _answer_the_patient(page: Page, demo: Demo) -> None:
    """The GP office's open work item for a message from Kari, with the answer form.
    (The demo's own thread is answered and closed: Kari writes again, through the API,
    and the outbox delivers it.)"""
    server = demo.live_server
    token = server.run_cli("token", "--patient", KARI.fnr).strip()
    message = {
        "resourceType": "Communication",
        "status": "in-progress",
        "category": [
            {
                "coding": [
                    {
                        "system": "https://fellesjournal.no/fhir/CodeSystem/message-kind",
                        "code": "pasientmelding",
                    }
                ]
            }
        ],
        "subject": {"reference": f"Patient/{KARI.patient}"},
        "sender": {"reference": f"Patient/{KARI.patient}"},
        "recipient": [{"reference": GP_OFFICE}],
        "payload": [{"contentString": "Kan jeg få time til en samtale?"}],
    }
    sent = httpx.post(
        f"{server.base_url}/fhir/Communication",
        json=message,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert sent.status_code == 201, sent.text
    server.run_cli("outbox", "run", "--once")
    items = fhir_search(
        server,
        "Task",
        {"focus": f"Communication/{sent.json()['id']}"},
    )
    assert items, "Kari's message became no work item in the GP office's queue"
    page.goto(f"/queues/items/{items[0]['id']}")
    expect(page.locator("#reply-text")).to_be_visible()


KARI_HEART_APPOINTMENT = "portal-kari-appointment-heart"
ACTING_PAGES: list[Visit] = [
    Visit("portal: appointments", None, _kari("/portal/appointments")),
    Visit(
        "portal: cancel an appointment",
        None,
        _kari(f"/portal/appointments/{KARI_HEART_APPOINTMENT}/cancel"),
    ),
    Visit(
        "portal: ask for a new time",
        None,
        _kari(f"/portal/appointments/{KARI_HEART_APPOINTMENT}/new-time"),
    ),
    Visit("portal: ask for a new time, text missing", None, _kari_new_time_refused),
    Visit("portal: referrals", None, _kari("/portal/referrals")),
    Visit("portal: messages", None, _kari("/portal/messages")),
    Visit("portal: a message thread", None, _kari(f"/portal/messages/{KARI_MESSAGE}")),
    Visit("portal: new message", None, _kari("/portal/messages/new")),
    Visit("portal: who has looked (emergency access)", None, _kari("/portal/access-log")),
    Visit("portal: blocks", None, _kari("/portal/blocks")),
    Visit("portal: new block, a health worker", None, _kari("/portal/blocks/new?q=a")),
    Visit("portal: new block, a unit", None, _kari("/portal/blocks/new?kind=unit")),
    Visit("portal: block, the consequences", None, _kari_block_confirmation),
    Visit("portal: lift a block", None, _lift_a_block),
    Visit("work item: answer the patient", GP, _answer_the_patient),
]
PAGES.extend(ACTING_PAGES)


# -- the portal as a proxy, and a document held back (tests/browser/test_portal_proxies.py) --


def _portal_as(
    who: DemoCitizen, path: str, acting_for: DemoCitizen | None = None
) -> Callable[[Page, Demo], object]:
    """Sign in to the portal as a demo citizen acting for ``acting_for``, open ``path``."""

    def go(page: Page, demo: Demo) -> object:
        sign_in_as(page, who, acting_for)
        return page.goto(path)

    return go


PAGES.extend(
    [
        Visit(
            "portal: whose record, with children and a fullmakt",
            None,
            _portal_as(KARI, "/portal/acting-for"),
        ),
        Visit(
            "portal: acting for another (read-only fullmakt)",
            None,
            _portal_as(OLA, "/portal", INGRID),
        ),
        Visit(
            "portal: not covered by the fullmakt", None, _portal_as(NINA, "/portal/record", INGRID)
        ),
        Visit("portal: documents, one held back", None, _portal_as(KARI, "/portal/documents")),
    ]
)


@pytest.fixture(scope="session")
def demo(live_server: LiveServer) -> Demo:
    return Demo(
        live_server=live_server,
        rich=richest_patient(live_server, GP_OFFICE),
        medication=active_medication(live_server, GP_OFFICE),
        stranger=patients_of(live_server, OTHER_OFFICE)[0],
    )


@pytest.fixture(scope="session")
def signed_in(browser: Browser, live_server: LiveServer) -> Iterator[Callable[[Page, Any], None]]:
    """``signed_in(page, who)`` gives ``page`` the session of the demo user ``who``; each
    user signs in through the issuer once per session (the session is a signed cookie,
    so a copy of it in another browser context is the same session)."""
    cookies: dict[tuple[str, str], Any] = {}
    contexts: list[BrowserContext] = []

    def give(page: Page, who: tuple[str, str]) -> None:
        if who not in cookies:
            context = browser.new_context(base_url=live_server.base_url, locale="nb-NO")
            contexts.append(context)
            sign_in(context.new_page(), who)
            cookies[who] = context.cookies()
        page.context.add_cookies(cookies[who])

    yield give
    for context in contexts:
        context.close()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical WCAG 2.1 A/AA violations axe-core finds on ``page``."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` in the repository (make test does)")
    page.add_script_tag(url=AXE_URL)
    results = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: "tag", values: tags},
                                      resultTypes: ["violations"]})""",
        AXE_TAGS,
    )
    return [v for v in results["violations"] if v["impact"] in FAILING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(f"    at {', '.join(map(str, n['target']))}" for n in v["nodes"])
        for v in violations
    )


def test_the_check_finds_what_it_should(page: Page) -> None:
    """A page with an unnamed image and an unlabelled field fails the check."""
    broken = (
        '<!doctype html><html lang="nb"><title>Feil</title><main><h1>Feil</h1>'
        '<img src="/static/none.png"><input name="x"></main></html>'
    )
    page.route(
        "**/__test__/broken.html", lambda r: r.fulfill(body=broken, content_type="text/html")
    )
    page.route(f"**{AXE_URL}", lambda route: route.fulfill(path=AXE))
    page.goto("/__test__/broken.html")
    assert {v["id"] for v in axe_violations(page)} >= {"image-alt", "label"}


@pytest.mark.parametrize("visit", PAGES, ids=[v.name for v in PAGES])
def test_no_serious_accessibility_violation(
    page: Page, demo: Demo, signed_in: Callable[[Page, Any], None], visit: Visit
) -> None:
    page.route(f"**{AXE_URL}", lambda route: route.fulfill(path=AXE))
    if visit.user is not None:
        signed_in(page, visit.user)
    visit.go(page, demo)
    violations = axe_violations(page)
    assert not violations, f"{visit.name} ({page.url}):\n{describe(violations)}"
