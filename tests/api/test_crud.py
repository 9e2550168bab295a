"""CRUD interactions over HTTP, in-process: create, read, vread, update, patch, delete."""

from __future__ import annotations

import uuid

from fellesjournal.demo.builtin import tenor_number

FHIR = "application/fhir+json"


def _patient(**extra: object) -> dict[str, object]:
    return {
        "resourceType": "Patient",
        "name": [{"family": f"Test{uuid.uuid4().hex[:8]}"}],
        "gender": "female",
        "birthDate": "1980-05-17",
        **extra,
    }


def test_create_read_vread_roundtrip(client) -> None:
    r = client.post("/fhir/Patient", json=_patient())
    assert r.status_code == 201
    body = r.json()
    pid = body["id"]
    assert body["meta"]["versionId"] == "1"
    assert r.headers["ETag"] == 'W/"1"'
    assert r.headers["Location"].endswith(f"/fhir/Patient/{pid}/_history/1")
    assert r.headers["Content-Type"].startswith(FHIR)
    got = client.get(f"/fhir/Patient/{pid}")
    assert got.status_code == 200
    assert got.json() == body
    assert client.get(f"/fhir/Patient/{pid}/_history/1").json() == body
    assert client.get(f"/fhir/Patient/{pid}/_history/2").status_code == 404


def test_server_owns_meta_version_and_last_updated(client) -> None:
    r = client.post(
        "/fhir/Patient",
        json=_patient(
            meta={
                "versionId": "77",
                "lastUpdated": "2001-01-01T00:00:00Z",
                "tag": [{"system": "urn:x", "code": "y"}],
            }
        ),
    )
    meta = r.json()["meta"]
    assert meta["versionId"] == "1"
    assert meta["lastUpdated"] != "2001-01-01T00:00:00Z"
    assert meta["tag"] == [{"system": "urn:x", "code": "y"}]


def test_update_versions_and_if_match(client) -> None:
    pid = client.post("/fhir/Patient", json=_patient()).json()["id"]
    body = client.get(f"/fhir/Patient/{pid}").json()
    body["gender"] = "male"
    r = client.put(f"/fhir/Patient/{pid}", json=body, headers={"If-Match": 'W/"1"'})
    assert r.status_code == 200
    assert r.json()["meta"]["versionId"] == "2"
    stale = client.put(f"/fhir/Patient/{pid}", json=body, headers={"If-Match": 'W/"1"'})
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    assert client.get(f"/fhir/Patient/{pid}/_history/1").json()["gender"] == "female"


def test_update_as_create_with_client_id(client) -> None:
    pid = f"client-{uuid.uuid4().hex[:12]}"
    r = client.put(f"/fhir/Patient/{pid}", json=_patient(id=pid))
    assert r.status_code == 201
    assert r.json()["id"] == pid
    assert client.put(f"/fhir/Patient/{pid}", json=_patient(id=pid)).status_code == 200


def test_delete_then_read_is_gone_and_history_kept(client) -> None:
    pid = client.post("/fhir/Patient", json=_patient()).json()["id"]
    assert client.delete(f"/fhir/Patient/{pid}").status_code == 204
    gone = client.get(f"/fhir/Patient/{pid}")
    assert gone.status_code == 410
    assert gone.json()["issue"][0]["code"] == "deleted"
    hist = client.get(f"/fhir/Patient/{pid}/_history").json()
    assert hist["total"] == 2
    assert hist["entry"][0]["request"]["method"] == "DELETE"
    assert client.delete(f"/fhir/Patient/{pid}").status_code == 204
    # a deleted resource can be brought back with an update
    back = client.put(f"/fhir/Patient/{pid}", json=_patient(id=pid))
    assert back.status_code == 201
    assert back.json()["meta"]["versionId"] == "3"


def test_json_patch(client) -> None:
    pid = client.post("/fhir/Patient", json=_patient()).json()["id"]
    ops = [
        {"op": "replace", "path": "/gender", "value": "other"},
        {"op": "add", "path": "/active", "value": True},
    ]
    r = client.patch(
        f"/fhir/Patient/{pid}",
        content=__import__("json").dumps(ops),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["gender"] == "other"
    assert r.json()["active"] is True
    assert r.json()["meta"]["versionId"] == "2"
    bad = [{"op": "replace", "path": "/gender", "value": "mann"}]
    r = client.patch(
        f"/fhir/Patient/{pid}",
        content=__import__("json").dumps(bad),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert r.status_code == 422
    failing = [{"op": "test", "path": "/gender", "value": "female"}]
    r = client.patch(
        f"/fhir/Patient/{pid}",
        content=__import__("json").dumps(failing),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert r.status_code == 422


def test_prefer_return(client) -> None:
    r = client.post("/fhir/Patient", json=_patient(), headers={"Prefer": "return=minimal"})
    assert r.status_code == 201 and r.content == b""
    assert "Location" in r.headers
    r = client.post("/fhir/Patient", json=_patient(), headers={"Prefer": "return=OperationOutcome"})
    assert r.json()["resourceType"] == "OperationOutcome"


def test_conditional_create(client) -> None:
    value = tenor_number(3, 4, 1990, 100 + uuid.uuid4().int % 300)
    ident = "urn:oid:2.16.578.1.12.4.1.4.1"
    body = _patient(identifier=[{"system": ident, "value": value}])
    first = client.post(
        "/fhir/Patient", json=body, headers={"If-None-Exist": f"identifier={ident}|{value}"}
    )
    assert first.status_code == 201
    again = client.post(
        "/fhir/Patient", json=body, headers={"If-None-Exist": f"identifier={ident}|{value}"}
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


def test_conditional_update_and_delete(client) -> None:
    family = f"Cond{uuid.uuid4().hex[:8]}"
    body = {"resourceType": "Patient", "name": [{"family": family}]}
    r = client.put(f"/fhir/Patient?family={family}", json=body)
    assert r.status_code == 201
    pid = r.json()["id"]
    r = client.put(f"/fhir/Patient?family={family}", json={**body, "gender": "male"})
    assert r.status_code == 200 and r.json()["id"] == pid
    assert client.delete(f"/fhir/Patient?family={family}").status_code == 204
    assert client.get(f"/fhir/Patient/{pid}").status_code == 410


def test_history_type_and_system(client) -> None:
    client.post("/fhir/Basic", json={"resourceType": "Basic", "code": {"text": "x"}})
    hist = client.get("/fhir/Basic/_history?_count=1").json()
    assert hist["type"] == "history"
    assert len(hist["entry"]) == 1
    assert any(link["relation"] == "next" for link in hist["link"]) or hist["total"] == 1
    sys_hist = client.get("/fhir/_history?_count=2").json()
    assert len(sys_hist["entry"]) == 2


def test_system_search_with_type_and_common_params(client) -> None:
    tag = f"sys{uuid.uuid4().hex[:10]}"
    meta = {"tag": [{"system": "urn:test:sys", "code": tag}]}
    pid = client.post("/fhir/Patient", json=_patient(meta=meta)).json()["id"]
    bid = client.post(
        "/fhir/Basic", json={"resourceType": "Basic", "code": {"text": "x"}, "meta": meta}
    ).json()["id"]
    both = client.get(f"/fhir?_tag=urn:test:sys|{tag}").json()
    assert {e["resource"]["id"] for e in both["entry"]} == {pid, bid}
    only = client.get(f"/fhir?_tag=urn:test:sys|{tag}&_type=Basic").json()
    assert [e["resource"]["id"] for e in only["entry"]] == [bid]
    assert client.get("/fhir?_type=Nope").status_code == 400
