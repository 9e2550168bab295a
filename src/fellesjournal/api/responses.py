"""Building FHIR responses: resources, Bundles and OperationOutcomes as bytes.

Stored resources are JSON text already; bundles are assembled by concatenating that
text rather than parsing and re-serialising it, which keeps searches, history and
``$everything`` fast. Errors become an OperationOutcome here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError, Issue, operation_outcome
from fellesjournal.fhir.instants import now_instant
from fellesjournal.store.base import StoredResource, WriteResult

FHIR_JSON = "application/fhir+json; charset=utf-8"


@dataclass
class FhirResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    last_modified: str | None = None
    """The resource's ``meta.lastUpdated`` (a FHIR instant), for bundle entry responses."""


def dumps(obj: Any) -> bytes:
    return jsonio.dumps(obj)


def error_response(exc: FhirError) -> FhirResponse:
    return FhirResponse(exc.status, dumps(exc.outcome()), dict(exc.headers))


def outcome_response(status: int, issues: list[Issue]) -> FhirResponse:
    return FhirResponse(status, dumps(operation_outcome(issues)))


def resource_headers(stored: StoredResource, base: str) -> dict[str, str]:
    return {
        "ETag": stored.etag,
        "Last-Modified": http_date(stored.last_updated),
        "Location": f"{base}/{stored.res_type}/{stored.res_id}/_history/{stored.version}",
    }


def resource_response(
    stored: StoredResource,
    base: str,
    status: int = 200,
    prefer: str = "representation",
    location: bool = False,
) -> FhirResponse:
    """A resource (or nothing, or an OperationOutcome, as ``Prefer: return`` asks)."""
    headers = resource_headers(stored, base)
    if not location:
        headers.pop("Location")
    if prefer == "minimal":
        body = b""
    elif prefer == "OperationOutcome":
        msg = f"{stored.res_type}/{stored.res_id} version {stored.version} stored"
        body = dumps(operation_outcome([Issue("information", "informational", msg)]))
    else:
        assert stored.content is not None
        body = stored.content.encode()
    return FhirResponse(status, body, headers, stored.last_updated)


def update_response(result: WriteResult, base: str, prefer: str) -> FhirResponse:
    """201 with ``Location`` when an update created the resource, else 200."""
    return resource_response(
        result.stored, base, 201 if result.created else 200, prefer, location=result.created
    )


def http_date(instant: str) -> str:
    try:
        dt = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    except ValueError:
        dt = datetime.now(UTC)
    return dt.strftime("%a, %d %b %Y %H:%M:%S GMT")


def page_url(base: str, path: str, query: list[tuple[str, str]], **overrides: Any) -> str:
    """A self/next/previous link keeping the query and replacing paging parameters."""
    items = [(k, v) for k, v in query if k not in overrides]
    items.extend((k, str(v)) for k, v in overrides.items() if v is not None)
    url = f"{base}/{path}" if path else base
    return url + (f"?{urlencode(items)}" if items else "")


def paging_links(
    base: str,
    path: str,
    query: list[tuple[str, str]],
    *,
    offset: int,
    count: int | None,
    has_more: bool,
) -> list[tuple[str, str]]:
    """``self``, and ``next``/``previous`` where there are such pages (offset paging)."""
    links = [("self", page_url(base, path, query, _offset=offset or None))]
    if count is None:
        return links
    if has_more:
        links.append(("next", page_url(base, path, query, _offset=offset + count, _count=count)))
    if offset > 0:
        links.append(
            ("previous", page_url(base, path, query, _offset=max(offset - count, 0), _count=count))
        )
    return links


def bundle_bytes(
    bundle_type: str,
    entries: Iterable[bytes],
    *,
    total: int | None = None,
    links: list[tuple[str, str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> bytes:
    """A Bundle whose entries are already-serialised JSON objects."""
    head: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": bundle_type,
        "timestamp": now_instant(),
    }
    if total is not None:
        head["total"] = total
    if links:
        head["link"] = [{"relation": r, "url": u} for r, u in links]
    if extra:
        head.update(extra)
    body = b",".join(entries)
    if not body:  # FHIR JSON has no empty arrays
        return dumps(head)
    return dumps(head)[:-1] + b',"entry":[' + body + b"]}"


def search_entry(
    stored: StoredResource, base: str, mode: str = "match", content: bytes | None = None
) -> bytes:
    body = content if content is not None else (stored.content or "null").encode()
    return (
        b'{"fullUrl":"'
        + f"{base}/{stored.res_type}/{stored.res_id}".encode()
        + b'","resource":'
        + body
        + b',"search":{"mode":"'
        + mode.encode()
        + b'"}}'
    )


def history_entry(stored: StoredResource, base: str) -> bytes:
    url = f"{base}/{stored.res_type}/{stored.res_id}"
    method = {"PATCH": "PATCH", "POST": "POST", "PUT": "PUT", "DELETE": "DELETE"}.get(
        stored.method, "PUT"
    )
    request = dumps(
        {
            "method": method,
            "url": f"{stored.res_type}/{stored.res_id}"
            if method not in ("POST",)
            else stored.res_type,
        }
    )
    status = (
        "201 Created"
        if stored.version == 1 and method != "DELETE"
        else ("204 No Content" if method == "DELETE" else "200 OK")
    )
    response = dumps({"status": status, "etag": stored.etag, "lastModified": stored.last_updated})
    parts = [b'{"fullUrl":"', url.encode(), b'"']
    if stored.content is not None:
        parts += [b',"resource":', stored.content.encode()]
    parts += [b',"request":', request, b',"response":', response, b"}"]
    return b"".join(parts)
