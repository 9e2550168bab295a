"""``Bundle.total``: exact when asked for, counted up to a cap by default."""

from __future__ import annotations

import uuid
from typing import Any

from fellesjournal.service import searching


def test_default_total_is_capped_and_accurate_is_exact(client: Any, monkeypatch: Any) -> None:
    code = f"total-{uuid.uuid4()}"
    for _ in range(4):
        body = {"resourceType": "Basic", "code": {"coding": [{"system": "urn:t", "code": code}]}}
        assert client.post("/fhir/Basic", json=body).status_code == 201
    query = {"code": f"urn:t|{code}", "_count": "1"}

    assert client.get("/fhir/Basic", params=query).json()["total"] == 4
    monkeypatch.setattr(searching, "TOTAL_CAP", 2)
    capped = client.get("/fhir/Basic", params=query).json()
    assert "total" not in capped
    assert any(link["relation"] == "next" for link in capped["link"])
    exact = client.get("/fhir/Basic", params={**query, "_total": "accurate"}).json()
    assert exact["total"] == 4
    assert client.get("/fhir/Basic", params={**query, "_summary": "count"}).json()["total"] == 4
    # a result that fits on the page is always counted
    assert client.get("/fhir/Basic", params={**query, "_count": "10"}).json()["total"] == 4
