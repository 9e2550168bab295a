"""The server and its audit sink: a read's event reaches the log, and while the log
cannot be written the server refuses reads (503) rather than disclose unrecorded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.audit import log
from fellesjournal.store.sql import SqlStore
from tests.conftest import settle_audit


def _patient(client: TestClient) -> str:
    resp = client.post(
        "/fhir/Patient", json={"resourceType": "Patient", "name": [{"family": "Loggsen"}]}
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def _events_about(store: SqlStore, patient_id: str) -> int:
    settle_audit(store)
    with store.snapshot() as tx:
        return len(log.events_for_patient(tx, patient_id, count=1000))


def test_a_read_is_in_the_log_once_settled(client: TestClient, store: SqlStore) -> None:
    patient_id = _patient(client)
    before = _events_about(store, patient_id)
    assert client.get(f"/fhir/Patient/{patient_id}").status_code == 200
    assert _events_about(store, patient_id) == before + 1


def test_reads_are_refused_while_the_log_fails(
    client: TestClient, app: Any, store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient_id = _patient(client)
    start = _events_about(store, patient_id)
    real = log.append_on

    def broken(driver: Any, dialect: str, prepared: Sequence[log.PreparedEvent]) -> list[int]:
        raise OSError("disk full")

    monkeypatch.setattr(log, "append_on", broken)
    assert client.get(f"/fhir/Patient/{patient_id}").status_code == 200  # queued, then fails
    with pytest.raises(OSError, match="disk full"):
        app.state.audit_sink.drain()
    refused = client.get(f"/fhir/Patient/{patient_id}")
    assert refused.status_code == 503
    body = refused.json()
    assert body["resourceType"] == "OperationOutcome"
    assert "Loggsen" not in refused.text

    monkeypatch.setattr(log, "append_on", real)
    # The retry writes the event of the read served before the failure; the refused
    # read disclosed nothing and owes nothing.
    assert _events_about(store, patient_id) == start + 1
    assert client.get(f"/fhir/Patient/{patient_id}").status_code == 200
    assert _events_about(store, patient_id) == start + 2
