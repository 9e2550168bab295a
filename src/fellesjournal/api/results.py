"""``POST DiagnosticReport/[id]/$acknowledge`` (and ``Observation/[id]/$acknowledge``).

Acknowledges a result (kvittering av prøvesvar): closes the open acknowledgement work
items for it in the caller's unit's queue (a system client: every open one) in one
transaction, with the reason "Sett og vurdert", the caller and the time stamped by the
repository (``workflows/results.py`` :func:`~fellesjournal.workflows.results.acknowledge`).

The body is optional: a Parameters resource with ``comment`` (valueString), kept as a
note on each closed item. Answers 200 with Parameters, one ``task`` part (the closed
Task) per item; 404 when the caller may not read the result or their unit has no item
for it; 409 when their unit has already acknowledged it.
"""

from __future__ import annotations

from typing import Any

from fellesjournal.api.request import FhirRequest
from fellesjournal.api.responses import FhirResponse, dumps
from fellesjournal.fhir.errors import bad_request, error
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.workflows import result_release, results


def _comment(req: FhirRequest) -> str | None:
    if not req.body.strip():
        return None
    body: Any = req.json_body()
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise bad_request("the body must be a Parameters resource (or empty)")
    params = body.get("parameter") or []
    if not isinstance(params, list) or not all(isinstance(p, dict) for p in params):
        raise bad_request("Parameters.parameter must be a list of parameters")
    comment: str | None = None
    for p in params:
        if p.get("name") != "comment":
            raise bad_request(f"unknown parameter '{p.get('name')}': only 'comment' is taken")
        value = p.get("valueString")
        if not isinstance(value, str) or not value.strip():
            raise bad_request("'comment' takes a non-empty valueString", "comment")
        if comment is not None:
            raise bad_request("'comment' may be given once", "comment")
        comment = value.strip()
    return comment


def acknowledge(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    if req.method != "POST":
        exc = error(405, "not-supported", "$acknowledge closes work items; use POST")
        exc.headers["Allow"] = "POST"
        raise exc
    comment = _comment(req)
    closed = results.acknowledge(repo, req.path[0], req.path[1], comment)
    body = {
        "resourceType": "Parameters",
        "parameter": [{"name": "task", "resource": task} for task in closed],
    }
    return FhirResponse(200, dumps(body))


def release_result(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    """``POST DiagnosticReport/[id]/$release``: release a result to the patient with an
    optional ``comment`` (``workflows/result_release.py``); answers the new version."""
    if req.method != "POST":
        exc = error(405, "not-supported", "$release changes the result; use POST")
        exc.headers["Allow"] = "POST"
        raise exc
    if req.path[0] != "DiagnosticReport":
        raise error(404, "not-found", "$release is an operation on DiagnosticReport")
    comment = _comment(req)
    report = result_release.release_report(repo, req.path[1], comment)
    return FhirResponse(200, dumps(report))
