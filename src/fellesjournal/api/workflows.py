"""Workflow operations: the queue dashboard and application receipts.

* ``GET Task/$queues``: every queue (unit, kind) with its open items, the oldest item's
  age, overdue and escalated items and failed deliveries, as Parameters (one ``queue``
  part each). Counts only; for health workers and system clients.
* ``GET Communication/[id]/$delivery``: per recipient, the delivery state of a sent
  message (``queued``, ``sent``, ``delivered`` — only with a receipt — or ``failed``),
  attempts, the last error and when it was delivered. For whoever may read the
  Communication.
* ``POST $process-message``: an application receipt for a message we sent (a message
  Bundle whose MessageHeader.response names it); answers Parameters ``state`` (the
  message's delivery state afterwards). For system clients (the receiver's integration).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fellesjournal.api.request import FhirRequest
from fellesjournal.api.responses import FhirResponse, dumps
from fellesjournal.fhir.errors import error
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.workflows import delivery, outbox, queues


def _only(req: FhirRequest, method: str, why: str) -> None:
    if req.method != method and not (method == "GET" and req.method == "HEAD"):
        exc = error(405, "not-supported", f"{why}; use {method}")
        exc.headers["Allow"] = method
        raise exc


def queue_dashboard(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    _only(req, "GET", "$queues only reads")
    now = datetime.now(UTC)
    parts: list[dict[str, Any]] = []
    for q in queues.dashboard(repo, now):
        part: list[dict[str, Any]] = [
            {
                "name": "owner",
                "valueReference": {
                    "reference": f"Organization/{q.unit_id}",
                    "display": q.unit_name,
                },
            },
            {"name": "kind", "valueCode": q.kind},
            {"name": "monitored", "valueBoolean": q.monitored},
            {"name": "open", "valueInteger": q.open},
            {"name": "overdue", "valueInteger": q.overdue},
            {"name": "escalated", "valueInteger": q.escalated},
            {"name": "failures", "valueInteger": q.failures},
        ]
        if q.oldest:
            part.append({"name": "oldest", "valueDateTime": q.oldest})
            age = q.age_days(now)
            if age is not None:
                part.append({"name": "oldestAgeDays", "valueDecimal": round(age, 2)})
        parts.append({"name": "queue", "part": part})
    return FhirResponse(200, dumps({"resourceType": "Parameters", "parameter": parts}))


def process_message(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    _only(req, "POST", "$process-message takes a message")
    if not repo.ctx.actor.is_system:
        repo.gate.deny(
            "create", None, "receipts come from system clients (the receiver's integration)"
        )
    state = delivery.apply_receipt(repo, req.json_body())
    body = {"resourceType": "Parameters", "parameter": [{"name": "state", "valueCode": state}]}
    return FhirResponse(200, dumps(body))


def delivery_state(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    _only(req, "GET", "$delivery only reads")
    communication = repo.read("Communication", req.path[1])  # the access decision
    with repo.reading() as tx:
        rows = outbox.items(tx, focus_prefix=f"Communication/{communication.res_id}/")
    parts: list[dict[str, Any]] = []
    for row in sorted(rows, key=lambda r: r.id):
        part: list[dict[str, Any]] = [
            {"name": "recipient", "valueReference": {"reference": row.recipient}},
            {"name": "kind", "valueCode": row.kind},
            {"name": "state", "valueCode": row.state},
            {"name": "attempts", "valueInteger": row.attempts},
            {"name": "message", "valueId": row.message_id},
        ]
        if row.delivered:
            part.append({"name": "delivered", "valueInstant": _instant(row.delivered)})
        if row.last_error:
            part.append({"name": "error", "valueString": row.last_error})
        parts.append({"name": "delivery", "part": part})
    return FhirResponse(200, dumps({"resourceType": "Parameters", "parameter": parts}))


def _instant(us: int) -> str:
    return datetime.fromtimestamp(us / 1_000_000, UTC).isoformat(timespec="seconds")
