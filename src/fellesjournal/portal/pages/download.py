"""``/portal/download``: the record to take away, as a readable PDF summary
(``portal/pdf.py``: ``summary_pdf``) and as machine-readable FHIR data, an International
Patient Summary-style document Bundle (``portal/export.py``: ``ips_bundle``). Both are
built through the citizen's repository, so they hold what the portal shows and no more.

Building either reads the whole summary and lays it out: synchronous work that runs in
a worker thread (``run_in_threadpool``, as the FHIR API's dispatch does), so that one
download does not hold up every other request on the event loop.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fellesjournal.fhir import jsonio
from fellesjournal.portal.base import Portal, answers, page
from fellesjournal.portal.export import ips_bundle
from fellesjournal.portal.pdf import summary_pdf
from fellesjournal.web.render import PAGE_HEADERS, locale_of

FHIR_JSON = "application/fhir+json"


def _file(body: bytes, media_type: str, filename: str) -> Response:
    headers = {**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type=media_type, headers=headers)


def routes(portal: Portal) -> list[BaseRoute]:
    @answers
    async def download(request: Request) -> Response:
        portal.repository(request)
        portal.require(request, "download")
        return page(request, "portal/download.html")

    @answers
    async def pdf(request: Request) -> Response:
        repo = portal.repository(request)
        portal.require(request, "download")
        body = await run_in_threadpool(
            summary_pdf, repo, portal.patient_id(request), locale_of(request)
        )
        return _file(body, "application/pdf", "helsejournal.pdf")

    @answers
    async def bundle(request: Request) -> Response:
        repo = portal.repository(request)
        portal.require(request, "download")
        bundle = await run_in_threadpool(ips_bundle, repo, portal.patient_id(request))
        body = jsonio.dumps(bundle)
        return _file(body, FHIR_JSON, "helsejournal.json")

    return [
        Route("/portal/download", download),
        Route("/portal/download/summary.pdf", pdf),
        Route("/portal/download/summary.json", bundle),
    ]
