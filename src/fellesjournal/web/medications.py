"""Stopping a medication on the list, with a reason, who and when.

The MedicationStatement is updated, not deleted: status ``stopped``, the reason as
``statusReason``, the end of ``effectivePeriod`` today, and a note naming who stopped it
and when; its history keeps what it was. The form carries the version it was shown, so
a change made meanwhile by someone else is reported (409) instead of overwritten.
"""

from __future__ import annotations

import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.fhir.instants import format_instant
from fellesjournal.web.render import render
from fellesjournal.web.session import csrf_ok
from fellesjournal.web.workspace import Workspace, answers, no_access

MAX_REASON = 500


def stopped(
    statement: dict[str, Any], reason: str, who: str, who_name: str, now: datetime.datetime
) -> dict[str, Any]:
    """``statement`` stopped today for ``reason`` by ``who`` (a reference)."""
    out = dict(statement)
    out["status"] = "stopped"
    out["statusReason"] = [{"text": reason}]
    period = dict(out.get("effectivePeriod") or {})
    period["end"] = now.date().isoformat()
    out["effectivePeriod"] = period
    out["note"] = [
        *(out.get("note") or []),
        {
            "authorReference": {"reference": who, "display": who_name},
            "time": format_instant(now),
            "text": f"Seponert: {reason}",
        },
    ]
    return out


class MedicationPages:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    @answers
    async def stop(self, request: Request) -> Response:
        repo = self.ws.page_repository(request)
        work = repo.ctx.actor.work
        assert work is not None
        user = request.state.page["user"]
        patient_id = request.path_params["patient_id"]
        statement_id = request.path_params["statement_id"]
        try:
            stored = repo.read("MedicationStatement", statement_id)
        except FhirError as exc:
            if exc.status in (404, 410):
                return no_access(request, patient_id)
            raise
        statement = jsonio.loads(stored.content or "{}")
        if (statement.get("subject") or {}).get("reference") != f"Patient/{patient_id}":
            return no_access(request, patient_id)
        name = str((statement.get("medicationCodeableConcept") or {}).get("text") or "")
        if request.method == "GET":
            return render(
                request,
                "medication_stop.html",
                patient_id=patient_id,
                statement_id=statement_id,
                version=stored.version,
                name=name,
                error="",
            )
        form = await request.form()
        if not csrf_ok(request, form.get("csrf")):
            return render(request, "forbidden.html", status_code=403)
        reason = " ".join(str(form.get("reason") or "").split())
        version = str(form.get("version") or "")
        if not reason or len(reason) > MAX_REASON or not version.isdigit():
            return render(
                request,
                "medication_stop.html",
                status_code=400,
                patient_id=patient_id,
                statement_id=statement_id,
                version=stored.version,
                name=name,
                error="reason",
            )
        now = datetime.datetime.now(datetime.UTC)
        body = stopped(statement, reason, f"Practitioner/{work.practitioner_id}", user.name, now)
        try:
            repo.update("MedicationStatement", statement_id, body, if_match=int(version))
        except FhirError as exc:
            if exc.status in (409, 412):
                return render(
                    request,
                    "medication_stop.html",
                    status_code=409,
                    patient_id=patient_id,
                    statement_id=statement_id,
                    version=stored.version,
                    name=name,
                    error="conflict",
                )
            raise
        return RedirectResponse(f"/patients/{patient_id}", status_code=303)
