"""Batch and transaction Bundles over HTTP: https://hl7.org/fhir/R4/http.html#transaction.

A transaction is all or nothing (verified by searching afterwards), ``urn:uuid:`` and
conditional references are resolved to the stored ids, entries are processed in the
spec's order (DELETE, POST, PUT, GET) and answered in request order; batch entries are
independent, each with its own status or OperationOutcome.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _uid() -> str:
    return uuid.uuid4().hex[:12]


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _create(client, resource: dict[str, Any]) -> str:  # type: ignore[no-untyped-def]
    r = client.post(f"/fhir/{resource['resourceType']}", json=resource)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _ids(client, res_type: str, params: dict[str, str]) -> set[str]:  # type: ignore[no-untyped-def]
    r = client.get(f"/fhir/{res_type}", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    ids = {e["resource"]["id"] for e in body.get("entry", []) if e["search"]["mode"] == "match"}
    assert body["total"] == len(ids)
    return ids


def _post(client, kind: str, entries: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    return client.post("/fhir", json={"resourceType": "Bundle", "type": kind, "entry": entries})


def _ok(client, kind: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    r = _post(client, kind, entries)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["resourceType"] == "Bundle" and body["type"] == f"{kind}-response"
    assert len(body["entry"]) == len(entries)
    return list(body["entry"])


def _failed(client, entries: list[dict[str, Any]]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = _post(client, "transaction", entries)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    body: dict[str, Any] = r.json()
    assert body["resourceType"] == "OperationOutcome"
    return body


def _status(entry: dict[str, Any]) -> int:
    return int(entry["response"]["status"].split()[0])


def _loc_id(entry: dict[str, Any]) -> str:
    """The id from ``response.location`` (``[base/]Type/id/_history/v``)."""
    parts = entry["response"]["location"].split("/")
    i = parts.index("_history") if "_history" in parts else len(parts)
    return str(parts[i - 1])


def _post_entry(
    resource: dict[str, Any], full_url: str | None = None, **request: Any
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"], **request},
    }
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def _patient(fam: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "name": [{"family": fam}], **extra}


def _obs(subject_ref: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "t"},
        "subject": {"reference": subject_ref},
        **extra,
    }


# ----------------------------------------------------------------------------- transaction


def test_transaction_resolves_urn_uuid_references(client) -> None:
    fam = f"Tx{_uid()}"
    pat_url, enc_url = _urn(), _urn()
    entries = [
        _post_entry(_obs(pat_url, encounter={"reference": enc_url})),
        _post_entry(_patient(fam), pat_url),
        _post_entry(
            {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {"code": "AMB"},
                "subject": {"reference": pat_url},
            },
            enc_url,
        ),
    ]
    out = _ok(client, "transaction", entries)
    assert [_status(e) for e in out] == [201, 201, 201]  # in request order
    obs_id, pid, enc_id = (_loc_id(e) for e in out)
    assert out[1]["resource"]["id"] == pid and out[1]["resource"]["resourceType"] == "Patient"
    assert (
        out[0]["response"]["location"].startswith(f"Observation/{obs_id}/_history/1")
        or f"/Observation/{obs_id}/_history/1" in out[0]["response"]["location"]
    )
    assert out[0]["response"]["etag"] == 'W/"1"'
    assert INSTANT.match(out[0]["response"]["lastModified"])
    obs = client.get(f"/fhir/Observation/{obs_id}").json()
    assert obs["subject"]["reference"] == f"Patient/{pid}"
    assert obs["encounter"]["reference"] == f"Encounter/{enc_id}"
    assert out[0]["resource"]["subject"]["reference"] == f"Patient/{pid}"
    subject = client.get(f"/fhir/{obs['subject']['reference']}")
    assert subject.status_code == 200 and subject.json()["name"][0]["family"] == fam
    enc = client.get(f"/fhir/Encounter/{enc_id}").json()
    assert enc["subject"]["reference"] == f"Patient/{pid}"
    # the index follows the rewritten references
    assert _ids(client, "Observation", {"subject": f"Patient/{pid}"}) == {obs_id}
    assert _ids(client, "Observation", {"subject:Patient.name": fam}) == {obs_id}


def test_transaction_is_atomic_on_invalid_resource(client) -> None:
    fam = f"Atom{_uid()}"
    pat_url = _urn()
    body = _failed(
        client,
        [
            _post_entry(_patient(fam), pat_url),
            _post_entry(_obs(pat_url)),
            _post_entry(_patient(fam, gender="mann")),  # not in the value set
        ],
    )
    assert body["issue"][0]["severity"] in ("error", "fatal")
    assert _ids(client, "Patient", {"family": fam}) == set()
    assert _ids(client, "Observation", {"subject:Patient.name": fam}) == set()


def test_transaction_is_atomic_on_failed_if_match(client) -> None:
    fam = f"Atom{_uid()}"
    pid = _create(client, _patient(fam, gender="female"))
    r = _post(
        client,
        "transaction",
        [
            _post_entry(_patient(fam)),
            {
                "resource": _patient(fam, id=pid, gender="male"),
                "request": {"method": "PUT", "url": f"Patient/{pid}", "ifMatch": 'W/"7"'},
            },
        ],
    )
    assert r.status_code == 412, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    assert _ids(client, "Patient", {"family": fam}) == {pid}
    current = client.get(f"/fhir/Patient/{pid}").json()
    assert current["meta"]["versionId"] == "1" and current["gender"] == "female"
    # the right version succeeds
    out = _ok(
        client,
        "transaction",
        [
            {
                "resource": _patient(fam, id=pid, gender="male"),
                "request": {"method": "PUT", "url": f"Patient/{pid}", "ifMatch": 'W/"1"'},
            }
        ],
    )
    assert _status(out[0]) == 200 and out[0]["response"]["etag"] == 'W/"2"'


def test_transaction_resolves_conditional_references(client) -> None:
    u = _uid()
    system = f"urn:sys:{u}"
    pid = _create(client, _patient(f"Cond{u}", identifier=[{"system": system, "value": "1"}]))
    out = _ok(
        client,
        "transaction",
        [
            _post_entry(_obs(f"Patient?identifier={system}|1")),
            _post_entry(_obs(f"Patient?identifier={system}|1&family=Cond{u}")),
        ],
    )
    for entry in out:
        assert _status(entry) == 201
        stored = client.get(f"/fhir/Observation/{_loc_id(entry)}").json()
        assert stored["subject"]["reference"] == f"Patient/{pid}"
    assert _ids(client, "Observation", {"subject": f"Patient/{pid}"}) == {_loc_id(e) for e in out}


def test_transaction_fails_on_unresolvable_conditional_reference(client) -> None:
    u = _uid()
    fam = f"Cond{u}"
    _failed(
        client,
        [
            _post_entry(_patient(fam)),
            _post_entry(_obs(f"Patient?identifier=urn:sys:{u}|nobody")),
        ],
    )
    assert _ids(client, "Patient", {"family": fam}) == set()


def test_transaction_fails_on_ambiguous_conditional_reference(client) -> None:
    u = _uid()
    system = f"urn:sys:{u}"
    for _ in range(2):
        _create(client, _patient(f"Twin{u}", identifier=[{"system": system, "value": "1"}]))
    _failed(
        client,
        [
            _post_entry(_patient(f"New{u}")),
            _post_entry(_obs(f"Patient?identifier={system}|1")),
        ],
    )
    assert _ids(client, "Patient", {"family": f"New{u}"}) == set()


def test_transaction_fails_on_unknown_urn_uuid(client) -> None:
    fam = f"Urn{_uid()}"
    _failed(client, [_post_entry(_patient(fam)), _post_entry(_obs(_urn()))])
    assert _ids(client, "Patient", {"family": fam}) == set()


def test_transaction_if_none_exist(client) -> None:
    u = _uid()
    system = f"urn:sys:{u}"
    existing = _create(client, _patient(f"Old{u}", identifier=[{"system": system, "value": "1"}]))
    pat_url = _urn()
    out = _ok(
        client,
        "transaction",
        [
            _post_entry(
                _patient(f"Dup{u}", identifier=[{"system": system, "value": "1"}]),
                pat_url,
                ifNoneExist=f"identifier={system}|1",
            ),
            _post_entry(_obs(pat_url)),
            _post_entry(
                _patient(f"Fresh{u}", identifier=[{"system": system, "value": "2"}]),
                ifNoneExist=f"identifier={system}|2",
            ),
        ],
    )
    assert _status(out[0]) == 200
    assert _loc_id(out[0]) == existing
    assert _status(out[1]) == 201 and _status(out[2]) == 201
    # no duplicate; the existing resource is unchanged; the reference points at it
    assert _ids(client, "Patient", {"identifier": f"{system}|1"}) == {existing}
    assert _ids(client, "Patient", {"family": f"Dup{u}"}) == set()
    assert client.get(f"/fhir/Patient/{existing}").json()["meta"]["versionId"] == "1"
    obs = client.get(f"/fhir/Observation/{_loc_id(out[1])}").json()
    assert obs["subject"]["reference"] == f"Patient/{existing}"
    assert _ids(client, "Patient", {"identifier": f"{system}|2"}) == {_loc_id(out[2])}


def test_transaction_processing_order_delete_before_post(client) -> None:
    u = _uid()
    system = f"urn:sys:{u}"
    old = _create(client, _patient(f"Old{u}", identifier=[{"system": system, "value": "1"}]))
    out = _ok(
        client,
        "transaction",
        [
            # listed first, but POSTs are processed after DELETEs
            _post_entry(_patient(f"New{u}", identifier=[{"system": system, "value": "1"}])),
            {"request": {"method": "DELETE", "url": f"Patient?identifier={system}|1"}},
            # GETs are processed last: they see the new state
            {"request": {"method": "GET", "url": f"Patient?identifier={system}|1"}},
        ],
    )
    assert _status(out[0]) == 201
    assert _status(out[1]) in (200, 204)
    new = _loc_id(out[0])
    assert new != old
    assert client.get(f"/fhir/Patient/{old}").status_code == 410
    assert _ids(client, "Patient", {"identifier": f"{system}|1"}) == {new}
    search = out[2]["resource"]
    assert _status(out[2]) == 200 and search["type"] == "searchset"
    assert [e["resource"]["id"] for e in search["entry"]] == [new]


def test_transaction_conditional_update(client) -> None:
    # https://hl7.org/fhir/R4/http.html#cond-update: the body need not carry an id
    u = _uid()
    system = f"urn:sys:{u}"
    existing = _create(client, _patient(f"Cu{u}", identifier=[{"system": system, "value": "1"}]))
    pat_url = _urn()
    out = _ok(
        client,
        "transaction",
        [
            {
                "fullUrl": pat_url,
                "resource": _patient(
                    f"Cu{u}", gender="male", identifier=[{"system": system, "value": "1"}]
                ),
                "request": {"method": "PUT", "url": f"Patient?identifier={system}|1"},
            },
            {
                "resource": _patient(f"Cu{u}", identifier=[{"system": system, "value": "2"}]),
                "request": {"method": "PUT", "url": f"Patient?identifier={system}|2"},
            },
            _post_entry(_obs(pat_url)),
        ],
    )
    assert [_status(e) for e in out] == [200, 201, 201]
    assert _loc_id(out[0]) == existing
    updated = client.get(f"/fhir/Patient/{existing}").json()
    assert updated["gender"] == "male" and updated["meta"]["versionId"] == "2"
    assert _ids(client, "Patient", {"family": f"Cu{u}"}) == {existing, _loc_id(out[1])}
    obs = client.get(f"/fhir/Observation/{_loc_id(out[2])}").json()
    assert obs["subject"]["reference"] == f"Patient/{existing}"


def test_transaction_post_ignores_client_id(client) -> None:
    u = _uid()
    out = _ok(client, "transaction", [_post_entry(_patient(f"Pid{u}", id=f"mine-{u}"))])
    new = _loc_id(out[0])
    assert new != f"mine-{u}"
    assert client.get(f"/fhir/Patient/{new}").json()["id"] == new
    assert client.get(f"/fhir/Patient/mine-{u}").status_code == 404


def test_transaction_put_with_client_ids(client) -> None:
    u = _uid()
    pid = f"tx-{u}"
    out = _ok(
        client,
        "transaction",
        [
            _post_entry(_obs(f"Patient/{pid}")),
            {
                "resource": _patient(f"Put{u}", id=pid),
                "request": {"method": "PUT", "url": f"Patient/{pid}"},
            },
        ],
    )
    assert [_status(e) for e in out] == [201, 201]
    assert _loc_id(out[1]) == pid
    assert client.get(f"/fhir/Patient/{pid}").json()["name"][0]["family"] == f"Put{u}"
    obs = client.get(f"/fhir/Observation/{_loc_id(out[0])}").json()
    assert obs["subject"]["reference"] == f"Patient/{pid}"
    again = _ok(
        client,
        "transaction",
        [
            {
                "resource": _patient(f"Put{u}", id=pid, gender="other"),
                "request": {"method": "PUT", "url": f"Patient/{pid}"},
            }
        ],
    )
    assert _status(again[0]) == 200 and again[0]["response"]["etag"] == 'W/"2"'
    assert client.get(f"/fhir/Patient/{pid}").json()["gender"] == "other"


def test_transaction_answers_get_entries(client) -> None:
    u = _uid()
    system = f"urn:sys:{u}"
    existing = _create(client, _patient(f"Get{u}"))
    out = _ok(
        client,
        "transaction",
        [
            {"request": {"method": "GET", "url": f"Patient/{existing}"}},
            _post_entry(_patient(f"Get{u}", identifier=[{"system": system, "value": "1"}])),
            {"request": {"method": "GET", "url": f"Patient?family=Get{u}&_sort=_id"}},
        ],
    )
    assert _status(out[0]) == 200
    assert out[0]["resource"]["id"] == existing
    assert _status(out[1]) == 201
    search = out[2]["resource"]
    assert search["resourceType"] == "Bundle" and search["type"] == "searchset"
    assert search["total"] == 2
    assert {e["resource"]["id"] for e in search["entry"]} == {existing, _loc_id(out[1])}


def test_transaction_rejects_two_changes_to_one_resource(client) -> None:
    u = _uid()
    pid = f"twice-{u}"
    _failed(
        client,
        [
            {
                "resource": _patient(f"A{u}", id=pid),
                "request": {"method": "PUT", "url": f"Patient/{pid}"},
            },
            {
                "resource": _patient(f"B{u}", id=pid),
                "request": {"method": "PUT", "url": f"Patient/{pid}"},
            },
        ],
    )
    assert client.get(f"/fhir/Patient/{pid}").status_code == 404


# ----------------------------------------------------------------------------- batch


def test_batch_entries_are_independent(client) -> None:
    u = _uid()
    fam = f"Batch{u}"
    keep = _create(client, _patient(fam))
    doomed = _create(client, _patient(f"Doomed{u}"))
    out = _ok(
        client,
        "batch",
        [
            _post_entry(_patient(fam, gender="female")),
            _post_entry(_patient(fam, gender="mann")),
            {"request": {"method": "GET", "url": f"Patient/nobody-{u}"}},
            {"request": {"method": "GET", "url": f"Patient/{keep}"}},
            {"request": {"method": "DELETE", "url": f"Patient/{doomed}"}},
            {
                "resource": _patient(fam, id=f"b-{u}"),
                "request": {"method": "PUT", "url": f"Patient/b-{u}"},
            },
            {"request": {"method": "GET", "url": f"Patient?family={fam}&gender=female"}},
        ],
    )
    statuses = [_status(e) for e in out]
    assert statuses[0] == 201
    assert statuses[1] in (400, 422)
    assert statuses[2] == 404
    assert statuses[3] == 200 and out[3]["resource"]["id"] == keep
    assert statuses[4] in (200, 204)
    assert statuses[5] == 201
    assert statuses[6] == 200 and out[6]["resource"]["type"] == "searchset"
    for failed in (out[1], out[2]):
        assert "resource" not in failed
        assert failed["response"]["outcome"]["resourceType"] == "OperationOutcome"
    created = _loc_id(out[0])
    assert _ids(client, "Patient", {"family": fam}) == {keep, created, f"b-{u}"}
    assert client.get(f"/fhir/Patient/{doomed}").status_code == 410


def test_batch_response_fields_are_fhir_typed(client) -> None:
    u = _uid()
    out = _ok(
        client,
        "batch",
        [
            _post_entry(_patient(f"Typed{u}")),
            {
                "resource": _patient(f"Typed{u}", id=f"t-{u}"),
                "request": {"method": "PUT", "url": f"Patient/t-{u}"},
            },
        ],
    )
    for entry in out:
        response = entry["response"]
        assert response["status"].split()[0] == "201"
        assert response["etag"] == 'W/"1"'
        # Bundle.entry.response.lastModified is a FHIR instant, not an HTTP date
        assert INSTANT.match(response["lastModified"]), response["lastModified"]
        assert re.search(r"Patient/[^/]+/_history/1$", response["location"])


def test_batch_entries_do_not_share_a_transaction(client) -> None:
    u = _uid()
    pid = f"b2-{u}"
    out = _ok(
        client,
        "batch",
        [
            {
                "resource": _patient(f"A{u}", id=pid),
                "request": {"method": "PUT", "url": f"Patient/{pid}"},
            },
            {
                "resource": _patient(f"B{u}", id=pid),
                "request": {"method": "PUT", "url": f"Patient/{pid}"},
            },
        ],
    )
    assert [_status(e) for e in out] == [201, 200]
    assert client.get(f"/fhir/Patient/{pid}").json()["meta"]["versionId"] == "2"


# ----------------------------------------------------------------------------- malformed bundles


@pytest.mark.parametrize(
    "kind",
    ["collection", "searchset", "document", "history", "message", "transaction-response", None],
)
def test_bundle_type_must_be_batch_or_transaction(client, kind: str | None) -> None:
    fam = f"Kind{_uid()}"
    bundle: dict[str, Any] = {"resourceType": "Bundle", "entry": [_post_entry(_patient(fam))]}
    if kind:
        bundle["type"] = kind
    r = client.post("/fhir", json=bundle)
    assert r.status_code == 400, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    assert _ids(client, "Patient", {"family": fam}) == set()


@pytest.mark.parametrize("kind", ["transaction", "batch"])
def test_entry_request_is_required(client, kind: str) -> None:
    fam = f"NoReq{_uid()}"
    r = _post(client, kind, [_post_entry(_patient(fam)), {"resource": _patient(fam)}])
    assert r.status_code == 400, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    assert _ids(client, "Patient", {"family": fam}) == set()


def test_non_bundle_posted_to_base_is_rejected(client) -> None:
    r = client.post("/fhir", json={"resourceType": "Patient"})
    assert r.status_code == 400
    assert r.json()["resourceType"] == "OperationOutcome"


def test_empty_transaction(client) -> None:
    r = client.post("/fhir", json={"resourceType": "Bundle", "type": "transaction"})
    assert r.status_code == 200, r.text
    assert r.json()["type"] == "transaction-response"
    assert not r.json().get("entry")
