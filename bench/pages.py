"""The workspace's pages in ``make bench``: a signed-in health worker's page times.

The bench database holds Synthea patients, who have no care relation with anyone in the
region; so the bench seeds the region's staff (``fellesjournal org seed``), signs in as
the demo emergency doctor through the built-in issuer (the same code flow a browser
goes through), breaks the glass for the largest patient, and then times the overview
page of that patient with sequential requests. The time is measured at the client on
loopback: server time plus one local round trip.

The session cookie is kept by hand: it is ``Secure``, which httpx's cookie jar will not
send over plain http, and the server runs on plain http on 127.0.0.1 here.
"""

from __future__ import annotations

import html
import re
import time

import httpx

from bench.scenarios import Latencies

EMERGENCY_DOCTOR = "990000002"  # web/demo_users.py: akuttmottaket, St. Olavs
_COOKIE = re.compile(r"fj_session=([^;]+)")


class WebSession:
    """A browser's session with the workspace: one cookie, followed redirects."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=60, follow_redirects=False)
        self.cookie = ""

    def close(self) -> None:
        self.client.close()

    def request(
        self, method: str, url: str, data: dict[str, str] | None = None, *, follow: bool = True
    ) -> httpx.Response:
        """One request and (``follow``) its redirects, the session cookie kept up to date."""
        for _ in range(10):
            headers = {"Cookie": f"fj_session={self.cookie}"} if self.cookie else {}
            resp = self.client.request(method, url, data=data, headers=headers)
            for value in resp.headers.get_list("set-cookie"):
                found = _COOKIE.search(value)
                if found:
                    self.cookie = found.group(1)
            if not follow or resp.status_code not in (302, 303, 307):
                return resp
            url, method, data = resp.headers["location"], "GET", None
        raise RuntimeError(f"too many redirects from {url}")


def sign_in(base_url: str, hpr: str = EMERGENCY_DOCTOR) -> WebSession:
    """A session signed in as the holder of ``hpr`` (in their only work context)."""
    web = WebSession(base_url)
    page = web.request("GET", "/signin")
    form = re.search(r'class="hpr">(.*?)</form>', page.text, re.S)
    if form is None:
        raise RuntimeError(f"no sign-in form at the issuer ({page.status_code})")
    data = {
        k: html.unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(1))
    }
    data["hpr"] = hpr
    home = web.request("POST", "/auth/authorize", data)
    if home.status_code != 200 or 'name="csrf"' not in home.text:
        raise RuntimeError(f"signing in as {hpr} failed ({home.status_code})")
    return web


def break_glass(web: WebSession, patient_id: str) -> None:
    home = web.request("GET", "/")
    csrf = re.search(r'name="csrf" value="([^"]+)"', home.text)
    if csrf is None:
        raise RuntimeError("no CSRF token on the start page")
    data = {
        "csrf": csrf.group(1),
        "patient_id": patient_id,
        "reason": "other",
        "text": "ytelsesmåling (make bench)",
    }
    page = web.request("POST", "/patients/break-glass", data)
    if page.status_code != 200 or "banner" not in page.text:
        raise RuntimeError(f"break-the-glass for {patient_id} failed ({page.status_code})")


def time_page(
    web: WebSession, path: str, requests: int, warmup: int, *, follow: bool = True
) -> Latencies:
    """``warmup`` untimed, then ``requests`` timed sequential GETs of one page (``follow``:
    its redirects included; else a redirect is the response timed)."""
    for _ in range(warmup):
        _check(web.request("GET", path, follow=follow), path)
    samples: list[float] = []
    size = 0
    for _ in range(requests):
        started = time.perf_counter()
        resp = web.request("GET", path, follow=follow)
        body = resp.content
        samples.append((time.perf_counter() - started) * 1000)
        _check(resp, path)
        size = len(body)
    return Latencies(samples, 0, size)


def _check(resp: httpx.Response, path: str) -> None:
    """A page that answered (a redirect counts, when it is what is timed)."""
    if resp.status_code >= 400:
        raise RuntimeError(f"GET {path} answered {resp.status_code}")
