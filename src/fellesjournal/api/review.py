"""The privacy officer's review: ``AuditEvent/$review`` and ``AuditEvent/[seq]/$review``.

Our own operation (no HL7 definition exists; FHIR operations:
https://hl7.org/fhir/R4/operations.html). Only system clients and practitioners
working as privacy officer may call it (403 otherwise); the rules are described in
``audit/review.py``.

* ``GET AuditEvent/$review?since=INSTANT&include-reviewed=true|false`` answers a
  Parameters with one ``item`` part per suspicious access, newest first: ``event``
  (valueReference ``AuditEvent/{seq}``), ``recorded`` (valueInstant), ``agent``
  (valueReference ``Practitioner/{id}``), ``agentName``, ``patient`` (valueReference,
  when the event names one), one ``reason`` (valueCode) per rule that matched,
  ``reviewed`` (valueBoolean) and, for a reviewed item, ``comment``, ``reviewedBy`` and
  ``reviewedAt``.
* ``POST AuditEvent/[seq]/$review`` with a Parameters body holding ``comment``
  (valueString) marks the event reviewed and answers 201 with the review AuditEvent as
  written to the log (its ``id`` the new seq).

Errors are OperationOutcomes: 400 for a bad ``since``, ``include-reviewed`` or body or a
missing comment; 404 for an event not in the log; 422 for an event already reviewed (or
itself a review mark).
"""

from __future__ import annotations

from typing import Any

from fellesjournal.api.request import FhirRequest
from fellesjournal.api.responses import FhirResponse, dumps
from fellesjournal.audit.review import ReviewItem
from fellesjournal.fhir.errors import FhirError, Issue, bad_request, not_found
from fellesjournal.service import review as service
from fellesjournal.service.repository import GuardedRepository

_BOOLEANS = {"true": True, "false": False}


def review(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    """The ``$review`` operation, at either level: the list (type level, GET) or a mark
    (instance level, POST). Other methods answer 405 with ``Allow``."""
    instance = len(req.path) == 3
    allowed = "POST" if instance else "GET"
    method = "GET" if req.method == "HEAD" else req.method
    if method != allowed:
        what = "marks an event reviewed" if instance else "lists suspicious accesses"
        raise FhirError(
            405,
            [Issue("error", "not-supported", f"$review here {what}: use {allowed}")],
            {"Allow": allowed},
        )
    if instance:
        return audit_event_review(req, repo, base)
    return audit_review(req, repo, base)


def audit_review(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    """``GET AuditEvent/$review``: the suspicious accesses as Parameters (200)."""
    since = _single(req, "since")
    flag = _single(req, "include-reviewed")
    include_reviewed = False
    if flag is not None:
        if flag not in _BOOLEANS:
            raise bad_request("include-reviewed is true or false", "include-reviewed")
        include_reviewed = _BOOLEANS[flag]
    items = service.suspicious(repo, since, include_reviewed)
    out = {"resourceType": "Parameters", "parameter": [_item(i) for i in items]}
    return FhirResponse(200, dumps(out))


def audit_event_review(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    """``POST AuditEvent/[seq]/$review``: mark the event reviewed (201, the mark)."""
    raw_seq = req.path[1]
    if not raw_seq.isascii() or not raw_seq.isdigit():
        raise not_found(f"the audit log has no event {raw_seq!r}")
    comment = _comment(req.json_body())
    event = service.mark_reviewed(repo, int(raw_seq), comment)
    return FhirResponse(201, dumps(event))


def _single(req: FhirRequest, name: str) -> str | None:
    values = [v for k, v in req.query if k == name]
    if len(values) > 1:
        raise bad_request(f"'{name}' may be given once", name)
    return values[0] if values else None


def _comment(body: Any) -> str:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise bad_request("the body must be a Parameters resource")
    params = body.get("parameter", [])
    if not isinstance(params, list) or not all(isinstance(p, dict) for p in params):
        raise bad_request("Parameters.parameter must be a list of parameters")
    found = [p for p in params if p.get("name") == "comment"]
    if len(found) != 1:
        raise bad_request("give one 'comment' (valueString)", "comment")
    text = found[0].get("valueString")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("'comment' must be a valueString that is not blank", "comment")
    return text


def _item(item: ReviewItem) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"name": "event", "valueReference": {"reference": f"AuditEvent/{item.seq}"}},
        {"name": "recorded", "valueInstant": item.recorded},
        {
            "name": "agent",
            "valueReference": {"reference": item.agent, "display": item.agent_name},
        },
        {"name": "agentName", "valueString": item.agent_name},
    ]
    if item.patient_id is not None:
        parts.append(
            {"name": "patient", "valueReference": {"reference": f"Patient/{item.patient_id}"}}
        )
    parts += [{"name": "reason", "valueCode": code} for code in item.reasons]
    parts.append({"name": "reviewed", "valueBoolean": item.reviewed})
    if item.reviewed:
        parts += [
            {"name": "comment", "valueString": item.review_comment},
            {"name": "reviewedBy", "valueString": item.reviewed_by},
            {"name": "reviewedAt", "valueInstant": item.reviewed_at},
        ]
    return {"name": "item", "part": parts}
