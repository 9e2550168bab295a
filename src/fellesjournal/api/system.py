"""System-level interactions: batch and transaction Bundles, system history and search.

https://hl7.org/fhir/R4/http.html#transaction. A transaction is all or nothing (its
writes run in one database transaction, ``service/bundles.py``); batch entries are
independent, each dispatched like its own request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

from fellesjournal.api.request import FhirRequest
from fellesjournal.api.responses import FhirResponse, bundle_bytes, dumps, http_date
from fellesjournal.fhir.errors import FhirError, bad_request
from fellesjournal.service.bundles import Entry, EntryResult, parse_entries, process_transaction
from fellesjournal.service.repository import GuardedRepository

Dispatch = Callable[[FhirRequest, GuardedRepository, str], FhirResponse]


def bundle(
    req: FhirRequest, repo: GuardedRepository, base: str, dispatch: Dispatch
) -> FhirResponse:
    body = req.json_body()
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise bad_request(
            "POST to the base takes a Bundle of type batch or transaction", "resourceType"
        )
    kind = body.get("type")
    if kind not in ("batch", "transaction"):
        raise bad_request(f"Bundle.type must be batch or transaction, not '{kind}'", "Bundle.type")
    entries = parse_entries(body)
    minimal = req.prefer_return == "minimal"
    if kind == "transaction":
        results = process_transaction(repo, entries)
        out = [
            _get_entry(r.get, repo, base, dispatch) if r.get else _write_entry(r, base, minimal)
            for r in results
        ]
        return FhirResponse(200, bundle_bytes("transaction-response", out))
    out = [_batch_entry(e, body["entry"][e.index], repo, base, dispatch) for e in entries]
    return FhirResponse(200, bundle_bytes("batch-response", out))


def _write_entry(r: EntryResult, base: str, minimal: bool) -> bytes:
    response: dict[str, Any] = {"status": r.status}
    s = r.stored
    if s is not None and s.version:
        response["etag"] = s.etag
        response["lastModified"] = s.last_updated
        if r.location:
            response["location"] = f"{s.res_type}/{s.res_id}/_history/{s.version}"
    parts = [b"{"]
    if s is not None and s.content is not None and not minimal:
        parts += [
            b'"fullUrl":',
            dumps(f"{base}/{s.res_type}/{s.res_id}"),
            b',"resource":',
            s.content.encode(),
            b",",
        ]
    parts += [b'"response":', dumps(response), b"}"]
    return b"".join(parts)


def _entry_request(e: Entry, raw: dict[str, Any]) -> FhirRequest:
    path, _, query = e.url.partition("?")
    req_part = raw.get("request") or {}
    headers = {"content-type": "application/fhir+json"}
    if req_part.get("ifNoneExist"):
        headers["if-none-exist"] = req_part["ifNoneExist"]
    if req_part.get("ifMatch"):
        headers["if-match"] = req_part["ifMatch"]
    if req_part.get("ifNoneMatch"):
        headers["if-none-match"] = req_part["ifNoneMatch"]
    body = dumps(raw["resource"]) if raw.get("resource") is not None else b""
    return FhirRequest(
        e.method,
        [unquote(p) for p in path.split("/") if p],
        parse_qsl(query, keep_blank_values=True),
        headers,
        body,
    )


def _response_entry(resp: FhirResponse) -> bytes:
    from http import HTTPStatus

    try:
        phrase = HTTPStatus(resp.status).phrase
    except ValueError:
        phrase = ""
    response: dict[str, Any] = {"status": f"{resp.status} {phrase}".strip()}
    if "ETag" in resp.headers:
        response["etag"] = resp.headers["ETag"]
    if "Location" in resp.headers:
        response["location"] = resp.headers["Location"]
    if resp.last_modified:
        response["lastModified"] = resp.last_modified
    if resp.status >= 400 and resp.body:
        return b'{"response":' + dumps(response)[:-1] + b',"outcome":' + resp.body + b"}}"
    if resp.body:
        return b'{"resource":' + resp.body + b',"response":' + dumps(response) + b"}"
    return b'{"response":' + dumps(response) + b"}"


def _batch_entry(
    e: Entry, raw: dict[str, Any], repo: GuardedRepository, base: str, dispatch: Dispatch
) -> bytes:
    try:
        resp = dispatch(_entry_request(e, raw), repo, base)
    except FhirError as exc:
        resp = FhirResponse(exc.status, dumps(exc.outcome()))
    return _response_entry(resp)


def _get_entry(e: Entry | None, repo: GuardedRepository, base: str, dispatch: Dispatch) -> bytes:
    assert e is not None
    try:
        resp = dispatch(_entry_request(e, {}), repo, base)
    except FhirError as exc:
        resp = FhirResponse(exc.status, dumps(exc.outcome()))
    return _response_entry(resp)


__all__ = ["bundle", "http_date"]
