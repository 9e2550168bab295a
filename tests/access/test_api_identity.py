"""Through HTTP: health workers' and citizens' tokens are resolved on every request.

The policy still denies both kinds (rules come with the care-relation work), so a
resolved token reads 404 / searches 403; a token whose role or record no longer holds is
401 ``login``, within the resolver's cache lifetime.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.auth.issuer import issue_patient_token, issue_practitioner_token
from fellesjournal.fhir import jsonio
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from tests.access.conftest import World


@pytest.fixture()
def raw_client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as c:
        yield c


def _get(client: TestClient, token: str, path: str) -> Any:
    return client.get(
        f"/fhir/{path}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"},
    )


def _is_login_error(resp: Any, text: str) -> None:
    assert resp.status_code == 401, resp.text
    body = resp.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "login"
    assert text in body["issue"][0]["diagnostics"]
    assert resp.headers["www-authenticate"].startswith("Bearer")


def _later(monkeypatch: pytest.MonkeyPatch, app: Any, seconds: float) -> None:
    """Move the app's resolver clock on, so that cached contexts expire."""
    monkeypatch.setattr(app.fhir.resolver, "clock", lambda: time.monotonic() + seconds)


def test_practitioner_resolved_then_revoked(
    monkeypatch: pytest.MonkeyPatch,
    app: Any,
    raw_client: TestClient,
    settings: Settings,
    repo: GuardedRepository,
    world: World,
) -> None:
    token = issue_practitioner_token(settings, world.hpr, world.role_id, world.practitioner_id)
    resp = _get(raw_client, token, f"Patient/{world.patient_id}")
    assert resp.status_code == 404  # resolved; no care relation with this patient
    found = _get(raw_client, token, "Observation")
    assert found.status_code == 200  # resolved; the search is filtered to nothing
    assert found.json().get("entry") is None

    repo.delete("PractitionerRole", world.role_id)
    assert _get(raw_client, token, f"Patient/{world.patient_id}").status_code == 404  # cached
    _later(monkeypatch, app, 61)
    _is_login_error(_get(raw_client, token, f"Patient/{world.patient_id}"), "unknown role")


def test_inactive_role_is_401_at_once(
    raw_client: TestClient, settings: Settings, repo: GuardedRepository, world: World
) -> None:
    role = jsonio.loads(repo.read("PractitionerRole", world.role_id).content or "")
    role["active"] = False
    repo.update("PractitionerRole", world.role_id, role)
    token = issue_practitioner_token(settings, world.hpr, world.role_id, world.practitioner_id)
    _is_login_error(_get(raw_client, token, "Patient"), "inactive role")
    # The same HPR-nummer may not borrow a colleague's role.
    other = issue_practitioner_token(
        settings, world.other_hpr, world.role_id, world.other_practitioner_id
    )
    _is_login_error(_get(raw_client, other, "Patient"), "role of another")


def test_citizen_resolved_then_record_gone(
    monkeypatch: pytest.MonkeyPatch,
    app: Any,
    raw_client: TestClient,
    settings: Settings,
    repo: GuardedRepository,
    world: World,
) -> None:
    token = issue_patient_token(settings, world.fnr, world.patient_id)
    assert _get(raw_client, token, f"Patient/{world.patient_id}").status_code == 200  # own
    repo.delete("Patient", world.patient_id)
    _later(monkeypatch, app, 61)
    _is_login_error(_get(raw_client, token, f"Patient/{world.patient_id}"), "does not exist")


def test_metadata_and_system_tokens_are_untouched(client: TestClient, world: World) -> None:
    assert client.get(f"/fhir/Patient/{world.patient_id}").status_code == 200
    assert client.get("/fhir/metadata", headers={"Authorization": ""}).status_code == 200
