"""Screenshots of the workspace's and the portal's main pages for the README: ``make screenshots``.

Serves the demo on a fresh SQLite database in a temporary folder (migrated and seeded
with the ``make run`` population, on 127.0.0.1 and a free port: the browser tests'
``serve``), signs in as demo health workers through the built-in issuer in Debian's
Chromium (Playwright), saves one PNG per page in ``docs/screenshots/`` and stops the
server by its PID. Run from the repository root with the venv's Python::

    .venv/bin/python -m tools.screenshots [--out docs/screenshots] [--patients 200]

Not part of ``make test``: the pictures change with every change of the pages, and are
looked at, not asserted.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, serve
from tests.browser.demo import (
    GP,
    GP_OFFICE,
    OTHER_OFFICE,
    PRIVACY_OFFICER,
    WARD_NURSE,
    fnr,
    patients_of,
    richest_patient,
    sign_in,
)
from tests.browser.portal_demo import sign_in_as

from fellesjournal.demo.portal import INGRID, KARI

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
VIEWPORT: ViewportSize = {"width": 1366, "height": 900}
PATIENTS = 200  # as `make run` seeds


@dataclass(frozen=True)
class Shot:
    """A picture: its file name, who is signed in (None: no one), how to get there."""

    file: str
    user: tuple[str, str] | None
    go: Callable[[Page, LiveServer], object]


def _type_ahead(page: Page, server: LiveServer) -> None:
    family = richest_patient(server, GP_OFFICE)["name"][0]["family"]
    page.goto("/")
    page.locator("#q").press_sequentially(family[:4], delay=60)
    expect(page.locator("#suggestions a").first).to_be_visible()


def _overview(page: Page, server: LiveServer) -> None:
    page.goto(f"/patients/{richest_patient(server, GP_OFFICE)['id']}")


def _vitals(page: Page, server: LiveServer) -> None:
    page.goto(f"/patients/{richest_patient(server, GP_OFFICE)['id']}/vitals")
    for field, value in {"#v-systolic": "132", "#v-diastolic": "84", "#v-pulse": "76"}.items():
        page.locator(field).fill(value)
    page.locator("#v-respiration").focus()


def _diagnosis(page: Page, server: LiveServer) -> None:
    page.goto(f"/patients/{richest_patient(server, GP_OFFICE)['id']}/diagnoses")
    page.locator("#dq").press_sequentially("astma", delay=60)
    expect(page.locator("#diagnosis-matches button.match").first).to_be_visible()


def _break_the_glass(browser: Browser, server: LiveServer) -> None:
    """Something for the review queue: the GP opens a stranger's record in an emergency."""
    context = browser.new_context(base_url=server.base_url, locale="nb-NO")
    page = context.new_page()
    sign_in(page, GP)
    page.goto(f"/patients?q={fnr(patients_of(server, OTHER_OFFICE)[0])}")
    page.locator("#bg-text").fill("Akutt innlagt, trenger legemiddelliste")
    page.locator(".break-glass button[type=submit]").click()
    expect(page.locator(".banner")).to_be_visible()
    context.close()


def _portal(path: str, acting_for: object = None) -> Callable[[Page, LiveServer], object]:
    """A portal page as Kari (acting for ``acting_for``: Ingrid, or herself)."""

    def go(page: Page, _server: LiveServer) -> None:
        sign_in_as(page, KARI, INGRID if acting_for is INGRID else None)
        page.goto(path)

    return go


SHOTS = [
    Shot("sign-in.png", None, lambda page, _: page.goto("/signin")),
    Shot("start-page-ward.png", WARD_NURSE, lambda page, _: page.goto("/")),
    Shot("search-type-ahead.png", GP, _type_ahead),
    Shot("patient-overview.png", GP, _overview),
    Shot("vital-signs.png", GP, _vitals),
    Shot("diagnosis.png", GP, _diagnosis),
    Shot("review-queue.png", PRIVACY_OFFICER, lambda page, _: page.goto("/review")),
    Shot("portal-start.png", None, _portal("/portal")),
    Shot("portal-access-log.png", None, _portal("/portal/access-log")),
    Shot("portal-results.png", None, _portal("/portal/results")),
    Shot("portal-proxy-record.png", None, _portal("/portal/record", INGRID)),
]


def take(browser: Browser, server: LiveServer, out: Path) -> None:
    _break_the_glass(browser, server)
    for shot in SHOTS:
        context = browser.new_context(
            base_url=server.base_url,
            locale="nb-NO",
            timezone_id="Europe/Oslo",
            viewport=VIEWPORT,
        )
        page = context.new_page()
        if shot.user is not None:
            sign_in(page, shot.user)
        shot.go(page, server)
        page.screenshot(path=out / shot.file)
        print(f"{out / shot.file}: {(out / shot.file).stat().st_size // 1024} KB")
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs")
    parser.add_argument("--patients", type=int, default=PATIENTS, help="demo population")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fj-screenshots-") as folder:
        tmp = Path(folder)
        database = f"sqlite:///{tmp / 'demo.db'}"
        with serve(tmp, database, args.patients) as server, sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                take(browser, server, args.out)
            finally:
                browser.close()


if __name__ == "__main__":
    main()
