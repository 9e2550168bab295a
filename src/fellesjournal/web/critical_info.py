"""Adding critical information (kritisk informasjon, CAVE) and ending it.

``/patients/{id}/critical-information`` lists the active entries and offers the form:
one of Kjernejournal's categories (``clinical/critical_info.py``; a serious allergy goes
through the allergy form, which flags it), a text, and the date it applies from
(today unless changed). The entry is an active Flag with the author and the start.

``/patients/{id}/critical-information/{flag}/end`` makes it inactive or entered in
error, with a required reason, who and when (never a deletion); the form carries the
version it showed, so a change made meanwhile answers 409.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fellesjournal.clinical import critical_info as ci
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.web import record_changes as rc
from fellesjournal.web.render import render
from fellesjournal.web.workspace import Workspace, answers

TYPE = "Flag"


class CriticalInfoPages:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def _page(
        self, request: Request, repo: GuardedRepository, patient_id: str, **context: Any
    ) -> Response:
        status = context.pop("status_code", 200)
        query = [("subject", f"Patient/{patient_id}"), ("status", "active")]
        found = repo.search(TYPE, query).matches
        current = [jsonio.loads(s.content) for s in found if s.content]
        return render(
            request,
            "critical_information.html",
            status_code=status,
            patient_id=patient_id,
            current=current,
            categories=ci.FORM_CATEGORIES,
            **{"form": {"start": rc.today().isoformat()}, "errors": [], **context},
        )

    @answers
    async def add(self, request: Request) -> Response:
        repo = self.ws.page_repository(request)
        patient_id = self.ws.patient_id(request, repo)
        rc.ensure_writes(request, repo, TYPE)
        if request.method == "GET":
            return self._page(request, repo, patient_id)
        form = await request.form()
        rc.ensure_csrf(request, form)
        key, text = rc.line(form, "category"), rc.line(form, "text")
        start = rc.parse_date(rc.line(form, "start"))
        errors = [] if key in ci.FORM_CATEGORIES else ["category"]
        errors += [] if 0 < len(text) <= ci.MAX_TEXT else ["text"]
        errors += [] if start is not None else ["start"]
        if errors or start is None:
            return self._page(
                request, repo, patient_id, status_code=400, form=rc.typed(form), errors=errors
            )
        body = ci.flag(key, text, patient_id, rc.author(repo, request), start)
        repo.create(TYPE, body)
        return RedirectResponse(f"/patients/{patient_id}", status_code=303)

    @answers
    async def end(self, request: Request) -> Response:
        repo = self.ws.page_repository(request)
        patient_id = self.ws.patient_id(request, repo)
        rc.ensure_writes(request, repo, TYPE)
        flag_id = str(request.path_params["flag_id"])
        stored, body = rc.read_in_chart(request, repo, TYPE, flag_id, patient_id, "subject")
        page: dict[str, Any] = {
            "patient_id": patient_id,
            "flag_id": flag_id,
            "version": stored.version,
            "text": str((body.get("code") or {}).get("text") or ""),
            "category": ci.category_key(body),
        }
        template = "critical_information_end.html"
        if body.get("status") != "active":
            return render(request, template, 409, form={}, errors=["ended"], **page)
        if request.method == "GET":
            return render(request, template, form={}, errors=[], **page)
        form = await request.form()
        rc.ensure_csrf(request, form)
        how, reason, version = rc.line(form, "how"), rc.line(form, "reason"), rc.version_of(form)
        if version is None:
            return render(request, "bad_request.html", status_code=400)
        errors = [] if how in ci.ENDINGS else ["how"]
        errors += [] if rc.reason_ok(reason) else ["reason"]
        if errors:
            return render(request, template, 400, form=rc.typed(form), errors=errors, **page)
        new = ci.ended(body, how, reason, rc.author(repo, request), rc.now())
        try:
            repo.update(TYPE, flag_id, new, if_match=version)
        except FhirError as exc:
            if rc.is_conflict(exc):
                return render(
                    request, template, 409, form=rc.typed(form), errors=["conflict"], **page
                )
            raise
        return RedirectResponse(f"/patients/{patient_id}", status_code=303)
