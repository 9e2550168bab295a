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
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.norway.identifiers import DNR_SYSTEM, FNR_SYSTEM
from fellesjournal.service import access_ops
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.web.charts import trend_svg
from fellesjournal.web.directory import person_name
from fellesjournal.web.overview import load_overview
from fellesjournal.web.render import render
from fellesjournal.web.session import csrf_ok
from fellesjournal.web.workspace import NeedsSignIn, Workspace

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

    def _repo(self, request: Request) -> GuardedRepository:
        user = self.ws.user(request)
        repo = self.ws.repository(request, user)
        request.state.page = {"user": user, "work": repo.ctx.actor.work}
        return repo

    async def search(self, request: Request) -> Response:
        try:
            repo = self._repo(request)
        except NeedsSignIn as exc:
            return exc.response
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
            reasons=_reasons(),
        )

    async def suggest(self, request: Request) -> Response:
        """Type-ahead: an HTML fragment of up to :data:`SUGGESTIONS` patients by name."""
        try:
            repo = self._repo(request)
        except NeedsSignIn:
            return render(request, "suggest.html", status_code=401, patients=[])
        items = parse_query(request.query_params.get("q", ""))
        patients = []
        if items is not None and (items[0][0] != "name" or len(items[0][1]) >= 2):
            found = repo.search("Patient", [*items, ("_count", str(SUGGESTIONS))])
            patients = [jsonio.loads(r.content) for r in found.matches if r.content]
        return render(request, "suggest.html", patients=[(p, person_name(p)) for p in patients])

    async def overview(self, request: Request) -> Response:
        return self._about_patient(request, self._overview_page)

    async def explain(self, request: Request) -> Response:
        return self._about_patient(request, self._explain_page)

    def _about_patient(
        self, request: Request, page: Callable[[Request, GuardedRepository, str], Response]
    ) -> Response:
        """A page about the patient in the path; the no-access page (404, with
        break-the-glass) when the user may not see them or they do not exist."""
        try:
            repo = self._repo(request)
        except NeedsSignIn as exc:
            return exc.response
        patient_id = request.path_params["patient_id"]
        try:
            return page(request, repo, patient_id)
        except FhirError as exc:
            if exc.status not in (404, 410):
                raise
            return render(
                request,
                "no_access.html",
                status_code=404,
                patient_id=patient_id,
                reasons=_reasons(),
            )

    @staticmethod
    def _overview_page(request: Request, repo: GuardedRepository, patient_id: str) -> Response:
        view = load_overview(repo, patient_id)
        charts = {s.name: trend_svg(s.points, s.low, s.high, s.name) for s in view.labs}
        return render(request, "overview.html", view=view, charts=charts)

    @staticmethod
    def _explain_page(request: Request, repo: GuardedRepository, patient_id: str) -> Response:
        why = access_ops.explain(repo, patient_id)
        return render(request, "explain.html", why=why, patient_id=patient_id)

    async def break_glass(self, request: Request) -> Response:
        """POST: break the glass for a patient by id (from the no-access page) or by the
        number typed in the search (``number``)."""
        try:
            repo = self._repo(request)
        except NeedsSignIn as exc:
            return exc.response
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


def _reasons() -> list[str]:
    from fellesjournal.access.consents import REASONS

    return list(REASONS)
