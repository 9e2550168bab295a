"""What the pages that add to or change a chart share: who is writing and when, whether
their role writes the type at all, the resource in the path, a version-checked
update that reports a concurrent change instead of overwriting it, and the page that
ends an entry with a reason.

Whether a role may write a type comes from the access policy's role table
(``access/roles.py``), asked before the form is shown so that nobody fills in a form
they cannot save; the guarded repository decides again on the write itself.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fellesjournal.access import roles
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.fhir.instants import format_instant
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.store.base import StoredResource
from fellesjournal.web.render import render
from fellesjournal.web.session import csrf_ok
from fellesjournal.web.workspace import Answered, Workspace, no_access

OSLO = ZoneInfo("Europe/Oslo")
MAX_REASON = 500
EARLIEST = datetime.date(1900, 1, 1)


def author(repo: GuardedRepository, request: Request) -> dict[str, str]:
    """The signed-in health worker as a reference with their name."""
    work = repo.ctx.actor.work
    assert work is not None
    return {
        "reference": f"Practitioner/{work.practitioner_id}",
        "display": request.state.page["user"].name,
    }


def now() -> str:
    """This moment as a FHIR instant."""
    return format_instant(datetime.datetime.now(datetime.UTC))


def today() -> datetime.date:
    """Today in Norway."""
    return datetime.datetime.now(OSLO).date()


def ensure_writes(request: Request, repo: GuardedRepository, *res_types: str) -> None:
    """Raise :class:`Answered` with the 403 page unless the user's role writes every one
    of ``res_types``."""
    work = repo.ctx.actor.work
    if work is None or not all(roles.allows(work.role, "write", t) for t in res_types):
        raise Answered(render(request, "forbidden.html", status_code=403))


def chart_to_write(
    ws: Workspace, request: Request, *res_types: str
) -> tuple[GuardedRepository, str]:
    """The page's repository and patient, when the user's role writes every one of
    ``res_types`` (else :class:`Answered` with the 403 page)."""
    repo = ws.page_repository(request)
    patient_id = ws.patient_id(request, repo)
    ensure_writes(request, repo, *res_types)
    return repo, patient_id


async def posted(request: Request) -> FormData:
    """The posted form, once it carries the session's CSRF token (else :class:`Answered`
    with the 403 page)."""
    form = await request.form()
    ensure_csrf(request, form)
    return form


def ensure_csrf(request: Request, form: Mapping[str, Any]) -> None:
    """Raise :class:`Answered` with the 403 page unless the form carries the session's
    CSRF token."""
    if not csrf_ok(request, form.get("csrf")):
        raise Answered(render(request, "forbidden.html", status_code=403))


def line(form: Mapping[str, Any], name: str) -> str:
    """A form field as one line of text: runs of white space become one space, control
    characters go (PostgreSQL's JSONB cannot even hold a NUL)."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    return " ".join("".join(c for c in value if c.isprintable() or c.isspace()).split())


def typed(form: Mapping[str, Any]) -> dict[str, str]:
    """The form's text fields as typed, to show the form again (files are dropped)."""
    return {k: v for k, v in form.items() if isinstance(v, str)}


def reason_ok(reason: str) -> bool:
    return 0 < len(reason) <= MAX_REASON


def read_in_chart(
    request: Request,
    repo: GuardedRepository,
    res_type: str,
    res_id: str,
    patient_id: str,
    patient_field: str,
) -> tuple[StoredResource, dict[str, Any]]:
    """``res_type/res_id`` and its JSON, when the user may see it and it is in
    ``patient_id``'s chart (``patient_field`` names the reference); else the
    no-access page (the same answer whether it exists or not)."""
    try:
        stored = repo.read(res_type, res_id)
    except FhirError as exc:
        if exc.status in (404, 410):
            raise Answered(no_access(request, patient_id)) from None
        raise
    body = jsonio.loads(stored.content or "{}")
    if (body.get(patient_field) or {}).get("reference") != f"Patient/{patient_id}":
        raise Answered(no_access(request, patient_id))
    return stored, body


def is_conflict(exc: FhirError) -> bool:
    """A version-checked write that lost to a change made meanwhile."""
    return exc.status in (409, 412)


def version_of(form: Mapping[str, Any]) -> int | None:
    raw = line(form, "version")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def parse_date(raw: str) -> datetime.date | None:
    """``2026-11-25`` (a date field) or ``25.11.2026``; None when it is no real date or
    lies in the future."""
    try:
        if "." in raw:
            day, month, year = (int(p) for p in raw.split("."))
            value = datetime.date(year, month, day)
        else:
            value = datetime.date.fromisoformat(raw)
    except ValueError:
        return None
    return value if EARLIEST <= value <= today() else None


def to_chart(patient_id: str) -> Response:
    """Back to the patient's overview once a change is saved."""
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)


def saved(
    request: Request,
    template: str,
    form: Mapping[str, Any],
    page: Mapping[str, Any],
    write: Callable[[], object],
) -> Response:
    """``write`` done, then back to ``page``'s patient's chart; when a change made
    meanwhile won, ``template`` again (409) with what was typed."""
    try:
        write()
    except FhirError as exc:
        if is_conflict(exc):
            return render(request, template, 409, form=typed(form), errors=["conflict"], **page)
        raise
    return to_chart(page["patient_id"])


async def end_with_reason(
    request: Request,
    template: str,
    page: Mapping[str, Any],
    *,
    active: bool,
    endings: Collection[str],
    end: Callable[[str, str, int], object],
) -> Response:
    """The page that ends an entry, never deleting it: ``how`` (one of ``endings``) and
    a required reason. 409 when the entry is no longer ``active``; on a valid POST,
    ``end(how, reason, version)`` with the version the form was shown, as :func:`saved`."""
    if not active:
        return render(request, template, 409, form={}, errors=["ended"], **page)
    if request.method == "GET":
        return render(request, template, form={}, errors=[], **page)
    form = await posted(request)
    how, reason, version = line(form, "how"), line(form, "reason"), version_of(form)
    if version is None:
        return render(request, "bad_request.html", status_code=400)
    errors = [] if how in endings else ["how"]
    errors += [] if reason_ok(reason) else ["reason"]
    if errors:
        return render(request, template, 400, form=typed(form), errors=errors, **page)
    return saved(request, template, form, page, lambda: end(how, reason, version))
