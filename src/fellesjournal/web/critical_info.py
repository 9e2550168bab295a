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
from starlette.responses import Response

from fellesjournal.clinical import critical_info as ci
from fellesjournal.fhir import jsonio
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
        repo, patient_id = rc.chart_to_write(self.ws, request, TYPE)
        if request.method == "GET":
            return self._page(request, repo, patient_id)
        form = await rc.posted(request)
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
        return rc.to_chart(patient_id)

    @answers
    async def end(self, request: Request) -> Response:
        repo, patient_id = rc.chart_to_write(self.ws, request, TYPE)
        flag_id = str(request.path_params["flag_id"])
        stored, body = rc.read_in_chart(request, repo, TYPE, flag_id, patient_id, "subject")
        page: dict[str, Any] = {
            "patient_id": patient_id,
            "flag_id": flag_id,
            "version": stored.version,
            "text": str((body.get("code") or {}).get("text") or ""),
            "category": ci.category_key(body),
        }

        def end(how: str, reason: str, version: int) -> None:
            new = ci.ended(body, how, reason, rc.author(repo, request), rc.now())
            repo.update(TYPE, flag_id, new, if_match=version)

        active = body.get("status") == "active"
        return await rc.end_with_reason(
            request,
            "critical_information_end.html",
            page,
            active=active,
            endings=ci.ENDINGS,
            end=end,
        )
