"""Operations: ``Patient/[id]/$everything`` and ``$validate``.

https://hl7.org/fhir/R4/patient-operation-everything.html,
https://hl7.org/fhir/R4/resource-operation-validate.html.
"""

from __future__ import annotations

from typing import Any

from fellesjournal.api.request import FhirRequest
from fellesjournal.api.responses import (
    FhirResponse,
    bundle_bytes,
    dumps,
    paging_links,
    search_entry,
)
from fellesjournal.fhir.errors import FhirError, Issue, bad_request, operation_outcome
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.service.writes import check_body


def patient_everything(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    patient_id = req.path[1]
    q = dict(req.query)
    count = _opt_int(q.get("_count"), "_count")
    if count is not None:
        count = min(count, repo.settings.max_page_size)
    offset = _opt_int(q.get("_offset"), "_offset") or 0
    page = repo.everything(
        patient_id,
        since=q.get("_since"),
        start=q.get("start"),
        end=q.get("end"),
        count=count,
        offset=offset,
    )
    path = f"Patient/{patient_id}/$everything"
    links = paging_links(base, path, req.query, offset=offset, count=count, has_more=page.has_more)
    return FhirResponse(
        200,
        bundle_bytes(
            "searchset",
            (search_entry(s, base) for s in page.entries),
            total=page.total,
            links=links,
        ),
    )


def validate(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    """Validate the posted resource (or Parameters.resource); 200 with the outcome."""
    res_type = req.path[0]
    repo.guard("operation", res_type)
    body: Any = req.json_body()
    if isinstance(body, dict) and body.get("resourceType") == "Parameters":
        body = next(
            (p.get("resource") for p in body.get("parameter", []) if p.get("name") == "resource"),
            None,
        )
        if body is None:
            raise bad_request("Parameters needs a 'resource' parameter")
    res_id = req.path[1] if len(req.path) > 2 else None
    if res_id is not None and isinstance(body, dict):
        body.setdefault("id", res_id)
    try:
        check_body(
            body, res_type, res_id, allow_test_identities=repo.settings.allow_test_identities
        )
    except FhirError as exc:
        return FhirResponse(200 if exc.status == 422 else exc.status, dumps(exc.outcome()))
    return FhirResponse(
        200, dumps(operation_outcome([Issue("information", "informational", "validation passed")]))
    )


def _opt_int(raw: str | None, name: str) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit():
        raise bad_request(f"{name} must be a whole number, not '{raw}'", name)
    return int(raw)
