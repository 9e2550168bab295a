"""``/portal``: the start page. Whose record this is, and what is new in it: the
documents and results released in the last :data:`NEW_DAYS` days, and a way to every
page the representation allows."""

from __future__ import annotations

import datetime
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fellesjournal.portal.base import Portal, answers, page
from fellesjournal.portal.pages import documents, results
from fellesjournal.portal.reading import Units, newest_first, read_chart, ref_id, sort_key
from fellesjournal.service.repository import GuardedRepository

#: What counts as new on the start page.
NEW_DAYS: Final = 30
#: How many of each the start page lists.
SHOWN: Final = 5


def whats_new(
    repo: GuardedRepository, patient_id: str, today: datetime.date | None = None
) -> tuple[list[documents.Document], list[results.Result]]:
    """The newest released documents and results of the last :data:`NEW_DAYS` days."""
    today = today or datetime.datetime.now(datetime.UTC).date()
    since = sort_key((today - datetime.timedelta(days=NEW_DAYS)).isoformat())
    _patient, found = read_chart(
        repo, patient_id, ("DocumentReference", "DiagnosticReport"), f"portal/{patient_id}"
    )
    docs = [
        d
        for d in newest_first(found["DocumentReference"], "date")
        if sort_key(str(d.get("date") or "")) >= since
    ][:SHOWN]
    reports = [
        r
        for r in newest_first(found["DiagnosticReport"], "effectiveDateTime", "issued")
        if sort_key(str(r.get("issued") or r.get("effectiveDateTime") or "")) >= since
    ][:SHOWN]
    units = Units(repo)
    units.prepare(u for d in docs if (u := ref_id(d.get("custodian"), "Organization")))
    return [documents.summary(d, units) for d in docs], [results.summary(r) for r in reports]


def routes(portal: Portal) -> list[BaseRoute]:
    @answers
    async def start(request: Request) -> Response:
        repo = portal.repository(request)
        caps = request.state.page["capabilities"]
        docs: list[documents.Document] = []
        reports: list[results.Result] = []
        if "read" in caps:
            docs, reports = whats_new(repo, portal.patient_id(request))
        return page(
            request, "portal/start.html", new_documents=docs, new_results=reports, new_days=NEW_DAYS
        )

    return [Route("/portal", start)]
