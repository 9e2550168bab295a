"""The patient portal's pages (issue 7: server time p95 ≤ 200 ms for every page).

Run by ``python -m bench.population`` on its server and database (the demo population,
which ``demo seed`` gives the portal's demo family: ``fellesjournal.demo.portal``). Each
page is requested one after another by the demo citizen whose view it is: Kari for her
own record, Kari acting for her mother Ingrid (full fullmakt) and for her daughter Emma
(a parent), and Ola acting for Ingrid with read-only access. Client time on loopback
(server time plus one local round trip), as for the workspace's pages.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from bench.pages import WebSession, time_page
from bench.workspace import PageTime, table
from fellesjournal.demo.portal import INGRID, KARI, OLA

PAGE_BUDGET_MS = 200.0
EMMA_PATIENT = "portal-emma"

_HIDDEN = re.compile(r'name="([^"]+)" value="([^"]*)"')
_FORM = re.compile(r'<form method="post" action="/auth/idporten/authorize">(.*?)</form>', re.S)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_DOCUMENT = re.compile(r'href="(/portal/documents/[A-Za-z0-9.\-]+)"')
_RESULT = re.compile(r'href="(/portal/results/[A-Za-z0-9.\-]+)"')
_THREAD = re.compile(r'href="(/portal/messages/(?!new\b)[A-Za-z0-9.\-]+)"')

#: The reading pages every representation with the ``read`` capability has.
PAGES: tuple[tuple[str, str], ...] = (
    ("Start page", "/portal"),
    ("My record", "/portal/record"),
    ("Documents", "/portal/documents"),
    ("Results", "/portal/results"),
    ("Appointments", "/portal/appointments"),
    ("Referrals", "/portal/referrals"),
    ("Messages", "/portal/messages"),
    ("Download", "/portal/download"),
)


def sign_in(base_url: str, fnr: str) -> WebSession:
    """A portal session signed in as the demo citizen ``fnr`` through the built-in
    ID-porten stand-in (not yet acting for anyone when they represent others)."""
    web = WebSession(base_url)
    page = web.request("GET", "/portal/signin")
    form = _FORM.search(page.text)
    if form is None:
        raise RuntimeError(f"no citizen sign-in form ({page.status_code})")
    data = {k: html.unescape(v) for k, v in _HIDDEN.findall(form.group(1))}
    data["fnr"] = fnr
    landed = web.request("POST", "/auth/idporten/authorize", data)
    if landed.status_code != 200:
        raise RuntimeError(f"signing in {fnr} to the portal failed ({landed.status_code})")
    return web


def act_for(web: WebSession, patient_id: str) -> None:
    """Choose whom the session acts for."""
    page = web.request("GET", "/portal/acting-for")
    csrf = _CSRF.search(page.text)
    if csrf is None:
        raise RuntimeError("no CSRF token on the acting-for page")
    answer = web.request(
        "POST", "/portal/acting-for", {"csrf": csrf.group(1), "patient_id": patient_id}
    )
    if answer.status_code != 200:
        raise RuntimeError(f"acting for {patient_id} failed ({answer.status_code})")


def time_portal(
    base_url: str, requests: int, warmup: int, say: Callable[[str], None]
) -> list[PageTime]:
    """Every portal page, as the citizen or proxy whose view it is."""
    out: list[PageTime] = []

    def timed(web: WebSession, who: str, page: str, path: str) -> None:
        lat = time_page(web, path, requests, warmup, follow=False)
        say(f"portal {page} ({who}): {lat.summary()}")
        out.append(PageTime(page, who, lat, PAGE_BUDGET_MS))

    web = sign_in(base_url, KARI.fnr)
    assert KARI.patient is not None
    act_for(web, KARI.patient)
    who = "citizen (Kari)"
    for page, path in PAGES:
        timed(web, who, page, path)
    for page, path, link in (
        ("A document", "/portal/documents", _DOCUMENT),
        ("A result", "/portal/results", _RESULT),
        ("A message thread", "/portal/messages", _THREAD),
    ):
        found = link.search(web.request("GET", path).text)
        if found is not None:
            timed(web, who, page, found.group(1))
    timed(web, who, "Who has looked at my record", "/portal/access-log")
    timed(web, who, "Blocks", "/portal/blocks")
    timed(web, who, "New block", "/portal/blocks/new")
    timed(web, who, "Fullmakt", "/portal/proxies")
    timed(web, who, "New message", "/portal/messages/new")
    timed(web, who, "Choose whom to act for", "/portal/acting-for")

    assert INGRID.patient is not None
    act_for(web, INGRID.patient)
    timed(web, "Kari for Ingrid (full fullmakt)", "My record", "/portal/record")
    timed(web, "Kari for Ingrid (full fullmakt)", "Who has looked", "/portal/access-log")
    act_for(web, EMMA_PATIENT)
    timed(web, "Kari for Emma (parent, child under 12)", "My record", "/portal/record")

    web = sign_in(base_url, OLA.fnr)
    act_for(web, INGRID.patient)
    timed(web, "Ola for Ingrid (read-only)", "My record", "/portal/record")
    timed(web, "Ola for Ingrid (read-only)", "Results", "/portal/results")
    return out


def render(times: list[PageTime]) -> str:
    lines = [
        "Patient portal pages (issue 7), each requested one after another by the demo "
        "citizen or proxy whose view it is (`fellesjournal.demo.portal`), on the same "
        "server and database as the workspace pages. Client time on loopback.",
        "",
        *table(times, "Who"),
    ]
    return "\n".join(lines) + "\n"
