"""Fixtures for tests in a real browser: a served Fellesjournal and Debian's Chromium.

* ``live_server`` (session): ``fellesjournal serve`` in a subprocess on 127.0.0.1 and a
  free port, on a fresh database of the backend under test (``tests/conftest.py``) that
  was migrated and seeded with a demo population of 40 patients. Its ``env`` is the
  environment the server runs in, so a test can run CLI commands (``token``, ``audit``)
  against the same database and token issuer.
* ``browser`` (session): Chromium from ``/usr/bin/chromium`` (``tools/ensure-chromium``
  installs it; ``make test`` calls that), launched headless by Playwright's sync API.
  Playwright's own browser download is never used.
* ``page`` (function): a new browser context per test (own cookies and storage), with
  the live server as base URL, locale nb-NO and time zone Europe/Oslo.
* ``steps`` (function): a :class:`tests.browser.steps.Steps` on ``page``.

Each xdist worker that is handed browser tests starts its own server and Chromium (a few
seconds). Keeping them all in one worker with ``xdist_group`` and ``--dist loadgroup``
does not work with the pinned pytest 9.2 and pytest-xdist 3.8: the grouping is silently
ignored (pytest-dev/pytest-xdist#1386), so it is not used.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.browser.steps import Steps
from tests.conftest import fresh_database_url

CHROMIUM = Path("/usr/bin/chromium")
# The flags issue 5 asks for (headless and no sandbox are added by Playwright itself):
# no GPU in CI, and a test browser that talks to nothing but the server under test.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_PATIENTS = 40
STARTUP_SECONDS = 60
STOP_SECONDS = 15


def _cli() -> str:
    """The ``fellesjournal`` script of the environment running the tests."""
    return str(Path(sys.executable).with_name("fellesjournal"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no output)"


@dataclass
class LiveServer:
    """A running ``fellesjournal serve``: where it answers and the environment it runs in."""

    base_url: str
    env: dict[str, str]
    log_path: Path
    pid: int = 0

    def run_cli(self, *args: str) -> str:
        """Run ``fellesjournal ARGS`` against the server's database; its stdout. Fails the
        test, with stderr, when the command fails."""
        done = subprocess.run(
            [_cli(), *args], env=self.env, capture_output=True, text=True, timeout=300, check=False
        )
        if done.returncode != 0:
            pytest.fail(f"fellesjournal {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout


def _wait_until_serving(proc: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}:\n{_tail(log_path)}")
        try:
            if httpx.get(f"{base_url}/fhir/metadata", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.2)
    _stop(proc)
    pytest.fail(f"the server did not answer within {STARTUP_SECONDS} s:\n{_tail(log_path)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server by its PID: SIGTERM, then SIGKILL if it has not gone."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_SECONDS)


@contextlib.contextmanager
def serve(tmp: Path, database_url: str, patients: int = DEMO_PATIENTS) -> Iterator[LiveServer]:
    """``fellesjournal serve`` on 127.0.0.1 and a free port, on ``database_url`` (empty)
    migrated and seeded with ``patients`` demo patients; ``tmp`` holds its key and log.
    Stopped by its PID on leaving. (``tools/screenshots`` serves the demo with it too.)"""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FELLESJOURNAL_DATABASE_URL": database_url,
        "FELLESJOURNAL_DATA_DIR": str(tmp / "data"),
        "FELLESJOURNAL_ALLOW_TEST_IDENTITIES": "true",
        "FELLESJOURNAL_SECRET_KEY": "browser-test-secret",
        "FELLESJOURNAL_HOST": "127.0.0.1",
        "FELLESJOURNAL_PORT": str(port),
        "FELLESJOURNAL_BASE_URL": base_url,
    }
    log_path = tmp / "server.log"
    server = LiveServer(base_url=base_url, env=env, log_path=log_path)
    server.run_cli("db", "upgrade")
    server.run_cli("demo", "seed", "--patients", str(patients))
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [_cli(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C meant for pytest reaches the server only through
            # the teardown below, after the tests have let go of it.
            start_new_session=True,
        )
    server.pid = proc.pid
    try:
        _wait_until_serving(proc, base_url, log_path)
        yield server
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("browser")
    with serve(tmp, fresh_database_url(tmp, "browser")) as server:
        yield server


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run tools/ensure-chromium (make test does)")
    chromium = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


@contextlib.contextmanager
def browser_page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A page in a browser context of its own (own cookies), in Norwegian and Oslo time."""
    context = browser.new_context(
        base_url=live_server.base_url, locale="nb-NO", timezone_id="Europe/Oslo"
    )
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture()
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    with browser_page(browser, live_server) as opened:
        yield opened


@pytest.fixture
def csp_violations(page: Page) -> list[str]:
    """The Content-Security-Policy violations the page reports in its console."""
    found: list[str] = []
    page.on(
        "console",
        lambda msg: found.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return found


@pytest.fixture()
def steps(page: Page) -> Steps:
    return Steps(page)
