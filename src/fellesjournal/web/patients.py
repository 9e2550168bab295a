"""Finding a patient, the overview, break-the-glass and "why can I see this?".

Search: an 11-digit number is a fødselsnummer or D-nummer (exact); anything else is a
name, optionally followed by a birth date (``Hansen 12.03.1954``). A search that finds
exactly one patient by number opens the overview at once (one step from the start page).
Results are what access control lets the health worker see: a patient without a care
relation is not found. The page then offers break-the-glass by the number typed, without
saying whether such a patient exists; the grant is logged and reviewed like every other.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fellesjournal.access.consents import REASONS
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.norway.identifiers import DNR_SYSTEM, FNR_SYSTEM
from fellesjournal.service import access_ops
from fellesjournal.web.charts import series_label, trend_svg
from fellesjournal.web.directory import person_name
from fellesjournal.web.overview import load_overview
from fellesjournal.web.render import render
from fellesjournal.web.session import csrf_ok
from fellesjournal.web.workspace import Answered, Workspace, answers, no_access

_NUMBER = re.compile(r"^\d{11}$")
_NAME_AND_DATE = re.compile(r"^(?P<name>.*?)\s*(?P<date>\d{1,2}\.\d{1,2}\.\d{4})?$")
RESULTS = 30
SUGGESTIONS = 8


def parse_query(q: str) -> list[tuple[str, str]] | None:
    """The Patient search for what was typed; None when there is nothing to search."""
    q = " ".join(q.split())
    if not q:
        return None
    if _NUMBER.match(q.replace(" ", "")):
        number = q.replace(" ", "")
        return [("identifier", f"{FNR_SYSTEM}|{number},{DNR_SYSTEM}|{number}")]
    match = _NAME_AND_DATE.match(q)
    name, born = (match.group("name"), match.group("date")) if match else (q, None)
    items: list[tuple[str, str]] = []
    if name:
        items.append(("name", name))
    if born:
        day, month, year = (int(p) for p in born.split("."))
        try:
            items.append(("birthdate", datetime.date(year, month, day).isoformat()))
        except ValueError:
            return None
    return items or None


class Patients:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    @answers
    async def search(self, request: Request) -> Response:
        repo = self.ws.page_repository(request)
        q = request.query_params.get("q", "")
        items = parse_query(q)
        patients: list[dict[str, Any]] = []
        if items is not None:
            found = repo.search("Patient", [*items, ("_count", str(RESULTS))])
            patients = [jsonio.loads(r.content) for r in found.matches if r.content]
            if len(patients) == 1 and items[0][0] == "identifier":
                return RedirectResponse(f"/patients/{patients[0]['id']}", status_code=303)
        number = q.replace(" ", "") if _NUMBER.match(q.replace(" ", "")) else ""
        return render(
            request,
            "search.html",
            q=q,
            searched=items is not None,
            patients=[(p, person_name(p)) for p in patients],
            number=number,
            reasons=list(REASONS),
        )

    @answers
    async def suggest(self, request: Request) -> Response:
        """Type-ahead: an HTML fragment of up to :data:`SUGGESTIONS` patients by name."""
        try:
            repo = self.ws.page_repository(request)
        except Answered:
            return render(request, "suggest.html", status_code=401, patients=[])
        items = parse_query(request.query_params.get("q", ""))
        patients = []
        if items is not None and (items[0][0] != "name" or len(items[0][1]) >= 2):
            found = repo.search("Patient", [*items, ("_count", str(SUGGESTIONS))])
            patients = [jsonio.loads(r.content) for r in found.matches if r.content]
        return render(request, "suggest.html", patients=[(p, person_name(p)) for p in patients])

    @answers
    async def overview(self, request: Request) -> Response:
        repo = self.ws.page_repository(request)
        patient_id = request.path_params["patient_id"]
        try:
            view = load_overview(repo, patient_id)  # its Patient read decides access
        except FhirError as exc:
            return _hidden(request, patient_id, exc)
        charts = {
            s.name: trend_svg(s.points, s.low, s.high, series_label(s.name, s.unit, s.points))
            for s in view.labs
        }
        return render(request, "overview.html", view=view, charts=charts)

    @answers
    async def explain(self, request: Request) -> Response:
        repo = self.ws.page_repository(request)
        patient_id = request.path_params["patient_id"]
        try:
            why = access_ops.explain(repo, patient_id)
        except FhirError as exc:
            return _hidden(request, patient_id, exc)
        return render(request, "explain.html", why=why, patient_id=patient_id)

    @answers
    async def break_glass(self, request: Request) -> Response:
        """POST: break the glass for a patient by id (from the no-access page) or by the
        number typed in the search (``number``)."""
        repo = self.ws.page_repository(request)
        form = await request.form()
        if not csrf_ok(request, form.get("csrf")):
            return render(request, "forbidden.html", status_code=403)
        patient_id = str(form.get("patient_id") or "")
        number = str(form.get("number") or "").replace(" ", "")
        if not patient_id and _NUMBER.match(number):
            with repo.reading() as tx:
                ids = repo.patients_with_identifier(
                    tx, [f"{FNR_SYSTEM}|{number}", f"{DNR_SYSTEM}|{number}"]
                )
            patient_id = ids[0] if len(ids) == 1 else ""
        reason = str(form.get("reason") or "")
        text = str(form.get("text") or "")
        if not patient_id:
            return render(request, "break_glass_failed.html", status_code=404, problem="unknown")
        try:
            access_ops.break_glass(repo, patient_id, reason, text)
        except FhirError as exc:
            problem = "input" if exc.status == 400 else "refused"
            return render(
                request, "break_glass_failed.html", status_code=exc.status, problem=problem
            )
        return RedirectResponse(f"/patients/{patient_id}", status_code=303)


def _hidden(request: Request, patient_id: str, exc: FhirError) -> Response:
    """The no-access page for a 404/410 (not visible, or no such patient); else raise."""
    if exc.status not in (404, 410):
        raise exc
    return no_access(request, patient_id)
