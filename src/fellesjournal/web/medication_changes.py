"""Starting a medication and changing its dose, each with a reason, who and when.

Start (``/patients/{id}/medications/new``): a medicine picked from a short list
(``clinical/formulary.py``: ATC coded, with a suggested dosage filled in) or typed as
free text; a dosage (dose and unit, times a day or fixed times, "ved behov" with a
maximum per day, route; or words), the reason, and the start date (today). Picking is
a link (``?pick=``) that fills the form, so it works without script; with script the
list follows the typing. The MedicationStatement is active, with the reason, the
health worker as ``informationSource`` and a note saying who started it, when and why.

Change dose (``/patients/{id}/medications/{statement}/dose``): the new dosage and a
reason; the statement is updated (its history keeps the old version) with a note
"Dose endret fra «old» til «new»: reason" naming who and when. The form carries the
version it was shown: a change made meanwhile answers 409 and shows what it is now.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from fellesjournal.clinical import dosage as ds
from fellesjournal.clinical import formulary
from fellesjournal.web import record_changes as rc
from fellesjournal.web.render import render
from fellesjournal.web.workspace import Workspace, answers

TYPE = "MedicationStatement"
MAX_NAME = 200
_CHOICES: dict[str, Any] = {"units": list(ds.UNITS), "routes": list(ds.ROUTES)}


def picked_form(key: str) -> dict[str, str]:
    """The form filled for the listed medicine ``key`` (empty when unknown)."""
    medicine = formulary.BY_KEY.get(key)
    if medicine is None:
        return {}
    return {"medication": medicine.text, **ds.form_values(ds.to_fhir(medicine.dosage))}


def new_statement(
    patient_id: str,
    name: str,
    dosage: ds.Dosage,
    reason: str,
    start: str,
    who: dict[str, str],
    when: str,
) -> dict[str, Any]:
    """An active MedicationStatement started today by ``who`` for ``reason``."""
    listed = formulary.find(name)
    return {
        "resourceType": TYPE,
        "status": "active",
        "medicationCodeableConcept": listed.concept() if listed else {"text": name},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectivePeriod": {"start": start},
        "dateAsserted": when,
        "informationSource": who,
        "reasonCode": [{"text": reason}],
        "note": [{"authorReference": who, "time": when, "text": f"Startet: {reason}"}],
        "dosage": [ds.to_fhir(dosage)],
    }


def dose_changed(
    statement: dict[str, Any], dosage: ds.Dosage, reason: str, who: dict[str, str], when: str
) -> dict[str, Any]:
    """``statement`` with its dosage replaced and a note of the change."""
    out = dict(statement)
    old, new = current_text(statement), ds.text(dosage)
    note = f"Dose endret fra «{old}» til «{new}»: {reason}"
    out["dosage"] = [ds.to_fhir(dosage)]
    out["note"] = [*(out.get("note") or []), {"authorReference": who, "time": when, "text": note}]
    return out


def current_text(statement: dict[str, Any]) -> str:
    return str(((statement.get("dosage") or [{}])[0] or {}).get("text") or "")


def _errors(form: Mapping[str, Any]) -> tuple[ds.Dosage | None, str, list[str]]:
    dosage, errors = ds.parse(form)
    reason = rc.line(form, "reason")
    if not rc.reason_ok(reason):
        errors.append("reason")
    return dosage, reason, errors


class MedicationChangePages:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    @answers
    async def new(self, request: Request) -> Response:
        repo, patient_id = rc.chart_to_write(self.ws, request, TYPE)
        page: dict[str, Any] = {
            "patient_id": patient_id,
            "medicines": formulary.MEDICINES,
            **_CHOICES,
        }
        if request.method == "GET":
            shown = {"start": rc.today().isoformat()}
            shown.update(picked_form(request.query_params.get("pick", "")))
            return render(request, "medication_start.html", form=shown, errors=[], **page)
        form = await rc.posted(request)
        name = rc.line(form, "medication")
        dosage, reason, errors = _errors(form)
        if not 0 < len(name) <= MAX_NAME:
            errors.insert(0, "medication")
        start = rc.parse_date(rc.line(form, "start"))
        if start is None:
            errors.append("start")
        if errors or dosage is None or start is None:
            shown = rc.typed(form)
            return render(request, "medication_start.html", 400, form=shown, errors=errors, **page)
        who = rc.author(repo, request)
        body = new_statement(patient_id, name, dosage, reason, start.isoformat(), who, rc.now())
        repo.create(TYPE, body)
        return rc.to_chart(patient_id)

    @answers
    async def dose(self, request: Request) -> Response:
        repo, patient_id = rc.chart_to_write(self.ws, request, TYPE)
        statement_id = str(request.path_params["statement_id"])
        stored, body = rc.read_in_chart(request, repo, TYPE, statement_id, patient_id, "subject")
        page: dict[str, Any] = {
            "patient_id": patient_id,
            "statement_id": statement_id,
            "version": stored.version,
            "name": str((body.get("medicationCodeableConcept") or {}).get("text") or ""),
            "current": current_text(body),
            **_CHOICES,
        }
        template = "medication_dose.html"
        if body.get("status") != "active":
            return render(request, template, 409, form={}, errors=["ended"], **page)
        if request.method == "GET":
            shown = ds.form_values((body.get("dosage") or [None])[0])
            return render(request, template, form=shown, errors=[], **page)
        form = await rc.posted(request)
        version = rc.version_of(form)
        if version is None:
            return render(request, "bad_request.html", status_code=400)
        dosage, reason, errors = _errors(form)
        if dosage is not None and ds.text(dosage) == page["current"]:
            errors.insert(0, "same")
        if errors or dosage is None:
            return render(request, template, 400, form=rc.typed(form), errors=errors, **page)
        new = dose_changed(body, dosage, reason, rc.author(repo, request), rc.now())
        return rc.saved(
            request,
            template,
            form,
            page,
            lambda: repo.update(TYPE, statement_id, new, if_match=version),
        )
