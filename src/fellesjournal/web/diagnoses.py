"""Adding a diagnosis to the problem list, coded by the unit's level of care.

Primary care (the municipality's units: GP office, legevakt, home care, nursing home,
health station) codes with ICPC-2, specialist care (the health trusts' units) with
ICD-10; the code list is searched in memory (``terminology``), by words or code, and
each match is one click that saves the Condition (active, confirmed, on the problem
list) through the guarded repository. Without script the search is a plain GET that
lists the same matches; with it, the list follows the typing.
"""

from __future__ import annotations

import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fellesjournal.access.context import WorkContext
from fellesjournal.fhir.errors import FhirError
from fellesjournal.terminology.operations import expand, lookup
from fellesjournal.terminology.systems import ICD10_NO, ICPC2
from fellesjournal.web.render import render
from fellesjournal.web.session import csrf_ok
from fellesjournal.web.workspace import Workspace, answers

MATCHES = 12
CATEGORY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
            "code": "problem-list-item",
            "display": "Problem List Item",
        }
    ]
}


def code_system_for(work: WorkContext) -> str:
    """ICPC-2 in the municipalities' services, ICD-10 in the health trusts'."""
    return ICPC2 if work.organization_id.startswith("kommune-") else ICD10_NO


def condition(
    patient_id: str, system: str, code: str, display: str, recorder: str, today: str
) -> dict[str, Any]:
    def status(kind: str, value: str) -> dict[str, Any]:
        url = f"http://terminology.hl7.org/CodeSystem/{kind}"
        return {"coding": [{"system": url, "code": value}]}

    return {
        "resourceType": "Condition",
        "clinicalStatus": status("condition-clinical", "active"),
        "verificationStatus": status("condition-ver-status", "confirmed"),
        "category": [CATEGORY],
        "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{patient_id}"},
        "onsetDateTime": today,
        "recordedDate": today,
        "recorder": {"reference": recorder},
    }


class DiagnosisPage:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    @answers
    async def page(self, request: Request) -> Response:
        repo = self.ws.page_repository(request)
        work = repo.ctx.actor.work
        assert work is not None
        patient_id = self.ws.patient_id(request, repo)
        system = code_system_for(work)
        if request.method == "POST":
            return await self._save(request, repo, patient_id, system)
        q = request.query_params.get("q", "").strip()
        matches = expand(system + "?fhir_vs", q, MATCHES)[1] if q else []
        template = (
            "diagnosis_matches.html" if request.query_params.get("part") else "diagnosis.html"
        )
        return render(request, template, patient_id=patient_id, q=q, matches=matches, system=system)

    async def _save(self, request: Request, repo: Any, patient_id: str, system: str) -> Response:
        form = await request.form()
        if not csrf_ok(request, form.get("csrf")):
            return render(request, "forbidden.html", status_code=403)
        concept = lookup(system, str(form.get("code") or ""))
        if concept is None:
            return render(request, "forbidden.html", status_code=400)
        work = repo.ctx.actor.work
        today = datetime.date.today().isoformat()
        body = condition(
            patient_id,
            concept.system,
            concept.code,
            concept.display,
            f"Practitioner/{work.practitioner_id}",
            today,
        )
        try:
            repo.create("Condition", body)
        except FhirError as exc:
            if exc.status != 403:
                raise
            return render(request, "forbidden.html", status_code=403)
        return RedirectResponse(f"/patients/{patient_id}", status_code=303)
