"""The privacy officer's pages: the audit review queue, with filters, and marking items
reviewed. The same service as ``fellesjournal audit review`` and ``AuditEvent/$review``
(``service/review.py``); only the privacy officer's work context may use it (403 page
otherwise)."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fellesjournal.audit.review import REASONS
from fellesjournal.fhir.errors import FhirError
from fellesjournal.service import review
from fellesjournal.web.render import render
from fellesjournal.web.session import csrf_ok
from fellesjournal.web.workspace import Workspace, answers


class ReviewPages:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    @answers
    async def queue(self, request: Request) -> Response:
        repo = self.ws.page_repository(request)
        since_date = request.query_params.get("since", "")
        show_all = request.query_params.get("all") == "1"
        reason = request.query_params.get("reason", "")
        since = _midnight_in_oslo(since_date)
        try:
            items = review.suspicious(repo, since, include_reviewed=show_all)
        except FhirError as exc:
            if exc.status == 403:
                return render(request, "forbidden.html", status_code=403)
            if exc.status == 400:
                items = []
            else:
                raise
        if reason:
            items = [i for i in items if reason in i.reasons]
        return render(
            request,
            "review.html",
            items=items,
            since=since_date,
            show_all=show_all,
            reason=reason,
            reasons=list(REASONS),
        )

    @answers
    async def mark(self, request: Request) -> Response:
        repo = self.ws.page_repository(request)
        form = await request.form()
        if not csrf_ok(request, form.get("csrf")):
            return render(request, "forbidden.html", status_code=403)
        seq = str(form.get("seq") or "")
        comment = str(form.get("comment") or "")
        try:
            review.mark_reviewed(repo, int(seq) if seq.isdigit() else -1, comment)
        except FhirError as exc:
            if exc.status == 403:
                return render(request, "forbidden.html", status_code=403)
            if exc.status in (400, 404, 422):
                return render(request, "review_failed.html", status_code=exc.status)
            raise
        return RedirectResponse("/review", status_code=303)


def _midnight_in_oslo(day: str) -> str | None:
    """``YYYY-MM-DD`` as the instant its day starts in Oslo (None: no or a bad date)."""
    try:
        start = datetime.datetime.combine(datetime.date.fromisoformat(day), datetime.time())
    except ValueError:
        return None
    return start.replace(tzinfo=ZoneInfo("Europe/Oslo")).isoformat()
