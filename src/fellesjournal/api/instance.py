"""Instance-level interactions: read, vread, update, patch, delete, history-instance.

https://hl7.org/fhir/R4/http.html#read, #vread, #update, #patch, #delete, #history.
"""

from __future__ import annotations

from fellesjournal.api.request import FhirRequest
from fellesjournal.api.responses import FhirResponse, resource_response, update_response
from fellesjournal.api.type_level import history_response
from fellesjournal.fhir.errors import error
from fellesjournal.service.repository import GuardedRepository


def read(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    res_type, res_id = req.path[0], req.path[1]
    stored = repo.read(res_type, res_id)
    etag = req.header("if-none-match")
    if etag and etag.strip() in (stored.etag, f'"{stored.version}"'):
        return FhirResponse(304, b"", {"ETag": stored.etag})
    if req.query and any(k in ("_summary", "_elements") for k, _ in req.query):
        from fellesjournal.api.type_level import subset_content

        summary = dict(req.query).get("_summary")
        elements = dict(req.query).get("_elements")
        body = subset_content(stored, summary, tuple(elements.split(",")) if elements else None)
        resp = resource_response(stored, base)
        resp.body = body
        return resp
    return resource_response(stored, base)


def vread(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    stored = repo.vread(req.path[0], req.path[1], req.path[3])
    return resource_response(stored, base)


def update(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    result = repo.update(req.path[0], req.path[1], req.json_body(), if_match=req.if_match())
    return update_response(result, base, req.prefer_return)


def patch(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    ctype = (req.header("content-type") or "").split(";")[0].strip()
    if ctype not in ("application/json-patch+json", ""):
        raise error(415, "not-supported", f"PATCH takes application/json-patch+json, not '{ctype}'")
    result = repo.patch(req.path[0], req.path[1], req.json_body(), if_match=req.if_match())
    return resource_response(result.stored, base, 200, req.prefer_return)


def delete(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    result = repo.delete(req.path[0], req.path[1])
    headers = {"ETag": result.stored.etag} if result.stored.version else {}
    return FhirResponse(204, b"", headers)


def history_instance(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    res_type, res_id = req.path[0], req.path[1]
    repo.guard("history", res_type)
    with repo.reading() as tx:
        stored = tx.read(res_type, res_id)
    if stored is None:
        raise error(404, "not-found", f"{res_type}/{res_id} not found")
    return history_response(req, repo, base, res_type, res_id)
