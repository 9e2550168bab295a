"""Helpers for the tests of pages that change a chart: the stored resources of a patient
(read from the store directly, to check what a page wrote), patients of a GP office, and
the form fields a page carries, and the posts and pages these tests share."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from fellesjournal.fhir import jsonio
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from tests.web.conftest import sign_in

GP = "990001483"  # Marit Myklebust, doctor at Orkland legekontor (demo_users.py)
GP_SECRETARY = "990001486"  # Inger Eliassen, secretary at the same office
WARD_NURSE = "990000030"  # Eirik Eliassen, nurse at St. Olavs, Lungemedisinsk sengepost
GP_OFFICE = "kommune-5059-fastlegekontor"
OTHER_OFFICE = "kommune-5001-fastlegekontor-6"  # Midtbyen legesenter, Trondheim


def listed(settings: Settings, office: str) -> list[str]:
    """Ids of the patients listed with a GP office, in id order."""
    store = SqlStore.from_settings(settings)
    try:
        with store.snapshot() as tx:
            rows = tx.execute(
                sa.text(
                    "SELECT res_id FROM resources WHERE res_type = 'Patient' "
                    "AND deleted = false AND CAST(content AS TEXT) LIKE :office ORDER BY res_id"
                ),
                {"office": f'%"Organization/{office}"%'},
            )
            return [row[0] for row in rows]
    finally:
        store.dispose()


def stored(settings: Settings, res_type: str, patient_id: str) -> dict[str, tuple[int, Any]]:
    """The patient's current ``res_type`` resources: id -> (version, JSON)."""
    store = SqlStore.from_settings(settings)
    try:
        with store.snapshot() as tx:
            rows = tx.execute(
                sa.text(
                    "SELECT res_id, version, CAST(content AS TEXT) FROM resources "
                    "WHERE res_type = :t AND patient_id = :p AND deleted = false"
                ),
                {"t": res_type, "p": patient_id},
            )
            return {r[0]: (int(r[1]), jsonio.loads(r[2])) for r in rows}
    finally:
        store.dispose()


def old_version(settings: Settings, res_type: str, res_id: str, version: int) -> Any:
    store = SqlStore.from_settings(settings)
    try:
        with store.snapshot() as tx:
            found = tx.vread(res_type, res_id, version)
            assert found is not None and found.content is not None
            return jsonio.loads(found.content)
    finally:
        store.dispose()


def field_value(page_html: str, name: str) -> str | None:
    """The value of the input named ``name``, else None."""
    found = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*\bvalue="([^"]*)"', page_html)
    return found.group(1) if found else None


def selected_value(page_html: str, name: str) -> str | None:
    """The selected option of the select named ``name``, else None."""
    select = re.search(rf'<select[^>]*\bname="{re.escape(name)}".*?</select>', page_html, re.S)
    if select is None:
        return None
    option = re.search(r'<option value="([^"]*)" selected>', select.group(0))
    return option.group(1) if option else None


def containing(settings: Settings, res_type: str, text: str) -> list[tuple[str, str, str]]:
    """(patient id, id, JSON text) of the current ``res_type`` resources whose JSON holds
    ``text``, in id order."""
    store = SqlStore.from_settings(settings)
    try:
        with store.snapshot() as tx:
            rows = tx.execute(
                sa.text(
                    "SELECT patient_id, res_id, CAST(content AS TEXT) FROM resources "
                    "WHERE res_type = :t AND deleted = false "
                    "AND CAST(content AS TEXT) LIKE :like ORDER BY res_id"
                ),
                {"t": res_type, "like": f"%{text}%"},
            )
            return [(r[0], r[1], r[2]) for r in rows]
    finally:
        store.dispose()


def end_entry(client: TestClient, url: str, csrf: str, version: int, how: str, reason: str) -> Any:
    """The form that ends an entry (``url``), posted with the version it showed."""
    data = {"csrf": csrf, "version": str(version), "how": how, "reason": reason}
    return client.post(url, data=data, follow_redirects=False)


def seen_by_gp(client: TestClient, settings: Settings, path: str, patient: int) -> Any:
    """``path`` as the GP gets it, ``{p}`` standing for the GP office's patient at index
    ``patient`` (of :func:`listed`)."""
    sign_in(client, GP)
    return client.get(path.replace("{p}", listed(settings, GP_OFFICE)[patient]))
