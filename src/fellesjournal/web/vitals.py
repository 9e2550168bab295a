"""Recording a set of vital signs, with NEWS2 computed and shown before and after saving.

One form (``/patients/{id}/vitals``), everything optional but at least one value; the
Observations of the set are created in one transaction through the guarded repository
(so the write is checked, audited and all-or-nothing). Decimal comma or point; values no
patient can have are refused with the form kept as typed.
"""

from __future__ import annotations

import datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fellesjournal.clinical.news2 import news2
from fellesjournal.clinical.vitals import VitalSet, observations, out_of_range
from fellesjournal.fhir.errors import FhirError
from fellesjournal.fhir.instants import format_instant
from fellesjournal.web.render import render
from fellesjournal.web.session import csrf_ok
from fellesjournal.web.workspace import Workspace, answers

NUMBERS = (
    "respiration",
    "spo2",
    "systolic",
    "diastolic",
    "pulse",
    "temperature",
    "weight",
    "height",
)


def parse_form(form: FormData | dict[str, Any]) -> tuple[VitalSet, list[str]]:
    """The values typed, and the names of fields that are not numbers."""
    values: dict[str, Any] = {}
    bad = []
    for name in NUMBERS:
        raw = str(form.get(name) or "").strip().replace(",", ".")
        if not raw:
            continue
        try:
            values[name] = float(raw)
        except ValueError:
            bad.append(name)
    oxygen = str(form.get("oxygen") or "")
    if oxygen in ("air", "oxygen"):
        values["on_oxygen"] = oxygen == "oxygen"
    consciousness = str(form.get("consciousness") or "")
    if consciousness in ("A", "CVPU"):
        values["alert"] = consciousness == "A"
    return VitalSet(**values), bad


class VitalsPage:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    @answers
    async def page(self, request: Request) -> Response:
        repo = self.ws.page_repository(request)
        patient_id = self.ws.patient_id(request, repo)
        if request.method == "GET":
            return render(
                request, "vitals.html", patient_id=patient_id, form={}, errors=[], score=None
            )
        form = await request.form()
        if not csrf_ok(request, form.get("csrf")):
            return render(request, "forbidden.html", status_code=403)
        values, errors = parse_form(form)
        errors += out_of_range(values)
        score = news2(values.news2_input())
        if errors or values.empty():
            return render(
                request,
                "vitals.html",
                status_code=400,
                patient_id=patient_id,
                form=dict(form),
                errors=errors or ["empty"],
                score=score,
            )
        when = format_instant(datetime.datetime.now(datetime.UTC))
        work = repo.ctx.actor.work
        assert work is not None
        created = observations(
            values,
            score,
            patient_id=patient_id,
            performer=f"Practitioner/{work.practitioner_id}",
            when=when,
        )
        try:
            with repo.writing() as tx:
                for observation in created:
                    repo.create("Observation", observation, tx=tx)
        except FhirError as exc:
            if exc.status != 403:
                raise
            return render(request, "forbidden.html", status_code=403)
        return RedirectResponse(f"/patients/{patient_id}#vitals", status_code=303)
