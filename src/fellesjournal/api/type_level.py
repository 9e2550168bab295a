"""Type-level interactions: create, search-type, history-type, and the conditional ones.

https://hl7.org/fhir/R4/http.html#create, #search, #history, #cond-update, #cond-delete.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from fellesjournal.api.request import FhirRequest
from fellesjournal.api.responses import (
    FhirResponse,
    bundle_bytes,
    dumps,
    history_entry,
    paging_links,
    resource_response,
    search_entry,
    update_response,
)
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import Issue, bad_request, operation_outcome
from fellesjournal.fhir.subsetting import subset
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.store.base import StoredResource


def create(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    result = repo.create(req.path[0], req.json_body(), if_none_exist=req.header("if-none-exist"))
    if result.noop:
        return resource_response(result.stored, base, 200, req.prefer_return, location=True)
    return resource_response(result.stored, base, 201, req.prefer_return, location=True)


def conditional_update(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    if not req.query:
        raise bad_request("PUT on a type needs search criteria (conditional update)")
    result = repo.conditional_update(req.path[0], urlencode(req.query), req.json_body())
    return update_response(result, base, req.prefer_return)


def conditional_delete(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    if not req.query:
        raise bad_request("DELETE on a type needs search criteria (conditional delete)")
    results = repo.conditional_delete(req.path[0], urlencode(req.query))
    if not results:
        return FhirResponse(204, b"")
    return FhirResponse(204, b"", {"ETag": results[0].stored.etag})


def search_items(req: FhirRequest) -> list[tuple[str, str]]:
    """Query items, plus form-encoded body items for ``POST _search``."""
    items = list(req.query)
    if req.method == "POST":
        ctype = (req.header("content-type") or "").split(";")[0].strip()
        if ctype not in ("application/x-www-form-urlencoded", ""):
            raise bad_request("POST _search takes application/x-www-form-urlencoded")
        items += parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True)
    return [(k, v) for k, v in items if k not in ("_format", "_pretty")]


def search(
    req: FhirRequest, repo: GuardedRepository, base: str, res_type: str | None
) -> FhirResponse:
    items = search_items(req)
    if res_type == "AuditEvent" and not repo.ctx.actor.is_system:
        # Citizens and the privacy officer read the hash-chained audit log itself.
        from fellesjournal.service.access_ops import audit_log_search

        result = audit_log_search(repo, items)
    else:
        result = repo.search(res_type, items)
    sreq = result.request
    path = res_type or ""
    links = paging_links(
        base, path, items, offset=sreq.offset, count=sreq.count, has_more=result.has_more
    )
    subsetting = sreq.summary in ("true", "text", "data") or sreq.elements
    entries: list[bytes] = []
    for s in result.matches:
        body = subset_content(s, sreq.summary, sreq.elements) if subsetting else None
        entries.append(search_entry(s, base, "match", body))
    entries.extend(search_entry(s, base, "include") for s in result.included)
    if sreq.ignored:
        diag = f"unknown search parameter(s) ignored: {', '.join(sreq.ignored)}"
        entries.append(
            b'{"resource":'
            + dumps(operation_outcome([Issue("warning", "not-supported", diag)]))
            + b',"search":{"mode":"outcome"}}'
        )
    return FhirResponse(200, bundle_bytes("searchset", entries, total=result.total, links=links))


def subset_content(
    stored: StoredResource, summary: str | None, elements: tuple[str, ...] | None
) -> bytes:
    doc: dict[str, Any] = jsonio.loads(stored.content or "{}")
    return dumps(subset(doc, summary, elements))


def history_response(
    req: FhirRequest, repo: GuardedRepository, base: str, res_type: str | None, res_id: str | None
) -> FhirResponse:
    repo.guard("history", res_type)
    q = dict(req.query)
    count = _int(q.get("_count"), repo.settings.default_page_size, "_count")
    count = min(count, repo.settings.max_page_size)
    offset = _int(q.get("_offset"), 0, "_offset")
    page = repo.history(
        res_type, res_id, since=q.get("_since"), at=q.get("_at"), count=count, offset=offset
    )
    path = "/".join(p for p in (res_type, res_id, "_history") if p)
    links = paging_links(base, path, req.query, offset=offset, count=count, has_more=page.has_more)
    return FhirResponse(
        200,
        bundle_bytes(
            "history", (history_entry(e, base) for e in page.entries), total=page.total, links=links
        ),
    )


def history_type(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    return history_response(req, repo, base, req.path[0], None)


def _int(raw: str | None, default: int, name: str) -> int:
    if raw is None:
        return default
    if not raw.isdigit():
        raise bad_request(f"{name} must be a whole number, not '{raw}'", name)
    return int(raw)
