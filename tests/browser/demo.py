"""The demo data and users as the browser tests (and ``tools/screenshots``) meet them.

* Patients and their records are looked up through the FHIR API of the served instance
  with a system token (``fellesjournal token --system``), never from the database.
* The demo health workers are those of the built-in issuer's sign-in page
  (``web/demo_users.py``), named by unit and role so that a test does not hard-code a
  synthetic name.
* :func:`sign_in` takes the user through the real code flow in the page (and the work
  context choice when they have several).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from fellesjournal.web.demo_users import DemoUser, demo_users
from tests.browser.conftest import LiveServer

FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"

#: (unit id, role) of the demo users the tests sign in as (web/demo_users.py).
GP = ("kommune-5059-fastlegekontor", "doctor")  # Orkland legekontor
WARD_DOCTOR = ("hmr-molde-kirurgi", "doctor")  # a ward with patients in the small demo
WARD_NURSE = ("stolav-lunge-sengepost", "nurse")
HOME_NURSE = ("kommune-5001-hjemmetjeneste-2", "nurse")
PRIVACY_OFFICER = ("stolav-personvern", "privacy-officer")
GP_OFFICE = "Organization/kommune-5059-fastlegekontor"
OTHER_OFFICE = "Organization/kommune-5001-fastlegekontor-6"


def demo_user(who: tuple[str, str]) -> DemoUser:
    """The demo user of (unit id, role)."""
    unit_id, role = who
    return next(u for u in demo_users() if u.unit_id == unit_id and u.role == role)


def fhir_search(
    live_server: LiveServer, resource_type: str, params: dict[str, str]
) -> list[dict[str, Any]]:
    """The resources a search finds, read through the API as the system."""
    token = live_server.run_cli("token", "--system").strip()
    resp = httpx.get(
        f"{live_server.base_url}/fhir/{resource_type}",
        params={"_count": "100", **params},
        headers={"Authorization": f"Bearer {token}"},
    )
    resp.raise_for_status()
    return [e["resource"] for e in resp.json().get("entry", [])]


def patients_of(live_server: LiveServer, office: str) -> list[dict[str, Any]]:
    """Patients listed with a GP office (at least one, or the test fails)."""
    patients = fhir_search(live_server, "Patient", {"general-practitioner": office})
    assert patients, f"the demo population has no patient listed at {office}"
    return patients


def richest_patient(live_server: LiveServer, office: str) -> dict[str, Any]:
    """The patient of ``office`` with the most observations (vital signs, lab results):
    the one whose overview shows the most."""

    def observations(patient: dict[str, Any]) -> int:
        found = fhir_search(live_server, "Observation", {"subject": f"Patient/{patient['id']}"})
        return len(found)

    return max(patients_of(live_server, office), key=observations)


def active_medication(
    live_server: LiveServer, office: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A patient of ``office`` and one of their active MedicationStatements."""
    for patient in patients_of(live_server, office):
        params = {"subject": f"Patient/{patient['id']}", "status": "active"}
        statements = fhir_search(live_server, "MedicationStatement", params)
        if statements:
            return patient, statements[0]
    raise AssertionError(f"no active medication at {office} in the demo data")


def fnr(patient: dict[str, Any]) -> str:
    """The patient's fødselsnummer."""
    return next(i["value"] for i in patient["identifier"] if i["system"] == FNR_SYSTEM)


def sign_in(page: Page, who: tuple[str, str] = GP) -> DemoUser:
    """Sign in as the demo user of (unit id, role) on the issuer's page, in that unit."""
    user = demo_user(who)
    page.goto("/")
    page.get_by_role("button", name=re.compile(re.escape(user.name))).click()
    if page.url.endswith("/context"):  # several work contexts: choose the unit's
        page.get_by_role("button", name=re.compile(re.escape(user.unit_name))).click()
    expect(page.locator(".who .user")).to_have_text(user.name)
    return user
